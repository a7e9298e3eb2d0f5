// daemon_protocol.hpp - the wire protocol between tierd, libtier clients and tierctl, shared
// by both sides (docs/daemon.md is its prose description).
//
// Transport: a Unix SOCK_SEQPACKET socket (default /run/tier/tierd.sock, TIER_DAEMON_SOCKET on
// the client side, --socket on tierd). Every datagram is one message: a MsgHeader followed by
// the fixed-size body of its type, nothing else; the receiver checks magic, version, type and
// that the datagram's length is exactly the type's size. All integers are host-endian (the
// socket never leaves the host).
//
// A connection is either a client (first message kHello, carrying the shared table's memfd
// with SCM_RIGHTS) or a control connection (tierctl: any number of kCtl* requests, each
// answered by one reply). Heat and placement do not travel in messages: they live in the
// shared table (ShmHeader + move requests + chunk entries in one sealed memfd), which the client
// rewrites under a seqlock each sync and tierd copies out and validates each epoch.
//
// Thread-safety: plain types and pure functions; the atomics in the shared table are
// address-free and so work across processes.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/result.hpp"

namespace tier::daemon_proto {

inline constexpr uint32_t kMagic = 0x52454954;  // "TIER"
inline constexpr uint16_t kVersion = 1;
inline constexpr const char *kDefaultSocket = "/run/tier/tierd.sock";
inline constexpr size_t kMaxMessage = 128 * 1024;  // largest datagram either side sends
inline constexpr int kMaxNodes = 16;               // nodes a hello / status names
inline constexpr int kMaxTiers = 8;

enum class MsgType : uint16_t {
  kHello = 1,       // client -> tierd, with the memfd
  kHelloOk = 2,     // tierd -> client
  kRegionAdd = 3,   // client -> tierd
  kRegionDel = 4,   // client -> tierd
  kError = 5,       // tierd -> client or tierctl: a refusal and its reason
  kCtlStatus = 16,  // tierctl -> tierd
  kCtlClients = 17,
  kCtlPolicyGet = 18,
  kCtlPolicySet = 19,  // admin
  kCtlMigrate = 20,    // admin
  kCtlPool = 21,       // the CXL pool's state (tierctl pool)
  kCtlOk = 32,         // tierd -> tierctl: done, with a text
  kStatusReply = 33,
  kClientsReply = 34,
  kPoolReply = 35,  // PoolReply: the pool's state as JSON (docs/pool.md, "tierctl pool")
};
const char *type_name(MsgType type);

struct MsgHeader {
  uint32_t magic = kMagic;
  uint16_t type = 0;
  uint16_t version = kVersion;
  uint32_t length = 0;  // bytes of the whole message, header included
  uint32_t reserved = 0;
};

struct HelloMsg {
  MsgHeader h;
  int32_t pid = 0;            // must equal SO_PEERCRED's pid
  uint32_t chunk_shift = 0;   // the client's chunk size (log2)
  uint32_t capacity = 0;      // chunk entries the shared table holds
  uint32_t max_requests = 0;  // move-request slots in the shared table
  uint32_t emulated = 0;      // 1 when the client's topology is emulated
  uint32_t nnodes = 0;        // node ids the client's runtime knows
  int32_t nodes[kMaxNodes] = {};
  char comm[16] = {};
};

struct HelloOkMsg {
  MsgHeader h;
  uint32_t client_id = 0;
  uint32_t epoch_ms = 0;  // the client syncs its table every epoch_ms / 2
};

struct RegionMsg {  // kRegionAdd and kRegionDel (base/length ignored for del)
  MsgHeader h;
  uint32_t region_id = 0;
  uint32_t reserved = 0;
  uint64_t base = 0;
  uint64_t length = 0;
  uint64_t generation = 0;  // increases with every region message of this client
};

struct TextMsg {  // kError and kCtlOk
  MsgHeader h;
  int32_t status = 0;  // a tier_status (0 for kCtlOk)
  char text[244] = {};
};

struct CtlMsg {  // every kCtl* request
  MsgHeader h;
  int32_t pid = 0;              // migrate: the client
  int32_t node = 0;             // migrate: target node
  uint64_t start = 0, end = 0;  // migrate: [start, end)
  char name[32] = {};           // policy set: the policy
};

struct NodeStatus {
  int32_t id = 0;
  int32_t tier = 0;
  uint64_t capacity = 0;
  uint64_t used = 0;  // bytes of tracked chunks on the node, all clients
  uint64_t hot = 0;   // of which in the hot set (sized to the tiers above the slowest)
  char name[16] = {};
  char kind[12] = {};
};

struct StatusReply {
  MsgHeader h;
  uint64_t epochs = 0;
  uint64_t last_epoch_ns = 0;
  uint64_t max_epoch_ns = 0;
  uint64_t total_epoch_ns = 0;
  uint64_t moves = 0;  // chunk moves carried out (or handed to clients), in total
  uint64_t bytes_moved = 0;
  double migrations_per_s = 0;  // over the last epochs (moving average)
  uint64_t refusals = 0;        // client messages or table entries refused, in total
  uint32_t clients = 0;
  uint32_t nnodes = 0;
  uint32_t emulated = 0;
  uint32_t epoch_ms = 0;
  uint64_t chunks = 0;
  char policy[32] = {};
  char topology[64] = {};
  NodeStatus nodes[kMaxNodes] = {};
};

struct ClientStatus {
  int32_t pid = 0;
  uint32_t uid = 0;
  char comm[16] = {};
  uint32_t regions = 0;
  uint32_t refusals = 0;
  uint64_t chunks = 0;
  uint64_t bytes_per_tier[kMaxTiers] = {};
  int32_t priority = 0;
  uint32_t reserved = 0;
  uint64_t quota_bytes = 0;
};

inline constexpr uint32_t kMaxClientsListed = (kMaxMessage - 64) / sizeof(ClientStatus);
struct ClientsReply {
  MsgHeader h;
  uint32_t count = 0;       // entries that follow
  uint32_t total = 0;       // clients connected (more than count when the list was cut)
  ClientStatus clients[1];  // `count` entries; the message is sized to them
};
inline size_t clients_reply_size(uint32_t count) {
  return offsetof(ClientsReply, clients) + size_t{count} * sizeof(ClientStatus);
}

// The pool's state as a JSON document of `length` bytes (no terminating NUL).
struct PoolReply {
  MsgHeader h;
  uint32_t length = 0;
  char json[4];  // `length` bytes; the message is sized to them
};
inline constexpr uint32_t kMaxPoolJson = kMaxMessage - 64;
inline size_t pool_reply_size(uint32_t length) {
  return offsetof(PoolReply, json) + size_t{length};
}

// ---- The shared table (one memfd per client, sealed against shrinking and growing) --------

inline constexpr uint32_t kShmMagic = 0x53524954;  // "TIRS"
inline constexpr size_t kShmHeaderBytes = 4096;
inline constexpr uint32_t kMaxCapacity = 1u << 22;  // 4M chunks = 8 TiB at 2 MiB
inline constexpr uint32_t kMaxRequests = 1u << 14;

struct ShmHeader {
  uint32_t magic;
  uint32_t version;
  uint32_t capacity;
  uint32_t max_requests;
  uint32_t chunk_shift;
  uint32_t reserved0;
  // Client -> tierd: the chunk entries, written under a seqlock (odd = being written).
  std::atomic<uint32_t> seq;
  std::atomic<uint32_t> count;     // entries valid (<= capacity)
  std::atomic<uint32_t> overflow;  // 1 when the client had more chunks than capacity
  std::atomic<uint32_t> reserved1;
  std::atomic<uint64_t> region_generation;  // of the last region message sent before this table
  std::atomic<uint64_t> publishes;
  // tierd -> client: a batch of move requests (emulated topologies). tierd writes a batch only
  // when request_done == request_gen, then bumps request_gen; the client applies it, writes
  // each request's result, and sets request_done = request_gen.
  std::atomic<uint32_t> request_gen;
  std::atomic<uint32_t> request_count;
  std::atomic<uint32_t> request_done;
  std::atomic<uint32_t> reserved2;
  std::atomic<uint64_t> daemon_epoch;  // tierd's epoch when it last read the table
};
static_assert(sizeof(ShmHeader) <= kShmHeaderBytes);
static_assert(std::atomic<uint64_t>::is_always_lock_free &&
                  std::atomic<uint32_t>::is_always_lock_free,
              "cross-process atomics must be lock-free");

inline constexpr uint32_t kChunkPinned = 1u << 0;

struct ShmChunk {  // sorted by addr, non-overlapping
  uint64_t addr;
  uint64_t counts;  // the chunk table's raw counter: reads low 32 bits, writes high 32
  uint32_t bytes;
  int32_t node;
  uint32_t group;  // the client's group id (0 = none)
  uint32_t flags;  // kChunkPinned
};
static_assert(sizeof(ShmChunk) == 32);

// Request results (ShmRequest::result): a migrate::Outcome value, or one of these.
inline constexpr int32_t kRequestPending = -1;
inline constexpr int32_t kRequestInvalid = -2;  // the client refused it (not its chunk, bad node)

struct ShmRequest {
  uint64_t addr;
  uint32_t bytes;
  int32_t from;
  int32_t to;
  int32_t result;
  uint64_t reserved;
};
static_assert(sizeof(ShmRequest) == 32);

inline size_t shm_bytes(uint32_t capacity, uint32_t max_requests) {
  const size_t raw = kShmHeaderBytes + size_t{max_requests} * sizeof(ShmRequest) +
                     size_t{capacity} * sizeof(ShmChunk);
  return (raw + 4095) & ~size_t{4095};
}
inline ShmRequest *shm_requests(void *base) {
  return reinterpret_cast<ShmRequest *>(static_cast<char *>(base) + kShmHeaderBytes);
}
inline ShmChunk *shm_chunks(void *base, uint32_t max_requests) {
  return reinterpret_cast<ShmChunk *>(static_cast<char *>(base) + kShmHeaderBytes +
                                      size_t{max_requests} * sizeof(ShmRequest));
}

// ---- Validation (every byte from a peer goes through these) -------------------------------

// The size a message of `type` must have; 0 for an unknown type (kClientsReply is variable).
size_t message_size(MsgType type);
// Checks a received datagram: header magic, version, a known type, length field equal to
// `len` and to the type's size. TIER_EPROTO naming the offence.
Result<MsgType> check_message(const void *buf, size_t len);
// Checks a hello against the sender's credentials: pid equal to SO_PEERCRED's, sizes within
// limits, a chunk shift of 12..30, node count within kMaxNodes.
Status check_hello(const HelloMsg &hello, int32_t peer_pid);
// Checks a region: non-empty, no wrap, inside the 47-bit user address space.
Status check_region(uint64_t base, uint64_t length);

// A message of `type` with header filled in (length = sizeof(T)).
template <class T>
T make_message(MsgType type) {
  T m{};
  m.h.magic = kMagic;
  m.h.type = static_cast<uint16_t>(type);
  m.h.version = kVersion;
  m.h.length = sizeof(T);
  return m;
}
// Copies a NUL-terminated string into a fixed field (truncating, always terminated).
void copy_text(char *dst, size_t cap, const std::string &src);
template <size_t N>
void copy_text(char (&dst)[N], const std::string &src) {
  copy_text(dst, N, src);
}
// A fixed field as a string (stops at the first NUL or at the field's end).
template <size_t N>
std::string field_text(const char (&src)[N]) {
  size_t n = 0;
  while (n < N && src[n]) ++n;
  return std::string(src, n);
}

// ---- Socket helpers ---------------------------------------------------------------------

// The socket path a client or tierctl uses: $TIER_DAEMON_SOCKET, else kDefaultSocket.
std::string socket_path_from_env();
// A connected, close-on-exec SOCK_SEQPACKET socket; TIER_EOS with errno otherwise.
Result<int> connect_socket(const std::string &path);
// Sends one message, with `fd` attached (SCM_RIGHTS) when >= 0. MSG_NOSIGNAL; non-blocking
// when `dontwait`.
Status send_message(int sock, const void *msg, size_t len, int fd = -1, bool dontwait = false);
// Receives one message into buf (cap bytes); TIER_EPROTO for a truncated one, TIER_EOS with
// ECONNRESET at end of stream. Any descriptor that came with it is closed.
Result<size_t> recv_message(int sock, void *buf, size_t cap);

}  // namespace tier::daemon_proto
