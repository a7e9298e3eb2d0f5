// numa_mover.cpp - the real-NUMA mover: move_pages(2) through prim::ops(), on any pid.
//
// One move() call: (1) query every page's node (move_pages with nodes == NULL) in batches and
// drop pages already on their target, and pages never faulted in (-ENOENT: there is nothing to
// move; the mempolicy decides where they will appear); (2) sort what is left by target node, a
// stable sort so that each target's pages stay in address order (the kernel migrates runs of
// consecutive same-target pages together); (3) move them in batches of `batch_pages`, paced by
// the token bucket; (4) pages that come back -EBUSY / -EAGAIN (under writeback, pinned for
// I/O, locked by a racing fault) are retried up to `max_retries` times after a short backoff;
// every other negative status is reported in its range's outcome, never dropped.
//
// Thread-safety: a mover instance is driven by one thread at a time (mover.hpp).
#include <errno.h>
#include <time.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "migrate/mover.hpp"
#include "migrate/rate_limit.hpp"
#include "prim/os.hpp"

namespace tier::migrate {
namespace {

struct NumaState {
  NumaMoverOptions options;
  TokenBucket bucket;
  explicit NumaState(const NumaMoverOptions &o) : options(o), bucket(o.rate) {}
};

enum class PageFate : uint8_t { kPending, kSkipped, kAbsent, kMoved, kFailed };

struct Page {
  void *addr;
  uint32_t range;
  int32_t target;
  PageFate fate = PageFate::kPending;
  int error = 0;
};

void sleep_us(uint32_t us) {
  timespec ts{static_cast<time_t>(us / 1000000), static_cast<long>(us % 1000000) * 1000};
  nanosleep(&ts, nullptr);
}

// Queries the nodes of pages[first..first+n) into their fate.
void query(NumaState &st, std::vector<Page> &pages, size_t first, size_t n,
           std::vector<void *> &addrs, std::vector<int> &status, MoveStats *stats) {
  addrs.resize(n), status.assign(n, 0);
  for (size_t i = 0; i < n; ++i) addrs[i] = pages[first + i].addr;
  long not_moved = 0;
  const int rc = prim::ops().move_pages(st.options.pid, n, addrs.data(), nullptr, status.data(), 0,
                                        &not_moved);
  ++stats->calls;
  for (size_t i = 0; i < n; ++i) {
    Page &p = pages[first + i];
    if (rc != 0) {
      p.fate = PageFate::kFailed, p.error = rc;
    } else if (status[i] == p.target) {
      p.fate = PageFate::kSkipped;
    } else if (status[i] == -ENOENT) {
      p.fate = PageFate::kAbsent;
    } else if (status[i] < 0) {
      p.fate = PageFate::kFailed, p.error = -status[i];
    }
  }
}

// Moves the pages at `idx` (all pending, one target each) in batches; returns the indexes of
// pages to retry.
std::vector<size_t> move_batch(NumaState &st, std::vector<Page> &pages,
                               const std::vector<size_t> &idx, MoveStats *stats) {
  std::vector<size_t> retry;
  std::vector<void *> addrs;
  std::vector<int> nodes, status;
  const size_t batch = std::max<uint32_t>(st.options.batch_pages, 1);
  for (size_t b = 0; b < idx.size(); b += batch) {
    const size_t n = std::min(batch, idx.size() - b);
    addrs.resize(n), nodes.resize(n), status.assign(n, -EINPROGRESS);
    for (size_t i = 0; i < n; ++i) {
      addrs[i] = pages[idx[b + i]].addr;
      nodes[i] = pages[idx[b + i]].target;
    }
    stats->throttled_ns += st.bucket.acquire(n * st.options.page_size);
    long not_moved = 0;
    const int rc =
        prim::ops().move_pages(st.options.pid, n, addrs.data(), nodes.data(), status.data(),
                               static_cast<int>(prim::kMpolMfMove), &not_moved);
    ++stats->calls;
    for (size_t i = 0; i < n; ++i) {
      const size_t k = idx[b + i];
      Page &p = pages[k];
      // A call-level error (ESRCH, EPERM, EINVAL, ENODEV, ENOMEM for the whole call) fails the
      // batch; EBUSY/EAGAIN from the call itself is as transient as per page.
      const int s = rc != 0 ? -rc : status[i];
      if (s == p.target) {
        p.fate = PageFate::kMoved;
      } else if (s == -EBUSY || s == -EAGAIN || (s >= 0 && s != p.target)) {
        // A non-negative status other than the target: the kernel left the page where it was
        // (counted in the call's positive return); that is transient too.
        p.error = s < 0 ? -s : EAGAIN;
        retry.push_back(k);
      } else if (s == -ENOENT) {
        p.fate = PageFate::kAbsent;  // unmapped between the query and the move
      } else {
        p.fate = PageFate::kFailed, p.error = -s;
      }
    }
  }
  return retry;
}

Status numa_move(void *state, const MoveRange *ranges, size_t count, RangeOutcome *outcomes,
                 MoveStats *stats) {
  auto &st = *static_cast<NumaState *>(state);
  const uint64_t start = monotonic_ns();
  const size_t ps = st.options.page_size;
  std::vector<Page> pages;
  for (size_t r = 0; r < count; ++r) {
    const MoveRange &m = ranges[r];
    outcomes[r] = RangeOutcome{m.chunk, Outcome::kFailed, 0, 0, 0};
    if (m.addr % ps || m.bytes % ps || m.to < 0) {
      outcomes[r].error = EINVAL;
      outcomes[r].pages_failed = static_cast<uint32_t>((m.bytes + ps - 1) / ps);
      stats->pages_failed += outcomes[r].pages_failed;
      continue;
    }
    for (size_t off = 0; off < m.bytes; off += ps)
      pages.push_back(Page{reinterpret_cast<void *>(m.addr + off), static_cast<uint32_t>(r), m.to});
  }

  std::vector<void *> addrs;
  std::vector<int> status;
  const size_t batch = std::max<uint32_t>(st.options.batch_pages, 1);
  for (size_t b = 0; b < pages.size(); b += batch)
    query(st, pages, b, std::min(batch, pages.size() - b), addrs, status, stats);

  std::vector<size_t> todo;
  for (size_t i = 0; i < pages.size(); ++i)
    if (pages[i].fate == PageFate::kPending) todo.push_back(i);
  std::stable_sort(todo.begin(), todo.end(),
                   [&](size_t a, size_t b) { return pages[a].target < pages[b].target; });

  for (uint32_t attempt = 0; !todo.empty(); ++attempt) {
    std::vector<size_t> retry = move_batch(st, pages, todo, stats);
    if (retry.empty()) break;
    if (attempt >= st.options.max_retries) {
      for (size_t k : retry) pages[k].fate = PageFate::kFailed;
      break;
    }
    stats->pages_retried += retry.size();
    sleep_us(st.options.retry_backoff_us << attempt);  // bounded: a few attempts only
    todo = std::move(retry);
  }

  // Per range: fold the page fates into an outcome.
  std::vector<uint32_t> moved(count, 0), failed(count, 0);
  for (const Page &p : pages) {
    RangeOutcome &o = outcomes[p.range];
    switch (p.fate) {
      case PageFate::kSkipped:
        ++stats->pages_skipped;
        break;
      case PageFate::kAbsent:
        ++stats->pages_absent;
        break;
      case PageFate::kMoved:
        ++stats->pages_moved, ++moved[p.range];
        stats->bytes_moved += ps, o.bytes_moved += ps;
        break;
      case PageFate::kFailed:
      case PageFate::kPending:
        ++stats->pages_failed, ++failed[p.range];
        if (!o.error) o.error = p.error ? p.error : EIO;
        break;
    }
  }
  for (size_t r = 0; r < count; ++r) {
    RangeOutcome &o = outcomes[r];
    if (o.error == EINVAL && moved[r] == 0 && failed[r] == 0) continue;  // rejected above
    o.pages_failed = failed[r];
    if (failed[r] == 0)
      o.outcome = moved[r] ? Outcome::kMoved : Outcome::kInPlace;
    else
      o.outcome = moved[r] ? Outcome::kPartial : Outcome::kFailed;
  }
  stats->elapsed_ns += monotonic_ns() - start;
  return {};
}

void numa_destroy(void *state) {
  delete static_cast<NumaState *>(state);
}

const MoverOps kNumaOps = [] {
  MoverOps o;
  o.name = "numa";
  o.move = numa_move;
  o.destroy = numa_destroy;
  return o;
}();

}  // namespace

const MoverOps &numa_mover_ops() {
  return kNumaOps;
}

Result<Mover> Mover::numa(const NumaMoverOptions &options) {
  if (options.page_size < prim::kPageSize || (options.page_size & (options.page_size - 1)))
    return make_error(TIER_EINVAL, "numa mover: page_size " + std::to_string(options.page_size) +
                                       " is not a power of two >= 4096");
  if (options.batch_pages == 0 || options.batch_pages > 65536)
    return make_error(TIER_EINVAL, "numa mover: batch_pages must be 1..65536");
  return adopt(&kNumaOps, new NumaState(options));
}

}  // namespace tier::migrate
