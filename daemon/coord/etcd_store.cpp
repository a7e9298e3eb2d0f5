// etcd_store.cpp - see etcd_store.hpp.
#include "coord/etcd_store.hpp"

#include "coord/etcd_codec.hpp"
#include "coord/txn_check.hpp"

namespace tier::coord {

namespace {

using Clock = std::chrono::steady_clock;

// etcd syncs a watcher that starts in its history every 100 ms: a wait_events that may have
// history to catch up on waits at least this long for it, whatever its own timeout.
constexpr std::chrono::milliseconds kCatchUp{400};

bool writes(const Txn &t) {
  auto any = [](const std::vector<Op> &ops) {
    for (const Op &op : ops)
      if (!std::holds_alternative<Range>(op)) return true;
    return false;
  };
  return any(t.success) || any(t.failure);
}

}  // namespace

Result<std::unique_ptr<EtcdStore>> EtcdStore::open(Options options) {
  if (options.endpoints.empty()) return make_error(TIER_EINVAL, "etcd: no endpoint given");
  if (options.request_timeout.count() <= 0 || options.connect_timeout.count() <= 0)
    return make_error(TIER_EINVAL, "etcd: request and connect timeouts must be > 0 ms");
  std::vector<HttpEndpoint> eps;
  for (const std::string &url : options.endpoints) {
    Result<HttpEndpoint> ep = parse_endpoint(url);
    if (!ep) return std::move(ep).error();
    eps.push_back(std::move(ep).value());
  }
  return std::unique_ptr<EtcdStore>(new EtcdStore(std::move(options), std::move(eps)));
}

EtcdStore::EtcdStore(Options options, std::vector<HttpEndpoint> endpoints)
    : options_(std::move(options)), endpoints_(std::move(endpoints)) {}

std::string EtcdStore::describe() const {
  std::string s = "etcd";
  for (size_t i = 0; i < endpoints_.size(); ++i) s += (i ? "," : " ") + endpoints_[i].url;
  return s;
}

Result<std::string> EtcdStore::call(const char *what, const std::string &target,
                                    const std::string &body, Kind kind) {
  const HttpDeadline limits{options_.connect_timeout, Clock::now() + options_.request_timeout};
  const size_t first = preferred_.load(std::memory_order_relaxed);
  std::string failures;
  for (size_t n = 0; n < endpoints_.size(); ++n) {
    const size_t i = (first + n) % endpoints_.size();
    const HttpEndpoint &ep = endpoints_[i];
    if (Clock::now() >= limits.deadline) {
      failures += "; " + ep.url + ": not tried, out of time";
      continue;
    }
    Result<HttpReply> reply = http_post(ep, target, body, limits);
    if (!reply) {
      if (kind == Kind::kWrite && reply.error().sys_errno == kSent)
        return make_error(TIER_EBUSY, std::string("etcd ") + what + ": " + reply.error().message +
                                          " (outcome unknown: the request was sent)");
      failures += "; " + reply.error().message;
      continue;
    }
    if (reply->status != 200) {
      Error e = etcd::decode_error(std::string("etcd ") + what + " at " + ep.url, reply->status,
                                   reply->body);
      if (e.status == TIER_EBUSY && kind == Kind::kWrite) {
        // "request timed out", "leader changed", "server stopped": the proposal may still be
        // committed (the restart-under-load test sees it happen), so it is not resent.
        e.message += " (outcome unknown: the request was sent)";
        return e;
      }
      // A read refused as unavailable (no leader, stopping) can be asked elsewhere.
      if (e.status == TIER_EBUSY && n + 1 < endpoints_.size()) {
        failures += "; " + e.message;
        continue;
      }
      return e;
    }
    preferred_.store(i, std::memory_order_relaxed);
    return std::move(reply->body);
  }
  return make_error(TIER_EBUSY, std::string("etcd ") + what + ": no endpoint answered" +
                                    (failures.empty() ? "" : ": " + failures.substr(2)));
}

Result<TxnResult> EtcdStore::txn(const Txn &t) {
  if (Status s = check_txn(t); !s) return std::move(s).error();
  Result<std::string> body =
      call("txn", "/v3/kv/txn", etcd::encode_txn(t), writes(t) ? Kind::kWrite : Kind::kRead);
  if (!body) return std::move(body).error();
  return etcd::decode_txn(*body);
}

Result<std::vector<KeyValue>> EtcdStore::get(const std::string &key, bool prefix) {
  if (key.empty()) return make_error(TIER_EINVAL, "get: empty key");
  Result<std::string> body =
      call("range", "/v3/kv/range", etcd::encode_range(key, prefix), Kind::kRead);
  if (!body) return std::move(body).error();
  return etcd::decode_range(*body);
}

Result<Lease> EtcdStore::grant_lease(std::chrono::seconds ttl) {
  if (ttl.count() <= 0)
    return make_error(TIER_EINVAL,
                      "grant_lease: ttl " + std::to_string(ttl.count()) + " s, must be > 0");
  Result<std::string> body =
      call("lease grant", "/v3/lease/grant", etcd::encode_lease_grant(ttl), Kind::kWrite);
  if (!body) return std::move(body).error();
  return etcd::decode_lease_grant(*body);
}

Result<std::chrono::seconds> EtcdStore::keep_alive(LeaseId id) {
  if (id <= 0) return make_error(TIER_EINVAL, "keep_alive: lease id " + std::to_string(id));
  // The gateway's keep-alive is a stream; one request in, one reply line out. Refreshing is
  // idempotent, so every endpoint may be tried.
  const HttpDeadline limits{options_.connect_timeout, Clock::now() + options_.request_timeout};
  const size_t first = preferred_.load(std::memory_order_relaxed);
  std::string failures;
  for (size_t n = 0; n < endpoints_.size(); ++n) {
    const size_t i = (first + n) % endpoints_.size();
    Result<int64_t> ttl = make_error(TIER_EPROTO, "etcd lease keepalive: empty reply stream");
    bool timed_out = false;
    Result<HttpReply> reply = http_post_stream(
        endpoints_[i], "/v3/lease/keepalive", etcd::encode_lease_id(id), limits,
        [&](const std::string &line, Clock::time_point &) {
          if (line.empty()) return true;
          ttl = etcd::decode_keepalive(line);
          return false;
        },
        limits.deadline, &timed_out);
    if (!reply) {
      failures += "; " + reply.error().message;
      continue;
    }
    if (reply->status != 200) {
      Error e = etcd::decode_error("etcd lease keepalive at " + endpoints_[i].url, reply->status,
                                   reply->body);
      if (e.status == TIER_EBUSY) {
        failures += "; " + e.message;
        continue;
      }
      return e;
    }
    if (timed_out) {
      failures += "; " + endpoints_[i].url + ": lease keepalive: no reply in time";
      continue;
    }
    preferred_.store(i, std::memory_order_relaxed);
    if (!ttl) return std::move(ttl).error();
    if (*ttl <= 0)
      return make_error(TIER_ENODEV,
                        "keep_alive: lease " + std::to_string(id) + " not found (expired?)");
    return std::chrono::seconds(*ttl);
  }
  return make_error(TIER_EBUSY,
                    "etcd lease keepalive: no endpoint answered: " + failures.substr(2));
}

Status EtcdStore::revoke_lease(LeaseId id) {
  if (id <= 0) return make_error(TIER_EINVAL, "revoke_lease: lease id " + std::to_string(id));
  Result<std::string> body =
      call("lease revoke", "/v3/lease/revoke", etcd::encode_lease_id(id), Kind::kWrite);
  if (!body) {
    Error e = std::move(body).error();
    if (e.status == TIER_ENODEV)
      e.message =
          "revoke_lease: lease " + std::to_string(id) + " not found (expired?): " + e.message;
    return e;
  }
  return {};
}

Result<std::vector<Event>> EtcdStore::wait_events(const std::string &prefix, Revision after,
                                                  std::chrono::milliseconds timeout) {
  if (prefix.empty()) return make_error(TIER_EINVAL, "wait_events: empty prefix");
  if (after < 0)
    return make_error(TIER_EINVAL, "wait_events: revision " + std::to_string(after) + " < 0");
  if (timeout.count() < 0) return make_error(TIER_EINVAL, "wait_events: negative timeout");
  const auto start = Clock::now();
  const HttpDeadline limits{options_.connect_timeout, start + options_.request_timeout};
  const size_t first = preferred_.load(std::memory_order_relaxed);
  std::string failures;
  for (size_t n = 0; n < endpoints_.size(); ++n) {
    const size_t i = (first + n) % endpoints_.size();
    const HttpEndpoint &ep = endpoints_[i];
    Result<std::vector<Event>> out = std::vector<Event>{};
    bool created = false;
    bool timed_out = false;
    Result<HttpReply> reply = http_post_stream(
        ep, "/v3/watch", etcd::encode_watch(prefix, after + 1), limits,
        [&](const std::string &line, Clock::time_point &deadline) {
          if (line.empty()) return true;
          Result<etcd::WatchMessage> m = etcd::decode_watch(line);
          if (!m) {
            out = std::move(m).error();
            return false;
          }
          if (m->compact_revision > 0) {
            out = make_error(TIER_EBUSY, "wait_events: revision " + std::to_string(after + 1) +
                                             " is compacted (etcd's history starts at revision " +
                                             std::to_string(m->compact_revision) +
                                             "); re-read the prefix");
            return false;
          }
          if (m->canceled) {
            out = make_error(TIER_EPROTO,
                             "etcd watch at " + ep.url + " canceled: " + m->cancel_reason);
            return false;
          }
          if (m->created) {
            created = true;
            // From here on the caller's timeout counts; but with history after `after` to catch
            // up on, etcd gets its sync period to send it.
            deadline = start + timeout;
            if (after < m->header_revision) deadline = std::max(deadline, Clock::now() + kCatchUp);
          }
          if (m->events.empty()) return true;
          out = std::move(m->events);
          return false;
        },
        limits.deadline, &timed_out);  // until created; then the handler sets it
    if (!reply) {
      failures += "; " + reply.error().message;
      continue;
    }
    if (reply->status != 200) {
      Error e = etcd::decode_error("etcd watch at " + ep.url, reply->status, reply->body);
      if (e.status == TIER_EBUSY) {
        failures += "; " + e.message;
        continue;
      }
      return e;
    }
    if (!created && out.ok() && !timed_out) {
      failures += "; " + ep.url + ": watch stream ended before it was created";
      continue;
    }
    if (!created && timed_out) {
      failures += "; " + ep.url + ": watch not created in time";
      continue;
    }
    preferred_.store(i, std::memory_order_relaxed);
    return out;
  }
  return make_error(TIER_EBUSY, "etcd watch: no endpoint answered: " + failures.substr(2));
}

}  // namespace tier::coord
