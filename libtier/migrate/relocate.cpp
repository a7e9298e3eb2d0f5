// relocate.cpp - in-place relocation of a range onto another node (see relocate.hpp).
//
// mprotect and mremap are called directly: prim::Ops (version 1) has no entries for them yet.
// They are the only memory syscalls in libtier/migrate outside the seam.
#include "migrate/relocate.hpp"

#include <errno.h>
#include <sys/mman.h>

#include <cstring>
#include <string>
#include <vector>

#include "migrate/write_guard.hpp"
#include "prim/os.hpp"

// ThreadSanitizer: the copy below reads pages other threads write, ordered by the write guard
// (mprotect: a writer faults and waits until the copy is done) rather than by anything TSan
// sees, so it would report every such write as a race with the copy. The copy is hidden from
// TSan (its reads and writes to the fresh pages); the rest of the function is still checked.
#if defined(__SANITIZE_THREAD__)
extern "C" void AnnotateIgnoreReadsBegin(const char *file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char *file, int line);
#define TIER_TSAN_IGNORE_BEGIN() AnnotateIgnoreReadsBegin(__FILE__, __LINE__)
#define TIER_TSAN_IGNORE_END() AnnotateIgnoreReadsEnd(__FILE__, __LINE__)
#else
#define TIER_TSAN_IGNORE_BEGIN() ((void)0)
#define TIER_TSAN_IGNORE_END() ((void)0)
#endif

namespace tier::migrate {
namespace {

std::string hex(const void *p) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

Result<uint64_t> relocate(void *addr, size_t len, int node, const RelocateOptions &options) {
  const auto a = reinterpret_cast<uintptr_t>(addr);
  const std::string what = "relocating " + std::to_string(len) + " bytes at " + hex(addr) +
                           " to node " + std::to_string(node);
  if (a % prim::kPageSize || len == 0 || len % prim::kPageSize)
    return make_error(TIER_EINVAL, what + ": range not page-aligned");

  std::vector<unsigned char> resident(len / prim::kPageSize);
  const size_t align = a % prim::kHugePageSize == 0 ? prim::kHugePageSize : prim::kPageSize;
  Result<void *> fresh = prim::map_aligned(len, align);
  if (!fresh) return std::move(fresh).error().context(what);
  char *dst = static_cast<char *>(*fresh);
  if (Status s = prim::bind(dst, len, prim::kMpolBind, &node, 1); !s) {
    (void)prim::unmap(dst, len);
    return std::move(s).error().context(what);
  }
  if (options.hugepage && align == prim::kHugePageSize)
    (void)prim::advise(dst, len, MADV_HUGEPAGE);  // best effort, as in the allocator

  Result<int> slot = guard_begin(a, len);
  if (!slot) {
    (void)prim::unmap(dst, len);
    return std::move(slot).error().context(what);
  }
  if (mprotect(addr, len, PROT_READ) != 0) {
    const int err = errno;
    guard_end(*slot);
    (void)prim::unmap(dst, len);
    return os_error(what + ": mprotect(PROT_READ)", err);
  }
  // Which pages hold data: only those are copied (untouched pages stay untouched). Asked only
  // now that the range is protected: before, a writer could still fault in a page after the
  // question was asked, and its stores would be dropped with the page it made resident.
  if (int rc = prim::ops().residency(addr, len, resident.data())) {
    mprotect(addr, len, PROT_READ | PROT_WRITE);
    guard_end(*slot);
    (void)prim::unmap(dst, len);
    return os_error(what + ": mincore", rc);
  }
  // Copy runs of resident pages; readers keep reading the old pages meanwhile.
  uint64_t copied = 0;
  const char *src = static_cast<const char *>(addr);
  for (size_t i = 0; i < resident.size();) {
    if (!(resident[i] & 1)) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < resident.size() && (resident[j] & 1)) ++j;
    TIER_TSAN_IGNORE_BEGIN();
    std::memcpy(dst + i * prim::kPageSize, src + i * prim::kPageSize, (j - i) * prim::kPageSize);
    TIER_TSAN_IGNORE_END();
    copied += (j - i) * prim::kPageSize;
    i = j;
  }
  // The new pages replace the old ones atomically (under the mm's lock): no window exists in
  // which the address is unmapped, so a racing access sees either the protected old pages
  // (and waits) or the new writable ones.
  void *r = mremap(dst, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, addr);
  if (r == MAP_FAILED) {
    const int err = errno;
    mprotect(addr, len, PROT_READ | PROT_WRITE);
    guard_end(*slot);
    (void)prim::unmap(dst, len);
    return os_error(what + ": mremap", err);
  }
  guard_end(*slot);
  return copied;
}

}  // namespace tier::migrate
