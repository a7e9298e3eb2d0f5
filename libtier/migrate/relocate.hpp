// relocate.hpp - moves the bytes of a mapped range onto pages of another (backing) node, in
// place: the range keeps its address.
//
// Steps: map fresh pages (2 MiB-aligned) and bind them to `node` (mbind MPOL_BIND); guard the
// range (write_guard.hpp) and write-protect it (PROT_READ), so readers go on and writers wait;
// then, and only then, ask which pages are resident (mincore) and copy those (pages never
// touched are left untouched, they read as zero on either side); mremap(MREMAP_FIXED |
// MREMAP_MAYMOVE) the copy over the old range, which atomically replaces the old pages with the new
// writable ones; release the guard.
//
// Used by the emulated mover, where virtual nodes share backing nodes, so that migration moves
// real bytes even on a one-node machine. Only for Tier-owned memory: a system call writing into
// the range while it is protected gets EFAULT (see write_guard.hpp).
//
// Each relocated range becomes its own VMA (anonymous mappings with different histories do not
// merge), so a process relocating many scattered chunks uses more of vm.max_map_count (65530
// by default): about one VMA per relocated run of chunks.
//
// Thread-safety: safe from any thread; the caller must ensure nobody unmaps or re-protects the
// range while it is relocated (the allocator's free path must not race with it).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/result.hpp"

namespace tier::migrate {

struct RelocateOptions {
  bool hugepage = true;  // advise THP on the new pages, as the allocator does for its chunks
};

// Relocates [addr, addr+len) (page-aligned; 2 MiB-aligned keeps huge pages) onto OS node `node`.
// Returns the bytes copied (resident bytes). On error the range is left as it was.
Result<uint64_t> relocate(void *addr, size_t len, int node, const RelocateOptions &options = {});

}  // namespace tier::migrate
