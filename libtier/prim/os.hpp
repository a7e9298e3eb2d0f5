// os.hpp - the one seam between Tier and the operating system's memory primitives.
//
// Every system call Tier makes about memory (mmap, munmap, madvise, mincore, mbind,
// get_mempolicy, set_mempolicy, move_pages) and every small sysfs/procfs read goes through the
// table returned by tier::prim::ops(). Nothing else in libtier calls these directly, so that
// emulation, tracing and fault injection (EBUSY / ENOMEM from move_pages, a failing mbind, an
// mmap that runs out of address space) swap in here and nowhere else.
//
// Contract, shared by every entry of the table:
//  - Return 0 on success or a positive errno value on failure. Implementations never set or
//    read the thread's errno to report a result (callers do not look at errno), so wrappers
//    stay deterministic and async-signal-safe where the syscall is.
//  - Addresses and lengths passed to the memory calls are page-aligned, lengths > 0.
//  - Node masks are the kernel's: an array of unsigned long, bit n = node n, `maxnode` bits.
//  - move_pages() follows the kernel: `nodes == nullptr` queries, writing each page's node (or
//    a negative errno such as -ENOENT for a page not yet faulted in) into status[]. With nodes it
//    moves. Its result is written to *not_moved (the syscall's non-negative return value).
//  - No entry may allocate with malloc on Linux's default implementation; injected ones may,
//    but must not call back into Tier's allocator.
//
// Writing a wrapper (fault injector, tracer): copy the current table (ops()), replace the
// entries you want, keep `version == kOpsVersion`, call the saved originals for pass-through,
// and install it with set_ops(). A wrapper table must outlive its installation (use static
// storage). set_ops(nullptr) restores the Linux defaults.
//
// Thread-safety: ops() and set_ops() are safe to call from any thread at any time. The table is
// published with release/acquire ordering; a thread that read the old table may still be in one
// of its calls after set_ops() returns, which is why tables must not be freed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace tier::prim {

// Bumped whenever an entry is added, removed or changes meaning. set_ops() refuses a table
// whose version differs.
inline constexpr uint32_t kOpsVersion = 1;

struct Ops {
  uint32_t version = kOpsVersion;
  const char *name = "linux";  // for diagnostics ("linux", "fault-injector", ...)

  // mmap(hint, len, prot, flags, -1, 0) for anonymous memory; *out receives the address.
  int (*map)(void *hint, size_t len, int prot, int flags, void **out) = nullptr;
  int (*unmap)(void *addr, size_t len) = nullptr;
  int (*advise)(void *addr, size_t len, int advice) = nullptr;
  // mincore(2): one byte per page in vec (bit 0 = resident).
  int (*residency)(void *addr, size_t len, unsigned char *vec) = nullptr;

  // mbind(2): mode is MPOL_* (possibly ORed with MPOL_F_* mode flags), flags MPOL_MF_*.
  int (*mbind)(void *addr, size_t len, int mode, const unsigned long *nodemask,
               unsigned long maxnode, unsigned flags) = nullptr;
  // get_mempolicy(2).
  int (*get_mempolicy)(int *mode, unsigned long *nodemask, unsigned long maxnode, void *addr,
                       unsigned long flags) = nullptr;
  // set_mempolicy(2) for the calling thread (used to probe modes; Tier does not change a
  // thread's policy otherwise).
  int (*set_mempolicy)(int mode, const unsigned long *nodemask, unsigned long maxnode) = nullptr;
  // move_pages(2) on pid (0 = self); see the contract above for query vs move.
  int (*move_pages)(int pid, unsigned long count, void **pages, const int *nodes, int *status,
                    int flags, long *not_moved) = nullptr;

  // Reads up to cap-1 bytes of a (small, sysfs/procfs) file into buf, NUL-terminated; *len
  // receives the byte count.
  int (*read_file)(const char *path, char *buf, size_t cap, size_t *len) = nullptr;
};

// The table in force. Never null.
const Ops &ops();
// The built-in Linux implementation.
const Ops &linux_ops();
// Installs `table` (nullptr = linux_ops()). Returns the previous table, or an error when the
// table's version differs from kOpsVersion or an entry is null (nothing is changed then).
Result<const Ops *> set_ops(const Ops *table);

// ---- Convenience wrappers: Result-returning, naming the call and its arguments on error. ----

inline constexpr size_t kPageSize = 4096;
inline constexpr size_t kHugePageSize = size_t{2} << 20;

// Linux mempolicy modes, spelled out here so the rest of Tier needs no numaif.h.
inline constexpr int kMpolDefault = 0;
inline constexpr int kMpolPreferred = 1;
inline constexpr int kMpolBind = 2;
inline constexpr int kMpolInterleave = 3;
inline constexpr int kMpolLocal = 4;
inline constexpr int kMpolPreferredMany = 5;       // Linux >= 5.15
inline constexpr int kMpolWeightedInterleave = 6;  // Linux >= 6.9
inline constexpr unsigned kMpolMfStrict = 1u << 0;
inline constexpr unsigned kMpolMfMove = 1u << 1;
// Enough bits for any node id Tier accepts (Linux's MAX_NUMNODES is at most 1024).
inline constexpr int kMaxNodes = 1024;

// Anonymous private read/write mapping of `len` bytes aligned to `align` (a power of two,
// >= kPageSize): over-maps and trims. MAP_NORESERVE when `noreserve`.
Result<void *> map_aligned(size_t len, size_t align, bool noreserve = false);
Status unmap(void *addr, size_t len);
Status advise(void *addr, size_t len, int advice);
// Binds [addr, addr+len) to `nodes` with mempolicy `mode` (MPOL_MF_MOVE when `move`).
Status bind(void *addr, size_t len, int mode, const int *nodes, int nnodes, bool move = false);
// The node each page of `pages` is on (move_pages query); negative errno per page otherwise.
Status query_nodes(void **pages, unsigned long count, int *status);
// Whether the kernel accepts mempolicy `mode` (probed once per mode with a test mbind on a
// scratch page; cached).
bool kernel_supports_mode(int mode);
// The number of bits the kernel's node masks need (highest possible node + 1), from
// /sys/devices/system/node/possible; falls back to kMaxNodes.
int possible_nodes();
// Reads a small sysfs/procfs file (trailing newline kept).
Result<std::string> read_small_file(const std::string &path);

}  // namespace tier::prim
