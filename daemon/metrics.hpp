// metrics.hpp - a small Prometheus registry and its text exposition (format 0.0.4).
//
// Written here rather than taken from prometheus-cpp, which Debian bookworm does not package;
// tierd needs gauges and counters rendered as text, which is ~200 lines, not a vendored
// library with its own HTTP server and thread (docs/operations.md, "Metrics").
//
// Names follow Prometheus rules: metric [a-zA-Z_:][a-zA-Z0-9_:]*, label [a-zA-Z_][a-zA-Z0-9_]*
// and not starting with "__" (reserved). tierd's names are listed in docs/operations.md: all
// start with "tier_", counters end in "_total", sizes are "_bytes", durations "_seconds".
// A call with an invalid name, a duplicate label name, a name already used with the other
// type, or a negative or NaN counter delta changes nothing; rejected() counts such calls
// and last_error() says why (the daemon logs it: it is a programming error, not input).
//
// render() is deterministic: families by name, series by their sorted label set, so two
// renders of the same state are byte-identical. Thread-safe (one mutex).
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tier::daemon {

// Label name/value pairs, in any order (the registry sorts them by name).
using Labels = std::vector<std::pair<std::string, std::string>>;

class MetricsRegistry {
 public:
  // Sets a gauge series to value. help is kept from the first call of a family.
  void set_gauge(std::string name, std::string help, Labels labels, double value);
  // Adds delta (>= 0) to a counter series, creating it at 0 first.
  void add_counter(std::string name, std::string help, Labels labels, double delta);
  // The whole registry in the text exposition format, ending in a newline ("" if empty).
  std::string render() const;

  // Additions to the agreed interface:
  // Drops one series (e.g. a client's when it disconnects); a family left empty is dropped.
  void remove(const std::string &name, const Labels &labels);
  size_t rejected() const;
  std::string last_error() const;

  static bool valid_metric_name(std::string_view name);
  static bool valid_label_name(std::string_view name);

 private:
  enum class Type { kGauge, kCounter };
  struct Family {
    Type type;
    std::string help;
    std::map<Labels, double> series;  // key: labels sorted by name
  };
  // Checks and normalises; returns the series slot, or null after recording the error.
  double *slot(std::string &name, std::string &help, Labels &labels, Type type);
  void reject(std::string why);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;
  size_t rejected_ = 0;
  std::string last_error_;
};

// Answers one HTTP/1.x request (the bytes up to and including the blank line; a body is not
// expected). GET or HEAD /metrics (a query string is ignored) -> 200 with
// "Content-Type: text/plain; version=0.0.4; charset=utf-8" and registry.render(); another
// path -> 404; another method -> 405 with "Allow: GET, HEAD"; a malformed request (bad
// request line, unknown HTTP version, header line without a colon, HTTP/1.1 without Host,
// no blank line at the end) -> 400. Always a full response with Content-Length and
// "Connection: close": the caller writes it and closes. Pure; thread-safe.
std::string http_metrics_response(std::string_view request, const MetricsRegistry &registry);

// For the caller's read loop: the length of the request head (through the blank line) once
// `buffer` holds it, else 0. Stop reading and answer 400 (http_metrics_response on what was
// read) once a buffer of kMaxHttpRequest bytes has no complete head.
size_t http_request_length(std::string_view buffer);
inline constexpr size_t kMaxHttpRequest = 8192;

}  // namespace tier::daemon
