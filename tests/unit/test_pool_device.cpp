// test_pool_device.cpp - the pool device (issue #13): extent-table checks, the file backend's
// grant / accept / release / fence cycle, its DCD-shaped events, shared media between
// processes, and refusals of corrupt metadata with nothing written.
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>

#include "pool/file_device.hpp"
#include "test_daemon_util.hpp"

using namespace tier::pool;
using tier::test::TempDir;

namespace {

constexpr uint64_t kMiB = uint64_t{1} << 20;

Tag tag_of(uint8_t b) {
  Tag t;
  t.bytes.fill(b);
  return t;
}

Extent extent(uint64_t off_mib, uint64_t len_mib, uint8_t tag, uint32_t host = 0) {
  Extent e;
  e.offset = off_mib * kMiB;
  e.length = len_mib * kMiB;
  e.tag = tag_of(tag);
  e.host = host;
  e.grant = 1;
  return e;
}

const TableLimits kLimits{64 * kMiB, 2 * kMiB, 4};

std::string file_bytes(const std::string &path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void scribble(const std::string &path, uint64_t off, const std::string &junk) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(off));
  f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
}

}  // namespace

TEST_CASE("tags print and parse as UUIDs", "[pool]") {
  Tag t = tag_of(0xab);
  CHECK(t.text() == "abababab-abab-abab-abab-abababababab");
  auto back = Tag::parse(t.text());
  REQUIRE(back);
  CHECK(*back == t);
  auto bad = Tag::parse("12-zz");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message == "tag `12-zz`: expected 32 hex digits (a UUID)");
  auto r1 = Tag::random(), r2 = Tag::random();
  REQUIRE(r1);
  REQUIRE(r2);
  CHECK_FALSE(*r1 == *r2);
}

TEST_CASE("extent tables that break a rule are refused naming the entry", "[pool]") {
  CHECK(validate_table({extent(0, 4, 1), extent(4, 2, 2)}, kLimits, "t"));

  auto why = [](std::vector<Extent> table) {
    tier::Status st = validate_table(table, kLimits, "t");
    REQUIRE_FALSE(st);
    CHECK(st.status() == TIER_EINVAL);
    return st.error().message;
  };
  const std::string t1 = "01010101-0101-0101-0101-010101010101";
  const std::string t2 = "02020202-0202-0202-0202-020202020202";
  CHECK(why({extent(0, 4, 1), extent(2, 4, 2)}) ==
        "t: entry 1 (extent " + t2 + " [4 MiB at 2 MiB]): overlaps entry 0 (extent " + t1 +
            " [4 MiB at 0 B])");
  CHECK(why({extent(62, 4, 1)}) == "t: entry 0 (extent " + t1 +
                                       " [4 MiB at 62 MiB]): ends at 66 MiB, beyond the pool's "
                                       "media of 64 MiB");
  CHECK(why({extent(80, 2, 1)}).find("beyond the pool's media") != std::string::npos);
  CHECK(why({extent(0, 2, 1), extent(2, 2, 1)}) ==
        "t: entry 1 (extent " + t1 + " [2 MiB at 2 MiB]): tag already granted to entry 0");
  CHECK(why({extent(1, 2, 1)}).find("multiples of the device's alignment 2 MiB") !=
        std::string::npos);
  CHECK(why({extent(0, 0, 1)}).find("length is 0") != std::string::npos);
  CHECK(why({extent(0, 2, 0)}).find("has no tag") != std::string::npos);
  CHECK(why({extent(0, 2, 1, 9)}).find("host 9 is not below the device's 4 hosts") !=
        std::string::npos);
  Extent chain = extent(0, 2, 1);
  chain.index = 2;
  chain.count = 2;
  CHECK(why({chain}).find("chain position 2 of 2 in grant 1 is impossible") != std::string::npos);
  Extent state = extent(0, 2, 1);
  state.state = static_cast<ExtentState>(7);
  CHECK(why({state}).find("unknown state 7") != std::string::npos);
}

