// client_state.hpp - what tierd knows about one client process, and the checks on everything
// it reads from it.
//
// A client is identified by SO_PEERCRED (pid, uid, gid), watched through a pidfd, and shares a
// sealed memfd (daemon_protocol.hpp, "shared table"). tierd keeps the client's registered
// regions (from region messages) and, per epoch, a copy of its chunk entries with the heat
// state tierd derives from their counters. Every entry is validated after it is copied out of
// the shared memory (the client can rewrite it at any time): sorted and non-overlapping, inside
// one chunk window, inside a registered region, on a node tierd knows, groups contiguous. A
// table that fails is refused as a whole for that epoch; no other client is affected.
//
// Thread-safety: used by tierd's event-loop thread only.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "client/daemon_protocol.hpp"
#include "common/result.hpp"
#include "heat/rule.hpp"
#include "migrate/mover.hpp"

namespace tier::daemon {

struct RegionEntry {
  uint64_t length = 0;
  uint32_t id = 0;
};
using RegionMap = std::map<uint64_t, RegionEntry>;  // by base

// A chunk as tierd tracks it: the client's last published entry and tierd's heat state.
struct DaemonChunk {
  uint64_t addr = 0;
  uint32_t bytes = 0;
  int32_t node = -1;
  uint32_t group = 0;  // the client's id
  bool pinned = false;
  uint64_t seen = 0;  // raw counter at the last epoch
  uint64_t total = 0;
  float temperature = 0;
  uint32_t accesses = 0;  // this epoch
  uint32_t history = 0;
  uint32_t last_access_epoch = 0;
  uint32_t last_move_epoch = 0;
  uint8_t policy_tag = 0;  // the policy's memory of this chunk (Plan::tags), kept across epochs
};

struct ClientState {
  ClientState() = default;
  ClientState(const ClientState &) = delete;
  ClientState &operator=(const ClientState &) = delete;
  ~ClientState();  // unmaps the table, closes the memfd and pidfd

  uint32_t id = 0;
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string comm;
  int pidfd = -1;
  bool emulated = false;
  int priority = 0;
  uint64_t quota_bytes = 0;

  // The shared table (tierd's mapping) and its geometry from the accepted hello.
  void *shm = nullptr;
  size_t shm_len = 0;
  uint32_t capacity = 0;
  uint32_t max_requests = 0;
  unsigned chunk_shift = 21;

  RegionMap regions;
  uint64_t region_generation = 0;   // of the last region message
  std::vector<DaemonChunk> chunks;  // sorted by addr
  std::vector<DaemonChunk> spare;   // the previous epoch's vector, reused (no page faults)
  uint64_t refusals = 0;
  std::string last_refusal;           // logged once, not every epoch while it lasts
  uint32_t requests_outstanding = 0;  // requests of the batch the client has not applied
  uint32_t request_gen = 0;
  // Per request of the outstanding batch: its bytes and MoveReason, kept on tierd's side so
  // the client, which writes the results, cannot change what they are counted as.
  std::vector<std::pair<uint32_t, uint8_t>> batch;
  std::unique_ptr<migrate::Mover> mover;  // real NUMA: move_pages on pid
};

// Maps a client's memfd after checking it: a memfd sealed against shrinking and growing, of
// exactly the size the hello announced, with a matching header. Takes ownership of `memfd`
// (closed in every case: the mapping keeps the memory).
Status attach_table(ClientState *client, int memfd);

// Region messages. Refused (TIER_EPROTO with the reason): an empty or wrapping range, an id or
// a range already registered (overlap), more than kMaxRegions, an unknown id for removal. A
// removal also forgets the chunks inside the region.
inline constexpr size_t kMaxRegions = 1u << 16;
Status add_region(ClientState *client, const daemon_proto::RegionMsg &msg);
Status remove_region(ClientState *client, const daemon_proto::RegionMsg &msg);

// The pure check of a copied table (see the banner).
Status check_entries(const daemon_proto::ShmChunk *entries, uint32_t count,
                     const RegionMap &regions, unsigned chunk_shift,
                     const std::vector<int32_t> &known_nodes);

enum class TableRead { kUpdated, kUnchanged, kRefused };
// One epoch's read of the shared table: seqlock copy, check, and heat update (the heat rule, with
// `clock`, heat weighted in ChunkInfo later). kUnchanged when the client is mid-write or its table
// does not reflect its latest region message yet; kRefused with `why` set when the table fails a
// check (the client's chunks are dropped for this epoch).
TableRead read_table(ClientState *client, uint64_t epoch, heat::HeatClock &clock,
                     const std::vector<int32_t> &known_nodes, std::string *why);

}  // namespace tier::daemon
