// The chunk table: registration, address lookup, touches, groups, pins, concurrency.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>
#include <vector>

#include "heat/chunk_table.hpp"
#include "heat/source.hpp"

using namespace tier::heat;

namespace {
constexpr uintptr_t kBase = uintptr_t{1} << 40;  // the table never dereferences addresses
constexpr size_t kMiB = 1 << 20;
const void *at(uintptr_t offset) {
  return reinterpret_cast<const void *>(kBase + offset);
}
// A chunk's count is its shared counter plus the touching threads' stripes: read the sum.
uint32_t reads_of(const ChunkTable &t, const void *p) {
  return static_cast<uint32_t>(t.counts_at(p));
}
uint32_t writes_of(const ChunkTable &t, const void *p) {
  return static_cast<uint32_t>(t.counts_at(p) >> 32);
}
}  // namespace

TEST_CASE("regions split into chunk-aligned windows, with short edges") {
  ChunkTable t;
  REQUIRE(t.chunk_size() == 2 * kMiB);
  // Starts 1 MiB into a window and ends 1 MiB into another: three chunks, 1 + 2 + 1 MiB.
  auto r = t.register_region({at(kMiB), 4 * kMiB, 7, 3});
  REQUIRE(r.ok());
  REQUIRE(t.chunk_count() == 3);
  std::vector<size_t> sizes;
  t.scan([&](SlotId, Chunk &c, const RegionInfo &info, size_t bytes) {
    sizes.push_back(bytes);
    REQUIRE(info.owner == 7);
    REQUIRE(c.node.load() == 3);
  });
  REQUIRE(sizes == std::vector<size_t>{kMiB, 2 * kMiB, kMiB});
  // Lookup works on whole windows: the region owns the window it starts in.
  REQUIRE(t.find(at(0)) == t.find(at(kMiB)));
  REQUIRE(t.find(at(kMiB)) != nullptr);
  REQUIRE(t.find(at(5 * kMiB - 1)) != nullptr);
  REQUIRE(t.find(at(6 * kMiB)) == nullptr);
  REQUIRE(t.find(at(kMiB)) != t.find(at(2 * kMiB)));
  auto span = t.chunk_span(1);  // a region's chunks get consecutive slots: 0, 1, 2
  REQUIRE(span.ok());
  REQUIRE(span->addr == kBase + 2 * kMiB);
  REQUIRE(span->bytes == 2 * kMiB);
}

TEST_CASE("overlapping registrations are refused and unregistering frees the windows") {
  ChunkTable t;
  auto a = t.register_region({at(0), 8 * kMiB});
  REQUIRE(a.ok());
  auto b = t.register_region({at(6 * kMiB), 4 * kMiB});
  REQUIRE(b.status() == TIER_EBUSY);
  REQUIRE(b.error().message.find("already belongs to region") != std::string::npos);
  REQUIRE(t.unregister_region(*a).ok());
  REQUIRE(t.find(at(0)) == nullptr);
  REQUIRE(t.unregister_region(*a).status() == TIER_EINVAL);
  REQUIRE(t.register_region({at(6 * kMiB), 4 * kMiB}).ok());
  REQUIRE(t.chunk_count() == 2);
}

TEST_CASE("bad spans and options are errors, not crashes") {
  ChunkTable t;
  REQUIRE(t.register_region({nullptr, kMiB}).status() == TIER_EINVAL);
  REQUIRE(t.register_region({at(0), 0}).status() == TIER_EINVAL);
  REQUIRE(t.register_region({reinterpret_cast<void *>(uintptr_t{1} << 50), kMiB}).status() ==
          TIER_EINVAL);
  REQUIRE(ChunkTable::create({11, 100}).status() == TIER_ECONFIG);
  REQUIRE(ChunkTable::create({31, 100}).status() == TIER_ECONFIG);
  REQUIRE(ChunkTable::create({21, 0}).status() == TIER_ECONFIG);
  auto small = ChunkTable::create({21, 4});
  REQUIRE(small.ok());
  REQUIRE((*small)->register_region({at(0), 8 * kMiB}).ok());
  REQUIRE((*small)->register_region({at(64 * kMiB), 2 * kMiB}).status() == TIER_ENOMEM);
}

TEST_CASE("slots are recycled after unregistering") {
  auto t = ChunkTable::create({21, 8});
  REQUIRE(t.ok());
  for (int round = 0; round < 50; ++round) {
    auto r = (*t)->register_region({at(round * 32 * kMiB), 16 * kMiB});
    REQUIRE(r.ok());
    REQUIRE((*t)->unregister_region(*r).ok());
  }
  REQUIRE((*t)->chunk_count() == 0);
}

