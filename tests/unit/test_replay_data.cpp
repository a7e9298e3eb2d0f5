// tier-replay on the shared conversation trace (../shared/data): the parser reads all of it and
// the replay lands on the reference figures for Belady and lru. Skips (exit 77) when the
// shared data is absent.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>

#include "belady.hpp"
#include "engine_replay.hpp"
#include "trace.hpp"
#include "workload.hpp"

using namespace tier::replay;

TEST_CASE("the shared conversation trace replays at lru's reference figure") {
  const char *src = std::getenv("TIER_SOURCE_DIR");
  const std::filesystem::path path = std::filesystem::path(src ? src : ".") / ".." / "shared" /
                                     "data" / "traces" / "mooncake_conversation_trace.jsonl";
  if (!std::filesystem::exists(path)) {
    WARN("no shared trace at " << path.string() << ": skipped");
    std::exit(77);
  }
  auto t = load_trace(path.string());
  REQUIRE(t.ok());
  CHECK(t->requests.size() == 12031);
  const Workload w = kv_workload(*t);
  CHECK(w.refs.size() == 288500);
  // Belady and lru at 2000 blocks: the reference figures (0.26 and 0.054).
  const double opt = static_cast<double>(belady(w, 2000).hits) / static_cast<double>(w.refs.size());
  CHECK(opt == Approx(0.255).margin(0.005));
  auto lru = tier::policy::make_policy("lru");
  REQUIRE(lru.ok());
  ReplayConfig c;
  c.capacity_objects = 2000;
  auto r = replay(w, *lru, c);
  REQUIRE(r.ok());
  CHECK(r->hit_ratio() == Approx(0.054).margin(0.002));
}
