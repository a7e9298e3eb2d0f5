// fault_sampler.cpp - sampled protection-fault heat (see fault_sampler.hpp).
//
// Armed pages live in two banks of a fixed array: the bank armed this epoch, and the one armed
// the epoch before (restored, but kept so that a fault raised before its page was restored and
// handled after it still finds its entry and simply retries). A bank is reused one epoch after
// it was restored.
#include "client/fault_sampler.hpp"

#include <sys/mman.h>
#include <time.h>

#include <atomic>

#include "migrate/write_guard.hpp"

namespace tier::client {
namespace {

enum : uint32_t { kEmpty = 0, kArmed = 1, kFired = 2, kRestored = 3 };
constexpr size_t kPage = 4096;

struct Entry {
  std::atomic<uintptr_t> page{0};
  std::atomic<uint32_t> state{kEmpty};
};

Entry g_banks[2][FaultSampler::kMaxSampled];
std::atomic<heat::ChunkTable *> g_table{nullptr};
std::atomic<uint32_t> g_weight{1};
std::atomic<uint64_t> g_faults{0};
std::atomic<bool> g_exists{false};

// Changes a page's protection unless a relocation guards it (it then owns the protection).
bool protect_page(uintptr_t page, int prot) {
  migrate::hook_enter();
  const bool guarded = migrate::guard_active(page);
  if (!guarded) mprotect(reinterpret_cast<void *>(page), kPage, prot);
  migrate::hook_leave();
  return !guarded;
}

bool on_fault(uintptr_t addr) {
  const uintptr_t page = addr & ~(kPage - 1);
  for (auto &bank : g_banks)
    for (Entry &e : bank) {
      if (e.page.load(std::memory_order_acquire) != page) continue;
      uint32_t st = e.state.load(std::memory_order_acquire);
      if (st == kArmed && e.state.compare_exchange_strong(st, kFired, std::memory_order_acq_rel)) {
        if (heat::ChunkTable *t = g_table.load(std::memory_order_acquire))
          t->touch(reinterpret_cast<void *>(page), 1, g_weight.load(std::memory_order_relaxed), 0);
        g_faults.fetch_add(1, std::memory_order_relaxed);
        // Under relocation, the guard owns the page: retrying waits for it there.
        protect_page(page, PROT_READ | PROT_WRITE);
        return true;
      }
      // Fired by another thread (it is restoring the page), or restored since the fault was
      // raised: either way the access only needs to run again.
      if (st == kFired || st == kRestored) return true;
    }
  return false;
}

}  // namespace

Result<std::unique_ptr<FaultSampler>> FaultSampler::create(heat::ChunkTable *table,
                                                           const FaultSamplerOptions &options) {
  if (!table) return make_error(TIER_EINVAL, "fault sampler: no chunk table");
  if (options.pages_per_epoch == 0 || options.pages_per_epoch > kMaxSampled)
    return make_error(TIER_ECONFIG,
                      "fault sampler: pages_per_epoch must be 1.." + std::to_string(kMaxSampled));
  bool expected = false;
  if (!g_exists.compare_exchange_strong(expected, true))
    return make_error(TIER_EBUSY, "fault sampler: one already runs in this process");
  std::unique_ptr<FaultSampler> s(new FaultSampler(table, options));
  g_table.store(table, std::memory_order_release);
  g_weight.store(options.weight, std::memory_order_relaxed);
  if (Status st = migrate::set_fault_hook(on_fault); !st) {
    g_exists.store(false);
    return std::move(st).error();
  }
  return s;
}

FaultSampler::~FaultSampler() {
  restore_bank(0, 0, UINTPTR_MAX);
  restore_bank(1, 0, UINTPTR_MAX);
  // The hook stays installed with an empty table of pages: a late fault still finds its
  // restored entry and retries. Entries are reset by the next sampler's arming only.
  g_table.store(nullptr, std::memory_order_release);
  g_exists.store(false, std::memory_order_release);
}

void FaultSampler::restore_bank(int bank, uintptr_t lo, uintptr_t hi) {
  for (Entry &e : g_banks[bank]) {
    const uintptr_t page = e.page.load(std::memory_order_acquire);
    if (page < lo || page >= hi) continue;
    uint32_t st = kArmed;
    // Claim the entry first (armed -> restored) so a racing fault does not count it; a fault
    // already past the claim retries and finds the page accessible.
    if (e.state.compare_exchange_strong(st, kRestored, std::memory_order_acq_rel))
      protect_page(page, PROT_READ | PROT_WRITE);
    else if (st == kFired)
      e.state.store(kRestored, std::memory_order_release);
  }
}

void FaultSampler::add_range(uintptr_t addr, size_t len) {
  const uintptr_t lo = (addr + kPage - 1) & ~(kPage - 1);
  const uintptr_t hi = (addr + len) & ~(kPage - 1);
  if (hi > lo) ranges_.emplace_back(lo, hi - lo);
}

void FaultSampler::remove_range(uintptr_t addr, size_t len) {
  restore_bank(0, addr, addr + len);
  restore_bank(1, addr, addr + len);
  for (auto it = ranges_.begin(); it != ranges_.end();)
    it = (it->first >= addr && it->first < addr + len) ? ranges_.erase(it) : it + 1;
}

Status FaultSampler::rearm(heat::SourceStats *stats) {
  // Reinstall on top of any handler installed since (test frameworks do, per test).
  if (Status s = migrate::set_fault_hook(on_fault); !s) return s;
  restore_bank(bank_, 0, UINTPTR_MAX);
  bank_ ^= 1;
  // The other bank was restored an epoch ago: its entries can be reused now.
  Entry *bank = g_banks[bank_];
  for (uint32_t i = 0; i < kMaxSampled; ++i) {
    bank[i].state.store(kEmpty, std::memory_order_release);
    bank[i].page.store(0, std::memory_order_release);
  }
  uint64_t total_pages = 0;
  for (const auto &r : ranges_) total_pages += r.second / kPage;
  const uint32_t n =
      total_pages ? static_cast<uint32_t>(std::min<uint64_t>(options_.pages_per_epoch, total_pages))
                  : 0;
  for (uint32_t i = 0; i < n; ++i) {
    rng_ ^= rng_ << 13, rng_ ^= rng_ >> 7, rng_ ^= rng_ << 17;  // xorshift64
    uint64_t k = rng_ % total_pages;
    uintptr_t page = 0;
    for (const auto &r : ranges_) {
      if (k < r.second / kPage) {
        page = r.first + k * kPage;
        break;
      }
      k -= r.second / kPage;
    }
    bool dup = false;  // the same page twice in one sample would be armed once
    for (uint32_t j = 0; j < i && !dup; ++j) dup = bank[j].page.load() == page;
    if (dup) continue;
    bank[i].page.store(page, std::memory_order_release);
    bank[i].state.store(kArmed, std::memory_order_release);
    if (!protect_page(page, PROT_NONE)) bank[i].state.store(kRestored, std::memory_order_release);
  }
  const uint64_t total = g_faults.load(std::memory_order_relaxed);
  if (stats) stats->events = total - faults_seen_;
  faults_seen_ = total;
  return {};
}

uint64_t FaultSampler::faults() const {
  return g_faults.load(std::memory_order_relaxed);
}

}  // namespace tier::client
