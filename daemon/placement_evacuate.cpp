// placement_evacuate.cpp - moving bytes off one node on demand, outside the policy's plan: how
// the CXL pool's host side empties capacity it was asked to give back (see placement.hpp).
//
// The chunks to move are the node's coldest (they are the ones a policy would demote anyway;
// hot ones stay where they are until nothing else is left). Each goes to the node with room
// whose tier is nearest the evacuated node's, so the pool's data goes to the next-slowest tier
// before it takes fast memory. Room is the node's capacity less what clients last published
// on it and less what this call already sent there.
// Thread-safety: event-loop thread only, as Placement.
#include <algorithm>
#include <cstdlib>
#include <unordered_map>

#include "placement.hpp"

namespace tier::daemon {

Status Placement::set_node_capacity(int32_t node, uint64_t bytes) {
  for (Node &n : topology_.nodes)
    if (n.id == node) {
      n.capacity = bytes;
      return {};
    }
  return make_error(TIER_EINVAL, "no node " + std::to_string(node) + " in the topology");
}

uint64_t Placement::evacuate(const std::vector<ClientState *> &clients, int32_t node,
                             uint64_t bytes) {
  const int from_tier = tier_of(node);
  std::unordered_map<int32_t, uint64_t> room;
  {
    const std::vector<NodeUsage> usage = node_usage(clients);
    for (size_t i = 0; i < topology_.nodes.size(); ++i) {
      const Node &n = topology_.nodes[i];
      if (n.id == node) continue;
      room[n.id] = n.capacity > usage[i].used ? n.capacity - usage[i].used : 0;
    }
  }
  // Targets by tier distance from the evacuated node, then by id for a stable order.
  std::vector<int32_t> targets;
  for (const auto &[id, free] : room) targets.push_back(id);
  std::sort(targets.begin(), targets.end(), [&](int32_t a, int32_t b) {
    const int da = std::abs(tier_of(a) - from_tier), db = std::abs(tier_of(b) - from_tier);
    return da != db ? da < db : a < b;
  });

  struct Candidate {
    ClientState *client;
    size_t index;
    float temperature;
  };
  std::vector<Candidate> cands;
  for (ClientState *c : clients) {
    if (c->emulated && c->requests_outstanding) collect_results(c);
    if (c->emulated && c->requests_outstanding) continue;  // its next batch, next epoch
    for (size_t i = 0; i < c->chunks.size(); ++i) {
      const DaemonChunk &d = c->chunks[i];
      if (d.node == node && !d.pinned) cands.push_back({c, i, d.temperature});
    }
  }
  std::stable_sort(cands.begin(), cands.end(), [](const Candidate &a, const Candidate &b) {
    return a.temperature < b.temperature;
  });

  std::unordered_map<ClientState *, std::vector<PlannedMove>> per_client;
  uint64_t chosen = 0;
  for (const Candidate &cand : cands) {
    if (chosen >= bytes) break;
    const uint64_t len = cand.client->chunks[cand.index].bytes;
    for (int32_t t : targets) {
      if (room[t] < len) continue;
      room[t] -= len;
      per_client[cand.client].push_back({cand.index, t});
      chosen += len;
      break;
    }
  }
  uint64_t issued = 0;
  for (auto &[client, moves] : per_client) {
    moves_total += dispatch(client, moves, &issued, /*manual=*/false);
  }
  bytes_total += issued;
  return issued;
}

}  // namespace tier::daemon
