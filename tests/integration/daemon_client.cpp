// daemon_client.cpp - a libtier client process for tierd's integration tests.
//
// Options: --chunks N --hot H --phase-file F --status F --seconds S --slow TIER --agent 0|1.
// Allocates N chunk-sized blocks on the slowest tier, registers each (tier_region_register,
// which is what makes them visible to tierd), then touches a hot set of H blocks every few
// milliseconds. The hot set is blocks [P*H, P*H+H) mod N, where P (the phase) is read from
// --phase-file each round, so a test shifts it by rewriting that file. Every round it writes
// "<phase> <hot blocks on the fastest tier> <H> <rounds> <bitmask of all blocks on the fastest
// tier>" to --status (atomically, by rename), checked with tier_where; the blocks' addresses go
// to <status>.blocks once, one hex address a line. Exits on SIGTERM or after --seconds; exit status
// 0 when every block still holds the pattern written into it (moves lose no data).
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "tier/heat.h"
#include "tier/tier.h"

namespace {

volatile sig_atomic_t g_stop = 0;
void on_term(int) {
  g_stop = 1;
}

constexpr size_t kBlock = size_t{2} << 20;

int read_phase(const std::string &path) {
  if (path.empty()) return 0;
  std::ifstream f(path);
  int p = 0;
  f >> p;
  return p;
}

}  // namespace

int main(int argc, char **argv) {
  int n = 8, hot = 2, agent = 0;
  double seconds = 600;
  std::string phase_file, status_file, slow = "tier:1";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i], v = argv[i + 1];
    if (a == "--chunks")
      n = std::atoi(v.c_str());
    else if (a == "--hot")
      hot = std::atoi(v.c_str());
    else if (a == "--seconds")
      seconds = std::atof(v.c_str());
    else if (a == "--phase-file")
      phase_file = v;
    else if (a == "--status")
      status_file = v;
    else if (a == "--slow")
      slow = v;
    else if (a == "--agent")
      agent = std::atoi(v.c_str());
  }
  signal(SIGTERM, on_term);
  tier_runtime *rt = nullptr;
  if (tier_runtime_create(nullptr, &rt) != TIER_OK) {
    std::fprintf(stderr, "client: runtime: %s\n", tier_last_error());
    return 2;
  }
  int fast_node = -1;
  for (int i = 0; i < tier_node_count(rt); ++i) {
    tier_node_info info{};
    info.size = sizeof info;
    if (tier_node_at(rt, i, &info) == TIER_OK && info.tier == 0) fast_node = info.id;
  }
  tier_policy pol;
  const std::string text = "preferred=" + slow;
  if (tier_policy_parse(rt, text.c_str(), &pol) != TIER_OK) {
    std::fprintf(stderr, "client: policy %s: %s\n", text.c_str(), tier_last_error());
    return 2;
  }
  std::vector<char *> blocks(n);
  for (int i = 0; i < n; ++i) {
    blocks[i] = static_cast<char *>(tier_aligned_alloc(rt, kBlock, kBlock, &pol));
    if (!blocks[i]) {
      std::fprintf(stderr, "client: alloc: %s\n", tier_last_error());
      return 2;
    }
    std::memset(blocks[i], 'a' + i % 26, kBlock);
    uint32_t id;
    if (tier_region_register(rt, blocks[i], kBlock, TIER_GROUP_NONE, 0, &id) != TIER_OK) {
      std::fprintf(stderr, "client: register: %s\n", tier_last_error());
      return 2;
    }
  }
  if (!status_file.empty()) {
    const std::string path = status_file + ".blocks", tmp = path + ".tmp";
    if (FILE *f = std::fopen(tmp.c_str(), "w")) {
      for (char *b : blocks) std::fprintf(f, "%p\n", static_cast<void *>(b));
      std::fclose(f);
      std::rename(tmp.c_str(), path.c_str());
    }
  }
  auto on_fast_tier = [&](char *block) {
    tier_where_result w{};
    w.size = sizeof w;
    if (tier_where(rt, block, kBlock, &w) != TIER_OK) return false;
    for (int e = 0; e < w.nentries; ++e)
      if (w.entries[e].node == fast_node && w.entries[e].bytes == kBlock) return true;
    return false;
  };
  // --agent 1: the in-process agent runs too; it stands aside while tierd serves the process
  // and takes over when tierd is gone.
  if (agent) {
    tier_agent_options ao = TIER_AGENT_OPTIONS_INIT;
    ao.period_ms = 50;
    if (tier_agent_start(rt, &ao) != TIER_OK) {
      std::fprintf(stderr, "client: agent: %s\n", tier_last_error());
      return 2;
    }
  }
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  uint64_t rounds = 0;
  while (!g_stop && std::chrono::steady_clock::now() < end) {
    const int phase = read_phase(phase_file);
    int on_fast = 0;
    for (int k = 0; k < hot; ++k) {
      const int b = (phase * hot + k) % n;
      tier_touch(rt, blocks[b], kBlock, 1000, 0);
      if (on_fast_tier(blocks[b])) ++on_fast;
    }
    ++rounds;
    if (!status_file.empty() && rounds % 4 == 0) {
      const std::string tmp = status_file + ".tmp";
      if (FILE *f = std::fopen(tmp.c_str(), "w")) {
        unsigned long long mask = 0;
        for (int i = 0; i < n && i < 64; ++i)
          if (on_fast_tier(blocks[i])) mask |= 1ull << i;
        std::fprintf(f, "%d %d %d %llu %llu\n", phase, on_fast, hot,
                     static_cast<unsigned long long>(rounds), mask);
        std::fclose(f);
        std::rename(tmp.c_str(), status_file.c_str());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  tier_agent_stats st{};
  st.size = sizeof st;
  if (tier_agent_stats_get(rt, &st) == TIER_OK)
    std::fprintf(stderr, "client: agent epochs %llu, promotions %llu, bytes moved %llu\n",
                 static_cast<unsigned long long>(st.epochs),
                 static_cast<unsigned long long>(st.promotions),
                 static_cast<unsigned long long>(st.bytes_moved));
  int bad = 0;
  for (int i = 0; i < n; ++i)
    for (size_t off = 0; off < kBlock; off += 4096)
      if (blocks[i][off] != 'a' + i % 26) {
        ++bad;
        break;
      }
  if (bad) std::fprintf(stderr, "client: %d blocks lost their contents\n", bad);
  for (char *b : blocks) tier_free(rt, b);
  tier_runtime_destroy(rt);  // stops the agent and the tierd link (and keeps LeakSanitizer quiet)
  return bad ? 1 : 0;
}
