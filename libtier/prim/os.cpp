// os.cpp - the Linux implementation of the OS seam (prim/os.hpp) and its Result wrappers.
//
// The default entries are raw system calls (syscall(2) for the mempolicy family, so libtier
// does not depend on libnuma's wrappers being present) that translate -1/errno into the
// positive-errno convention of the seam. The installed table is one atomic pointer.
// Thread-safety: everything here may be called concurrently.
#include "prim/os.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace tier::prim {
namespace {

int sys_map(void *hint, size_t len, int prot, int flags, void **out) {
  void *p = ::mmap(hint, len, prot, flags, -1, 0);
  if (p == MAP_FAILED) return errno;
  *out = p;
  return 0;
}

int sys_unmap(void *addr, size_t len) {
  return ::munmap(addr, len) == 0 ? 0 : errno;
}

int sys_advise(void *addr, size_t len, int advice) {
  return ::madvise(addr, len, advice) == 0 ? 0 : errno;
}

int sys_residency(void *addr, size_t len, unsigned char *vec) {
  return ::mincore(addr, len, vec) == 0 ? 0 : errno;
}

int sys_mbind(void *addr, size_t len, int mode, const unsigned long *nodemask,
              unsigned long maxnode, unsigned flags) {
  return ::syscall(SYS_mbind, addr, len, mode, nodemask, maxnode, flags) == 0 ? 0 : errno;
}

int sys_get_mempolicy(int *mode, unsigned long *nodemask, unsigned long maxnode, void *addr,
                      unsigned long flags) {
  return ::syscall(SYS_get_mempolicy, mode, nodemask, maxnode, addr, flags) == 0 ? 0 : errno;
}

int sys_set_mempolicy(int mode, const unsigned long *nodemask, unsigned long maxnode) {
  return ::syscall(SYS_set_mempolicy, mode, nodemask, maxnode) == 0 ? 0 : errno;
}

int sys_move_pages(int pid, unsigned long count, void **pages, const int *nodes, int *status,
                   int flags, long *not_moved) {
  long r = ::syscall(SYS_move_pages, pid, count, pages, nodes, status, flags);
  if (r < 0) return errno;
  if (not_moved) *not_moved = r;
  return 0;
}

int sys_read_file(const char *path, char *buf, size_t cap, size_t *len) {
  if (cap == 0) return EINVAL;
  int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  size_t used = 0;
  while (used + 1 < cap) {
    ssize_t n = ::read(fd, buf + used, cap - 1 - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return err;
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  buf[used] = '\0';
  if (len) *len = used;
  return 0;
}

Ops make_linux_ops() {
  Ops o;
  o.name = "linux";
  o.map = sys_map;
  o.unmap = sys_unmap;
  o.advise = sys_advise;
  o.residency = sys_residency;
  o.mbind = sys_mbind;
  o.get_mempolicy = sys_get_mempolicy;
  o.set_mempolicy = sys_set_mempolicy;
  o.move_pages = sys_move_pages;
  o.read_file = sys_read_file;
  return o;
}

const Ops g_linux = make_linux_ops();
std::atomic<const Ops *> g_ops{&g_linux};

constexpr size_t kMaskWords = kMaxNodes / (8 * sizeof(unsigned long));
using NodeMask = std::array<unsigned long, kMaskWords>;

}  // namespace

const Ops &linux_ops() {
  return g_linux;
}

const Ops &ops() {
  return *g_ops.load(std::memory_order_acquire);
}

Result<const Ops *> set_ops(const Ops *table) {
  if (table == nullptr) table = &g_linux;
  if (table->version != kOpsVersion) {
    return make_error(TIER_EINVAL, "prim::set_ops: table `" +
                                       std::string(table->name ? table->name : "?") +
                                       "` has version " + std::to_string(table->version) +
                                       ", expected " + std::to_string(kOpsVersion));
  }
  if (!table->map || !table->unmap || !table->advise || !table->residency || !table->mbind ||
      !table->get_mempolicy || !table->set_mempolicy || !table->move_pages || !table->read_file) {
    return make_error(TIER_EINVAL, "prim::set_ops: table `" +
                                       std::string(table->name ? table->name : "?") +
                                       "` has a null entry");
  }
  return g_ops.exchange(table, std::memory_order_acq_rel);
}

Result<void *> map_aligned(size_t len, size_t align, bool noreserve) {
  if (len == 0 || (align & (align - 1)) != 0 || align < kPageSize) {
    return make_error(TIER_EINVAL, "map_aligned: bad length " + std::to_string(len) +
                                       " or alignment " + std::to_string(align));
  }
  len = (len + kPageSize - 1) & ~(kPageSize - 1);
  int flags = MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0);
  const Ops &o = ops();
  void *p = nullptr;
  // Try an exact-size mapping first: the kernel often hands out huge-page-aligned addresses
  // for large lengths, which saves the over-map and two trims.
  if (int err = o.map(nullptr, len, PROT_READ | PROT_WRITE, flags, &p)) {
    return Error{err == ENOMEM ? TIER_ENOMEM : TIER_EOS, err,
                 "mmap " + std::to_string(len) + " bytes: " + std::strerror(err)};
  }
  if ((reinterpret_cast<uintptr_t>(p) & (align - 1)) == 0) return p;
  o.unmap(p, len);
  size_t over = len + align - kPageSize;
  if (over < len) return make_error(TIER_EINVAL, "map_aligned: length overflow");
  if (int err = o.map(nullptr, over, PROT_READ | PROT_WRITE, flags, &p)) {
    return Error{err == ENOMEM ? TIER_ENOMEM : TIER_EOS, err,
                 "mmap " + std::to_string(over) + " bytes: " + std::strerror(err)};
  }
  uintptr_t base = reinterpret_cast<uintptr_t>(p);
  uintptr_t aligned = (base + align - 1) & ~(uintptr_t(align) - 1);
  if (aligned > base) o.unmap(p, aligned - base);
  uintptr_t end = base + over;
  if (end > aligned + len) o.unmap(reinterpret_cast<void *>(aligned + len), end - aligned - len);
  return reinterpret_cast<void *>(aligned);
}

Status unmap(void *addr, size_t len) {
  if (int err = ops().unmap(addr, len)) {
    return Error{TIER_EOS, err, "munmap " + std::to_string(len) + " bytes: " + std::strerror(err)};
  }
  return {};
}

Status advise(void *addr, size_t len, int advice) {
  if (int err = ops().advise(addr, len, advice)) {
    return Error{TIER_EOS, err,
                 "madvise(" + std::to_string(advice) + ") " + std::to_string(len) +
                     " bytes: " + std::strerror(err)};
  }
  return {};
}

Status bind(void *addr, size_t len, int mode, const int *nodes, int nnodes, bool move) {
  NodeMask mask{};
  std::string list;
  for (int i = 0; i < nnodes; ++i) {
    int n = nodes[i];
    if (n < 0 || n >= kMaxNodes) {
      return make_error(TIER_ENODEV, "mbind: node " + std::to_string(n) + " out of range");
    }
    mask[n / (8 * sizeof(unsigned long))] |= 1ul << (n % (8 * sizeof(unsigned long)));
    list += (i ? "," : "") + std::to_string(n);
  }
  // The kernel ignores the last bit of maxnode (a historical off-by-one libnuma also
  // compensates for), so pass one more than the bits we use.
  unsigned long maxnode = static_cast<unsigned long>(possible_nodes()) + 1;
  unsigned flags = move ? kMpolMfMove : 0;
  if (int err = ops().mbind(addr, len, mode, nnodes ? mask.data() : nullptr, nnodes ? maxnode : 0,
                            flags)) {
    return Error{err == ENOMEM ? TIER_ENOMEM : TIER_EOS, err,
                 "mbind mode " + std::to_string(mode) + " to node(s) " + list + " for " +
                     std::to_string(len) + " bytes: " + std::strerror(err)};
  }
  return {};
}

Status query_nodes(void **pages, unsigned long count, int *status) {
  long not_moved = 0;
  if (int err = ops().move_pages(0, count, pages, nullptr, status, 0, &not_moved)) {
    return Error{err == ENOSYS ? TIER_ENOSYS : TIER_EOS, err,
                 "move_pages query of " + std::to_string(count) + " pages: " + std::strerror(err)};
  }
  return {};
}

int possible_nodes() {
  static std::atomic<int> cached{0};
  int v = cached.load(std::memory_order_relaxed);
  if (v > 0) return v;
  char buf[256];
  size_t len = 0;
  v = kMaxNodes;
  if (ops().read_file("/sys/devices/system/node/possible", buf, sizeof buf, &len) == 0 && len > 0) {
    // "0", "0-3" or "0-1,4": the highest listed id decides.
    long highest = -1;
    // Read only unsigned numbers: strtol would take the "-3" of "0-3" for minus three.
    for (char *s = buf; *s;) {
      if (*s < '0' || *s > '9') {
        ++s;
        continue;
      }
      char *end = nullptr;
      long n = std::strtol(s, &end, 10);
      if (n > highest) highest = n;
      s = end;
    }
    if (highest >= 0 && highest < kMaxNodes) v = static_cast<int>(highest) + 1;
  }
  cached.store(v, std::memory_order_relaxed);
  return v;
}

bool kernel_supports_mode(int mode) {
  // 0 = unknown, 1 = yes, 2 = no; one slot per mode the probe understands.
  static std::atomic<int> cache[8];
  if (mode < 0 || mode >= 8) return false;
  int c = cache[mode].load(std::memory_order_relaxed);
  if (c) return c == 1;
  const Ops &o = ops();
  // Probe against a node this thread may use (the first of mems_allowed).
  NodeMask allowed{};
  constexpr unsigned long kMemsAllowed = 4;  // MPOL_F_MEMS_ALLOWED
  int first = 0;
  if (o.get_mempolicy(nullptr, allowed.data(), kMaxNodes, nullptr, kMemsAllowed) == 0) {
    for (int n = 0; n < kMaxNodes; ++n) {
      if (allowed[n / (8 * sizeof(unsigned long))] >> (n % (8 * sizeof(unsigned long))) & 1) {
        first = n;
        break;
      }
    }
  }
  bool ok = false;
  void *page = nullptr;
  if (o.map(nullptr, kPageSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, &page) == 0) {
    ok = bind(page, kPageSize, mode, &first, 1).ok();
    o.unmap(page, kPageSize);
  }
  cache[mode].store(ok ? 1 : 2, std::memory_order_relaxed);
  return ok;
}

Result<std::string> read_small_file(const std::string &path) {
  char buf[4096];
  size_t len = 0;
  if (int err = ops().read_file(path.c_str(), buf, sizeof buf, &len)) {
    return Error{err == ENOENT ? TIER_ENOSYS : TIER_EOS, err,
                 "reading " + path + ": " + std::strerror(err)};
  }
  return std::string(buf, len);
}

}  // namespace tier::prim
