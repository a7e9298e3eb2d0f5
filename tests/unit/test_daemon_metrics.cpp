// test_daemon_metrics.cpp - the Prometheus registry's exact text, escaping, counters,
// ordering and refusals, and the HTTP responder's answers (status, headers, Content-Length).
#include <catch2/catch.hpp>

#include <cmath>
#include <limits>

#include "metrics.hpp"

using namespace tier::daemon;

namespace {

// Splits an HTTP response into its head (through the blank line) and body.
std::pair<std::string, std::string> split(const std::string &response) {
  size_t end = response.find("\r\n\r\n");
  REQUIRE(end != std::string::npos);
  return {response.substr(0, end + 4), response.substr(end + 4)};
}

std::string header_value(const std::string &head, const std::string &name) {
  size_t at = head.find("\r\n" + name + ": ");
  if (at == std::string::npos) return "";
  at += name.size() + 4;
  return head.substr(at, head.find("\r\n", at) - at);
}

// A registry is not movable (it owns a mutex): fill one in place.
void fill_small(MetricsRegistry &r) {
  r.set_gauge("tier_node_used_bytes", "Bytes placed on the node.", {{"node", "1"}, {"kind", "cxl"}},
              1073741824);
  r.set_gauge("tier_node_used_bytes", "Bytes placed on the node.",
              {{"node", "0"}, {"kind", "dram"}}, 4096);
  r.add_counter("tier_epochs_total", "Placement epochs run.", {}, 3);
  r.set_gauge("tier_clients", "Connected clients.", {}, 2);
}

}  // namespace

TEST_CASE("render gives the exact text format, families and series sorted", "[daemon][metrics]") {
  MetricsRegistry r;
  fill_small(r);
  const std::string expected =
      "# HELP tier_clients Connected clients.\n"
      "# TYPE tier_clients gauge\n"
      "tier_clients 2\n"
      "# HELP tier_epochs_total Placement epochs run.\n"
      "# TYPE tier_epochs_total counter\n"
      "tier_epochs_total 3\n"
      "# HELP tier_node_used_bytes Bytes placed on the node.\n"
      "# TYPE tier_node_used_bytes gauge\n"
      "tier_node_used_bytes{kind=\"cxl\",node=\"1\"} 1073741824\n"
      "tier_node_used_bytes{kind=\"dram\",node=\"0\"} 4096\n";
  CHECK(r.render() == expected);
  CHECK(r.render() == r.render());
  CHECK(r.rejected() == 0);
  CHECK(MetricsRegistry().render().empty());
}

TEST_CASE("label order does not make a new series; gauges overwrite", "[daemon][metrics]") {
  MetricsRegistry r;
  r.set_gauge("g", "h", {{"a", "1"}, {"b", "2"}}, 1);
  r.set_gauge("g", "h", {{"b", "2"}, {"a", "1"}}, 5);
  CHECK(r.render() == "# HELP g h\n# TYPE g gauge\ng{a=\"1\",b=\"2\"} 5\n");
}

TEST_CASE("counters accumulate per series and never go down", "[daemon][metrics]") {
  MetricsRegistry r;
  r.add_counter("tier_migrated_bytes_total", "Bytes migrated.", {{"to", "0"}}, 4096);
  r.add_counter("tier_migrated_bytes_total", "Bytes migrated.", {{"to", "0"}}, 8192);
  r.add_counter("tier_migrated_bytes_total", "Bytes migrated.", {{"to", "2"}}, 0);
  r.add_counter("tier_migrated_bytes_total", "Bytes migrated.", {{"to", "0"}}, -1);
  r.add_counter("tier_migrated_bytes_total", "Bytes migrated.", {{"to", "0"}}, std::nan(""));
  CHECK(r.render() ==
        "# HELP tier_migrated_bytes_total Bytes migrated.\n"
        "# TYPE tier_migrated_bytes_total counter\n"
        "tier_migrated_bytes_total{to=\"0\"} 12288\n"
        "tier_migrated_bytes_total{to=\"2\"} 0\n");
  CHECK(r.rejected() == 2);
  CHECK(r.last_error() == "tier_migrated_bytes_total: a counter delta must be >= 0");
}

