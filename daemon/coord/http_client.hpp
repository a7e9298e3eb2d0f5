// http_client.hpp - HTTP/1.1 POSTs with a deadline, for etcd's JSON gateway.
//
// Each call opens its own TCP connection, sends one request and reads the reply, all on an
// io_context of its own, so calls from different threads share nothing and a call can never
// wait past its deadline: connecting is bounded by `connect_timeout`, everything by
// `deadline` (Boost.Beast's tcp_stream closes the socket when its timer fires).
// A streamed reply (etcd's watch and lease keep-alive, one JSON message per line in a chunked
// body) is read line by line through a callback.
//
// Errors are TIER_EBUSY, naming the endpoint, the step that failed and why ("http://127.0.0.1:
// 2379: connect: Connection refused"). Error::sys_errno is kSent when the request had been
// sent in full before the failure: the server may have acted on it. Thread-safe (no state).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include "common/result.hpp"

namespace tier::coord {

struct HttpEndpoint {
  std::string url;   // as configured, for messages: "http://127.0.0.1:2379"
  std::string host;  // "127.0.0.1", "etcd-1.example"
  std::string port;  // "2379"
};

// Parses "http://host:port" (port defaults to 2379, etcd's client port). TIER_EINVAL for
// anything else (https is not supported: TLS would need OpenSSL set-up that etcd clusters
// for a pool on one rack do not use).
Result<HttpEndpoint> parse_endpoint(const std::string &url);

struct HttpReply {
  unsigned status = 0;  // 200, 404, ...
  std::string body;
};

// Error::sys_errno of a failure that happened after the request was sent (see the banner).
inline constexpr int kSent = -1;

struct HttpDeadline {
  std::chrono::milliseconds connect_timeout;
  std::chrono::steady_clock::time_point deadline;
};

Result<HttpReply> http_post(const HttpEndpoint &ep, const std::string &target,
                            const std::string &body, const HttpDeadline &limits);

// A streamed POST: `on_line` is called for each line of the body (without the newline) until
// it returns false. `stream_deadline` bounds the wait for lines after the headers arrived (which
// must come by limits.deadline); a handler may move it (etcd's watch: catching up on history
// takes etcd up to its 100 ms sync period). Reaching it is not an error: the reply's status is
// returned, *timed_out set. A reply that is not 200 comes back whole in HttpReply::body, with
// on_line never called.
using LineHandler =
    std::function<bool(const std::string &line, std::chrono::steady_clock::time_point &deadline)>;
Result<HttpReply> http_post_stream(const HttpEndpoint &ep, const std::string &target,
                                   const std::string &body, const HttpDeadline &limits,
                                   const LineHandler &on_line,
                                   std::chrono::steady_clock::time_point stream_deadline,
                                   bool *timed_out);

}  // namespace tier::coord