TEST_CASE("a file pool grants a more chain, the host accepts, maps and releases it", "[pool]") {
  TempDir dir;
  const std::string path = dir.path() + "/pool";
  auto dev = FileDevice::create(path, 64 * kMiB);
  REQUIRE(dev);
  FileDevice &d = **dev;
  CHECK(d.describe() == "file " + path + " (64 MiB media)");

  auto again = FileDevice::create(path, 64 * kMiB);
  REQUIRE_FALSE(again);
  CHECK(again.status() == TIER_EBUSY);
  auto other_size = FileDevice::open_or_create(path, 32 * kMiB);
  REQUIRE_FALSE(other_size);
  CHECK(other_size.error().message == path +
                                          ": the existing pool has 64 MiB of media, the "
                                          "configuration asks for 32 MiB");

  auto t0 = d.table();
  REQUIRE(t0);
  auto pick = choose_free(*t0, d.media_bytes(), d.alignment(), 6 * kMiB, 4);
  REQUIRE(pick);
  REQUIRE(pick->size() == 1);  // an empty pool has one free range
  // Two extents of one grant: a more chain.
  std::vector<Extent> want = {extent(0, 4, 1), extent(10, 2, 2)};
  auto added = d.add_extents(1, want);
  REQUIRE(added);
  REQUIRE(added->size() == 2);
  CHECK((*added)[0].grant == (*added)[1].grant);
  CHECK((*added)[0].more());
  CHECK_FALSE((*added)[1].more());

  auto ev = d.events(1);
  REQUIRE(ev);
  REQUIRE(ev->size() == 2);
  CHECK((*ev)[0].type == DeviceEvent::Type::kAdd);
  CHECK((*ev)[0].more);
  CHECK_FALSE((*ev)[1].more);
  auto none = d.events(2);
  REQUIRE(none);
  CHECK(none->empty());

  auto gen = d.host_generation(1);
  REQUIRE(gen);
  REQUIRE(d.accept(1, *gen, tag_of(1)));
  REQUIRE(d.accept(1, *gen, tag_of(1)));  // idempotent
  auto foreign = d.accept(2, 1, tag_of(2));
  REQUIRE_FALSE(foreign);
  CHECK(foreign.status() == TIER_EPERM);
  ev = d.events(1);
  REQUIRE(ev);
  REQUIRE(ev->size() == 1);  // level-triggered: the unanswered offer is still there
  CHECK((*ev)[0].extent.tag == tag_of(2));

  // The media is shared: what one opener writes, another sees (two hosts on one pool).
  auto m1 = d.map((*added)[0]);
  REQUIRE(m1);
  std::memset(m1->data(), 0x5a, m1->size());
  auto d2 = FileDevice::open(path);
  REQUIRE(d2);
  auto m2 = (*d2)->map((*added)[0]);
  REQUIRE(m2);
  CHECK(m2->data()[0] == 0x5a);
  CHECK(m2->data()[m2->size() - 1] == 0x5a);

  // Give-back: asked, then released.
  auto only_offered = d.request_release(tag_of(2));
  REQUIRE_FALSE(only_offered);
  CHECK(only_offered.error().message.find("is only offered; withdraw it instead") !=
        std::string::npos);
  REQUIRE(d.withdraw(tag_of(2)));
  REQUIRE(d.request_release(tag_of(1)));
  ev = (*d2)->events(1);
  REQUIRE(ev);
  REQUIRE(ev->size() == 1);
  CHECK((*ev)[0].type == DeviceEvent::Type::kRelease);
  auto cannot_withdraw = d.withdraw(tag_of(1));
  REQUIRE_FALSE(cannot_withdraw);
  CHECK(cannot_withdraw.status() == TIER_EBUSY);
  REQUIRE((*d2)->release(1, *gen, tag_of(1)));
  auto t1 = d.table();
  REQUIRE(t1);
  CHECK(t1->extents.empty());
  auto unknown = d.release(1, *gen, tag_of(1));
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message == path + ": no extent with tag " + tag_of(1).text());
}

