// etcd_codec.hpp - etcd v3's JSON gateway messages, to and from the Store types.
//
// The gateway speaks proto3 JSON: field names as in rpc.proto (snake_case; the camelCase
// forms are accepted too), 64-bit integers as strings, bytes as base64, enums by name, and
// every field at its default value left out (a missing "succeeded" is false, a missing "kvs"
// an empty range, an event without "type" a PUT). Errors come as {"error", "code",
// "message"} with a gRPC code. Decoding never throws: anything unexpected is TIER_EPROTO
// naming the message and the field. Pure functions; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "coord/store.hpp"

namespace tier::coord::etcd {

std::string encode_txn(const Txn &txn);
std::string encode_range(const std::string &key, bool prefix);
std::string encode_lease_grant(std::chrono::seconds ttl);
std::string encode_lease_id(LeaseId id);  // keepalive, revoke
std::string encode_watch(const std::string &prefix, Revision start);

// `txn` is the request the reply answers (to know which responses are ranges).
Result<TxnResult> decode_txn(const std::string &body);
Result<std::vector<KeyValue>> decode_range(const std::string &body);
Result<Lease> decode_lease_grant(const std::string &body);
// The TTL of a keep-alive reply (one line of the stream); 0 for an unknown or expired lease.
Result<int64_t> decode_keepalive(const std::string &line);

// One line of a watch stream.
struct WatchMessage {
  bool created = false;
  bool canceled = false;
  Revision header_revision = 0;
  Revision compact_revision = 0;  // > 0: the start revision was compacted
  std::string cancel_reason;
  std::vector<Event> events;
};
Result<WatchMessage> decode_watch(const std::string &line);

// A reply that was not 200, as an Error: the gRPC code mapped to a tier_status (NOT_FOUND ->
// TIER_ENODEV for leases, INVALID_ARGUMENT -> TIER_EINVAL, UNAVAILABLE / DEADLINE_EXCEEDED ->
// TIER_EBUSY, others TIER_EPROTO), the message etcd gave, prefixed with `what`.
Error decode_error(const std::string &what, unsigned http_status, const std::string &body);

}  // namespace tier::coord::etcd