TEST_CASE("touch credits every chunk a range covers, and ignores untracked memory") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 8 * kMiB}).ok());
  t.touch(at(kMiB), 2 * kMiB, 1, 0);                               // spans chunks 0 and 1
  t.touch(at(4 * kMiB), 0, 0, 3);                                  // length 0 = one byte
  t.touch(at(100 * kMiB), 64, 5, 5);                               // untracked
  t.touch(reinterpret_cast<void *>(~uintptr_t{0} - 10), 4, 1, 1);  // beyond user space
  REQUIRE(reads_of(t, at(0)) == 1);
  REQUIRE(reads_of(t, at(2 * kMiB)) == 1);
  REQUIRE(writes_of(t, at(4 * kMiB)) == 3);
  REQUIRE(t.counts_at(at(6 * kMiB)) == 0);
}

TEST_CASE("a touch over a huge range does work bounded by the registered chunks") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 4 * kMiB}).ok());
  REQUIRE(t.register_region({at(uintptr_t{1} << 38), 2 * kMiB}).ok());  // 256 GiB further
  // The whole address space (what tier_touch(rt, NULL, SIZE_MAX) asks): each registered chunk
  // is credited once, and the call returns at once instead of walking 2^43 windows.
  t.touch(nullptr, SIZE_MAX, 1, 0);
  REQUIRE(reads_of(t, at(0)) == 1);
  REQUIRE(reads_of(t, at(2 * kMiB)) == 1);
  REQUIRE(reads_of(t, at(uintptr_t{1} << 38)) == 1);
  // A wide range that ends inside the first region credits only what it covers.
  t.touch(reinterpret_cast<void *>(kBase - (uintptr_t{1} << 36)), (uintptr_t{1} << 36) + 1, 0, 2);
  REQUIRE(writes_of(t, at(0)) == 2);
  REQUIRE(writes_of(t, at(2 * kMiB)) == 0);
  REQUIRE(writes_of(t, at(uintptr_t{1} << 38)) == 0);
}

TEST_CASE("object groups span whole chunks of one region and are touched as one") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 16 * kMiB}).ok());
  auto g = t.define_group(at(2 * kMiB), 5 * kMiB);  // chunks 1..3
  REQUIRE(g.ok());
  REQUIRE(*g != 0);
  REQUIRE(t.find(at(2 * kMiB))->group == *g);
  REQUIRE(t.find(at(6 * kMiB))->group == *g);
  REQUIRE(t.find(at(8 * kMiB))->group == 0);
  REQUIRE(t.define_group(at(6 * kMiB), kMiB).status() == TIER_EBUSY);
  REQUIRE(t.define_group(at(14 * kMiB), 4 * kMiB).status() == TIER_EINVAL);  // past the end
  REQUIRE(t.define_group(at(64 * kMiB), kMiB).status() == TIER_EINVAL);      // untracked
  t.touch_group(*g, 4, 1);
  REQUIRE(reads_of(t, at(2 * kMiB)) == 4);
  REQUIRE(writes_of(t, at(2 * kMiB)) == 1);
  t.touch_group(9999, 1, 1);  // unknown: ignored
  REQUIRE(t.release_group(*g).ok());
  REQUIRE(t.find(at(2 * kMiB))->group == 0);
  REQUIRE(t.release_group(*g).status() == TIER_EINVAL);
  t.touch_group(*g, 1, 0);  // released: ignored
  REQUIRE(reads_of(t, at(2 * kMiB)) == 4);

  auto whole = t.register_region({at(64 * kMiB), 6 * kMiB, 0, 0, false, true});
  REQUIRE(whole.ok());
  const GroupId wg = t.find(at(64 * kMiB))->group;
  REQUIRE(wg != 0);
  REQUIRE(t.find(at(68 * kMiB))->group == wg);
  REQUIRE(t.unregister_region(*whole).ok());
  t.touch_group(wg, 1, 0);  // gone with its region
}

TEST_CASE("pins are counted and never go below zero") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 4 * kMiB, 0, 0, true}).ok());
  Chunk *c = t.find(at(0));
  REQUIRE(c->pins.load() == 1);
  t.pin(at(0), 4 * kMiB);
  REQUIRE(c->pins.load() == 2);
  REQUIRE(t.find(at(2 * kMiB))->pins.load() == 2);
  t.unpin(at(0), 1);
  t.unpin(at(0), 1);
  t.unpin(at(0), 1);
  REQUIRE(c->pins.load() == 0);
}

TEST_CASE("record_move updates the node and the move epoch") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 2 * kMiB, 0, 1}).ok());
  SlotId slot = 0;
  t.scan([&](SlotId s, Chunk &, const RegionInfo &, size_t) { slot = s; });
  t.record_move(slot, 4, 17);
  REQUIRE(t.find(at(0))->node.load() == 4);
  REQUIRE(t.find(at(0))->last_move_epoch.load() == 17);
  REQUIRE(t.chunk_span(12345).status() == TIER_EINVAL);
}