TEST_CASE("a grant that overlaps, leaves the media or reuses a tag changes nothing", "[pool]") {
  TempDir dir;
  const std::string path = dir.path() + "/pool";
  auto dev = FileDevice::create(path, 32 * kMiB);
  REQUIRE(dev);
  REQUIRE((*dev)->add_extents(0, {extent(0, 8, 1)}));
  const std::string before = file_bytes(path);

  auto overlap = (*dev)->add_extents(1, {extent(4, 4, 2)});
  REQUIRE_FALSE(overlap);
  CHECK(overlap.status() == TIER_EINVAL);
  CHECK(overlap.error().message.find("adding 1 extent(s) for host 1: " + path + ": entry 1") == 0);
  CHECK(overlap.error().message.find("overlaps entry 0") != std::string::npos);

  auto twice = (*dev)->add_extents(1, {extent(8, 2, 1)});
  REQUIRE_FALSE(twice);
  CHECK(twice.error().message.find("tag already granted to entry 0") != std::string::npos);

  auto outside = (*dev)->add_extents(1, {extent(30, 4, 3)});
  REQUIRE_FALSE(outside);
  CHECK(outside.error().message.find("beyond the pool's media of 32 MiB") != std::string::npos);

  auto no_host = (*dev)->add_extents(64, {extent(10, 2, 4)});
  REQUIRE_FALSE(no_host);
  CHECK(no_host.error().message.find("host 64 is not below the device's 64 hosts") !=
        std::string::npos);

  CHECK(file_bytes(path) == before);

  auto t = (*dev)->table();
  REQUIRE(t);
  auto full = choose_free(*t, 32 * kMiB, 2 * kMiB, 32 * kMiB, 4);
  REQUIRE_FALSE(full);
  CHECK(full.status() == TIER_ENOMEM);
  CHECK(full.error().message ==
        "the pool has 24 MiB free of 32 MiB, not 32 MiB in at most 4 extents");
}

TEST_CASE("fencing a host takes its extents back and refuses its old generation", "[pool]") {
  TempDir dir;
  auto dev = FileDevice::create(dir.path() + "/pool", 32 * kMiB);
  REQUIRE(dev);
  FileDevice &d = **dev;
  REQUIRE(d.add_extents(3, {extent(0, 4, 1), extent(4, 4, 2)}));
  REQUIRE(d.add_extents(5, {extent(8, 4, 3)}));
  auto gen = d.host_generation(3);
  REQUIRE(gen);
  REQUIRE(d.accept(3, *gen, tag_of(1)));

  auto taken = d.fence_host(3);
  REQUIRE(taken);
  CHECK(taken->size() == 2);
  auto now = d.host_generation(3);
  REQUIRE(now);
  CHECK(*now == *gen + 1);

  auto zombie = d.release(3, *gen, tag_of(1));
  REQUIRE_FALSE(zombie);
  CHECK(zombie.status() == TIER_EPERM);
  CHECK(zombie.error().message == d.path() + ": host 3 is fenced: it speaks for generation " +
                                      std::to_string(*gen) + ", the device is at " +
                                      std::to_string(*now));
  auto t = d.table();
  REQUIRE(t);
  REQUIRE(t->extents.size() == 1);  // host 5's extent is untouched
  CHECK(t->extents[0].host == 5);
  // The fenced range is free again: it can be granted to another host.
  REQUIRE(d.add_extents(5, {extent(0, 8, 4)}));
}