TEST_CASE("label values and help text are escaped", "[daemon][metrics]") {
  MetricsRegistry r;
  r.set_gauge("tier_x", "line one\nback\\slash \"quoted\"", {{"comm", "a\"b\\c\nd"}}, 1);
  CHECK(r.render() ==
        "# HELP tier_x line one\\nback\\\\slash \"quoted\"\n"
        "# TYPE tier_x gauge\n"
        "tier_x{comm=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("values: integers plain, fractions shortest, specials spelt as Prometheus does",
          "[daemon][metrics]") {
  MetricsRegistry r;
  r.set_gauge("v", "h", {{"k", "a"}}, 0.1);
  r.set_gauge("v", "h", {{"k", "b"}}, -2);
  r.set_gauge("v", "h", {{"k", "c"}}, std::numeric_limits<double>::infinity());
  r.set_gauge("v", "h", {{"k", "d"}}, -std::numeric_limits<double>::infinity());
  r.set_gauge("v", "h", {{"k", "e"}}, std::nan(""));
  r.set_gauge("v", "h", {{"k", "f"}}, 1e300);
  r.set_gauge("v", "h", {{"k", "g"}}, 0.0125);
  CHECK(r.render() ==
        "# HELP v h\n# TYPE v gauge\n"
        "v{k=\"a\"} 0.1\n"
        "v{k=\"b\"} -2\n"
        "v{k=\"c\"} +Inf\n"
        "v{k=\"d\"} -Inf\n"
        "v{k=\"e\"} NaN\n"
        "v{k=\"f\"} 1e+300\n"
        "v{k=\"g\"} 0.0125\n");
}

TEST_CASE("invalid names, duplicate labels and type clashes change nothing", "[daemon][metrics]") {
  CHECK(MetricsRegistry::valid_metric_name("tier_node_used_bytes"));
  CHECK(MetricsRegistry::valid_metric_name("job:rate5m"));
  CHECK(MetricsRegistry::valid_metric_name("_x"));
  CHECK_FALSE(MetricsRegistry::valid_metric_name(""));
  CHECK_FALSE(MetricsRegistry::valid_metric_name("9lives"));
  CHECK_FALSE(MetricsRegistry::valid_metric_name("tier-used"));
  CHECK_FALSE(MetricsRegistry::valid_metric_name("tier used"));
  CHECK(MetricsRegistry::valid_label_name("node"));
  CHECK_FALSE(MetricsRegistry::valid_label_name("__name__"));
  CHECK_FALSE(MetricsRegistry::valid_label_name("a:b"));
  CHECK_FALSE(MetricsRegistry::valid_label_name("1a"));

  MetricsRegistry r;
  fill_small(r);
  const std::string before = r.render();
  r.set_gauge("tier-bad", "h", {}, 1);
  CHECK(r.last_error() == "invalid metric name \"tier-bad\"");
  r.set_gauge("tier_ok", "h", {{"__x", "1"}}, 1);
  CHECK(r.last_error() == "tier_ok: invalid label name \"__x\"");
  r.set_gauge("tier_ok", "h", {{"a", "1"}, {"a", "2"}}, 1);
  CHECK(r.last_error() == "tier_ok: label \"a\" given twice");
  r.add_counter("tier_clients", "h", {}, 1);
  CHECK(r.last_error() == "tier_clients: already registered as a gauge");
  r.set_gauge("tier_epochs_total", "h", {}, 1);
  CHECK(r.last_error() == "tier_epochs_total: already registered as a counter");
  CHECK(r.rejected() == 5);
  CHECK(r.render() == before);
}

TEST_CASE("remove drops a series, and an emptied family", "[daemon][metrics]") {
  MetricsRegistry r;
  fill_small(r);
  r.remove("tier_node_used_bytes", {{"kind", "cxl"}, {"node", "1"}});
  CHECK(r.render().find("node=\"1\"") == std::string::npos);
  CHECK(r.render().find("node=\"0\"") != std::string::npos);
  r.remove("tier_clients", {});
  CHECK(r.render().find("tier_clients") == std::string::npos);
  r.remove("no_such_metric", {});
}

TEST_CASE("GET /metrics answers 200 with the exposition and an exact Content-Length",
          "[daemon][metrics][http]") {
  MetricsRegistry r;
  fill_small(r);
  for (const char *req :
       {"GET /metrics HTTP/1.1\r\nHost: localhost:9464\r\nAccept: */*\r\n\r\n",
        "GET /metrics HTTP/1.0\r\n\r\n", "GET /metrics?x=1 HTTP/1.0\n\n",
        "GET /metrics HTTP/1.1\r\nhost:x\r\nUser-Agent: Prometheus/2.45\r\n\r\n"}) {
    INFO(req);
    std::string resp = http_metrics_response(req, r);
    auto [head, body] = split(resp);
    CHECK(head.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(header_value(head, "Content-Type") == "text/plain; version=0.0.4; charset=utf-8");
    CHECK(header_value(head, "Content-Length") == std::to_string(body.size()));
    CHECK(header_value(head, "Connection") == "close");
    CHECK(body == r.render());
  }
  // HEAD: the same headers, no body.
  std::string head_resp = http_metrics_response("HEAD /metrics HTTP/1.0\r\n\r\n", r);
  auto [head, body] = split(head_resp);
  CHECK(body.empty());
  CHECK(header_value(head, "Content-Length") == std::to_string(r.render().size()));
}

TEST_CASE("other paths 404, other methods 405, malformed requests 400", "[daemon][metrics][http]") {
  MetricsRegistry r;
  fill_small(r);
  auto status = [&](std::string_view req) {
    std::string resp = http_metrics_response(req, r);
    auto [head, body] = split(resp);
    CHECK(header_value(head, "Content-Length") == std::to_string(body.size()));
    CHECK(header_value(head, "Connection") == "close");
    return head.substr(0, head.find("\r\n"));
  };
  CHECK(status("GET / HTTP/1.1\r\nHost: h\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status("GET /metricsx HTTP/1.1\r\nHost: h\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status("GET /metrics/ HTTP/1.0\r\n\r\n") == "HTTP/1.1 404 Not Found");
  CHECK(status("POST /metrics HTTP/1.1\r\nHost: h\r\n\r\n") == "HTTP/1.1 405 Method Not Allowed");
  CHECK(status("DELETE /x HTTP/1.0\r\n\r\n") == "HTTP/1.1 405 Method Not Allowed");
  std::string r405 = http_metrics_response("PUT /metrics HTTP/1.0\r\n\r\n", r);
  CHECK(header_value(split(r405).first, "Allow") == "GET, HEAD");

  const char *bad[] = {
      "",
      "GET /metrics HTTP/1.1",           // no line end at all
      "GET /metrics HTTP/1.0\r\n",       // no blank line
      "GET /metrics\r\n\r\n",            // HTTP/0.9 style
      "GET  /metrics HTTP/1.0\r\n\r\n",  // double space
      "GET /metrics HTTP/1.0 extra\r\n\r\n",
      "GET metrics HTTP/1.0\r\n\r\n",  // not origin-form
      "GET /metrics HTTP/2.0\r\n\r\n",
      "GET /metrics HTTP/1.1\r\n\r\n",  // 1.1 without Host
      "GET /metrics HTTP/1.0\r\nNoColonHere\r\n\r\n",
      "GET /metrics HTTP/1.0\r\n: empty name\r\n\r\n",
      "GET /metrics HTTP/1.0\r\nA: b\r\n  folded\r\n\r\n",
      "G(T /metrics HTTP/1.0\r\n\r\n",
      "GET /met\x01rics HTTP/1.0\r\n\r\n",
  };
  for (const char *req : bad) {
    INFO(req);
    CHECK(status(req) == "HTTP/1.1 400 Bad Request");
  }
  std::string huge =
      "GET /metrics HTTP/1.0\r\nX: " + std::string(kMaxHttpRequest, 'a') + "\r\n\r\n";
  CHECK(status(huge) == "HTTP/1.1 400 Bad Request");
  // RFC 9110 5.5: NUL in a field value is to be rejected (or replaced); we reject.
  const char nul_req[] = "GET /metrics HTTP/1.0\r\nX: a\0b\r\n\r\n";
  CHECK(status(std::string_view(nul_req, sizeof nul_req - 1)) == "HTTP/1.1 400 Bad Request");
}

TEST_CASE("http_request_length finds the end of the request head", "[daemon][metrics][http]") {
  CHECK(http_request_length("") == 0);
  CHECK(http_request_length("GET /metrics HTTP/1.1\r\nHost: x\r\n") == 0);
  CHECK(http_request_length("GET / HTTP/1.0\r\n\r\n") == 18);
  CHECK(http_request_length("GET / HTTP/1.0\n\nrest") == 16);
  CHECK(http_request_length("GET / HTTP/1.0\r\n\r\nGET / HTTP/1.0\r\n\r\n") == 18);
}