TEST_CASE("touches race with registration safely and lose no counts") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 4 * kMiB}).ok());
  constexpr int kTouches = 200000;
  std::atomic<bool> stop{false};
  std::thread churn([&] {
    for (int i = 0; !stop.load(); ++i) {
      auto r = t.register_region({at(uintptr_t{1} << 32 | (uintptr_t(i % 8) << 24)), 8 * kMiB});
      if (r.ok()) (void)t.unregister_region(*r);
    }
  });
  auto worker = [&] {
    for (int i = 0; i < kTouches; ++i) {
      t.touch(at(kMiB), 8, 1, 0);
      t.touch(at(uintptr_t{1} << 32), 8, 1, 0);  // may or may not be registered right now
    }
  };
  std::thread a(worker), b(worker);
  a.join();
  b.join();
  stop = true;
  churn.join();
  REQUIRE(reads_of(t, at(0)) == 2 * kTouches);
}

TEST_CASE("more touching threads than counter stripes lose no counts, and none at thread exit") {
  // Threads past the stripes fall back to the shared counter; exited threads' stripes keep
  // their counts and are claimed by later threads, which continue them.
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 4 * kMiB}).ok());
  constexpr int kThreads = 3 * kTouchStripes, kTouches = 20000;
  for (int round = 0; round < 2; ++round) {
    std::vector<std::thread> threads;
    for (int i = 0; i < kThreads; ++i)
      threads.emplace_back([&] {
        for (int k = 0; k < kTouches; ++k) t.touch(at(kMiB), 8, 1, 2);
      });
    for (auto &th : threads) th.join();
    REQUIRE(reads_of(t, at(0)) == uint32_t{kThreads} * kTouches * (round + 1));
    REQUIRE(writes_of(t, at(0)) == uint32_t{kThreads} * kTouches * 2 * (round + 1));
  }
  // Every stripe id went back when its thread exited (this thread holds at most one).
  REQUIRE(touch_stripes_taken() <= 1);
}

TEST_CASE("a thread that touches once and then sleeps is seen without any flush") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 2 * kMiB}).ok());
  std::atomic<bool> touched{false}, release{false};
  std::thread sleeper([&] {
    t.touch(at(0), 1, 3, 0);
    touched = true;
    while (!release) std::this_thread::yield();  // alive, holding its stripe, never touching
  });
  while (!touched) std::this_thread::yield();
  REQUIRE(reads_of(t, at(0)) == 3);
  release = true;
  sleeper.join();
  REQUIRE(reads_of(t, at(0)) == 3);
}

TEST_CASE("a reused slot starts from zero although its stripes counted its previous region") {
  auto t = ChunkTable::create({21, 1});  // one slot: the second region must reuse it
  REQUIRE(t.ok());
  auto a = (*t)->register_region({at(0), 2 * kMiB});
  REQUIRE(a.ok());
  (*t)->touch(at(0), 1, 5, 7);
  std::thread([&] { (*t)->touch(at(0), 1, 11, 0); }).join();
  REQUIRE(reads_of(**t, at(0)) == 16);
  REQUIRE((*t)->unregister_region(*a).ok());
  REQUIRE((*t)->register_region({at(64 * kMiB), 2 * kMiB}).ok());
  REQUIRE((*t)->counts_at(at(64 * kMiB)) == 0);
  (*t)->touch(at(64 * kMiB), 1, 1, 1);
  REQUIRE(reads_of(**t, at(64 * kMiB)) == 1);
  REQUIRE(writes_of(**t, at(64 * kMiB)) == 1);
  // The stripes' memory stays within its bound: a page per stripe that touched, plus its
  // directory.
  REQUIRE((*t)->stripe_bytes() <=
          (kTouchStripes - 1) * (TouchStripes::kPageSlots + 1) * sizeof(uint64_t));
}

TEST_CASE("the API source touches the process table") {
  ChunkTable t;
  REQUIRE(t.register_region({at(0), 2 * kMiB}).ok());
  touch(at(0), 4, 1, 0);  // no process table yet: ignored
  set_process_table(&t);
  touch(at(0), 4, 2, 1);
  set_process_table(nullptr);
  REQUIRE(reads_of(t, at(0)) == 2);
  REQUIRE(writes_of(t, at(0)) == 1);

  auto names = heat_source_names();
  REQUIRE(std::find(names.begin(), names.end(), "api") != names.end());
  auto src = HeatSource::make("api", t);
  REQUIRE(src.ok());
  REQUIRE((src->ops().flags & kSourcePush) != 0);
  REQUIRE(src->collect(1, nullptr).ok());
  REQUIRE(HeatSource::make("damon-not-here", t).status() == TIER_EINVAL);
  HeatSourceOps dup;
  dup.name = "api";
  dup.collect = find_heat_source("api")->collect;
  REQUIRE(register_heat_source(&dup).status() == TIER_EBUSY);
  HeatSourceOps old = dup;
  old.version = 0;
  REQUIRE(register_heat_source(&old).status() == TIER_EINVAL);
}