TEST_CASE("corrupt pool metadata: one copy is survived, two are refused with nothing written",
          "[pool]") {
  TempDir dir;
  const std::string path = dir.path() + "/pool";
  {
    auto dev = FileDevice::create(path, 16 * kMiB);
    REQUIRE(dev);
    REQUIRE((*dev)->add_extents(0, {extent(0, 4, 1)}));
  }
  // A torn or scribbled copy A: copy B still holds the table.
  scribble(path, 4096 + 8, std::string(8, '\xff'));
  {
    auto dev = FileDevice::open(path);
    REQUIRE(dev);
    auto t = (*dev)->table();
    REQUIRE(t);
    REQUIRE(t->extents.size() == 1);
    CHECK(t->extents[0].tag == tag_of(1));
    // The next command rewrites both copies.
    REQUIRE((*dev)->add_extents(1, {extent(4, 4, 2)}));
  }
  scribble(path, 0, "NOTAPOOL");
  {
    auto dev = FileDevice::open(path);
    REQUIRE(dev);  // copy B is whole
    scribble(path, (uint64_t{1} << 20) + 4096 + 8, std::string(8, '\xff'));
    const std::string before = file_bytes(path);
    auto t = (*dev)->table();
    REQUIRE_FALSE(t);
    CHECK(t.status() == TIER_EPROTO);
    CHECK(t.error().message == "pool metadata unreadable, nothing written: " + path +
                                   " (metadata copy A): not a Tier pool (bad magic); " + path +
                                   " (metadata copy B): checksum mismatch (corrupt header or "
                                   "table)");
    auto add = (*dev)->add_extents(1, {extent(8, 4, 3)});
    REQUIRE_FALSE(add);
    CHECK(add.status() == TIER_EPROTO);
    CHECK(file_bytes(path) == before);
  }
  auto reopened = FileDevice::open(path);
  REQUIRE_FALSE(reopened);
  CHECK(reopened.status() == TIER_EPROTO);

  const std::string tiny = dir.write("tiny", "not a pool");
  auto small = FileDevice::open(tiny);
  REQUIRE_FALSE(small);
  CHECK(small.error().message == tiny + ": 10 bytes is too small to be a Tier pool");
}

TEST_CASE("hosts in separate processes granting at once never share media", "[pool]") {
  TempDir dir;
  const std::string path = dir.path() + "/pool";
  {
    auto dev = FileDevice::create(path, 128 * kMiB);
    REQUIRE(dev);
  }
  constexpr int kHosts = 4, kGrants = 6;
  std::vector<pid_t> kids;
  for (int h = 0; h < kHosts; ++h) {
    pid_t pid = ::fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      // Choose, then add: another process may have taken the range in between, which the
      // device refuses as an overlap; choose again then.
      auto dev = FileDevice::open(path);
      if (!dev) ::_exit(2);
      for (int g = 0; g < kGrants; ++g) {
        bool done = false;
        for (int attempt = 0; attempt < 100 && !done; ++attempt) {
          auto t = (*dev)->table();
          if (!t) ::_exit(3);
          auto pick = choose_free(*t, (*dev)->media_bytes(), (*dev)->alignment(), 4 * kMiB, 2);
          if (!pick) ::_exit(4);
          auto added = (*dev)->add_extents(static_cast<uint32_t>(h), *pick);
          if (added) {
            for (const Extent &e : *added) {
              auto m = (*dev)->map(e);
              if (!m) ::_exit(5);
              std::memset(m->data(), 'a' + h, m->size());
            }
            done = true;
          } else if (added.status() != TIER_EINVAL) {
            ::_exit(6);
          }
        }
        if (!done) ::_exit(7);
      }
      ::_exit(0);
    }
    kids.push_back(pid);
  }
  for (pid_t pid : kids) {
    int status = 0;
    REQUIRE(::waitpid(pid, &status, 0) == pid);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
  }
  auto dev = FileDevice::open(path);
  REQUIRE(dev);
  auto t = (*dev)->table();
  REQUIRE(t);
  uint64_t total = 0;
  for (const Extent &e : t->extents) {
    total += e.length;
    auto m = (*dev)->map(e);
    REQUIRE(m);
    // Every byte of an extent is its own host's: no two grants shared media.
    const char want = static_cast<char>('a' + e.host);
    CHECK(std::all_of(m->data(), m->data() + m->size(), [&](char c) { return c == want; }));
  }
  CHECK(total == uint64_t{kHosts} * kGrants * 4 * kMiB);
}
