// http_client.cpp - see http_client.hpp.
#include "coord/http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tier::coord {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

constexpr uint64_t kBodyLimit = 64ull << 20;  // a range over every key of a large pool

Error failure(const HttpEndpoint &ep, const std::string &step, const beast::error_code &ec,
              bool sent) {
  std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
  Error e = make_error(TIER_EBUSY, ep.url + ": " + step + ": " + why);
  if (sent) e.sys_errno = kSent;
  return e;
}

// One connection: resolves, connects and sends; each step runs the io_context until the step's
// handler has run (the stream's timer makes every step end by its deadline).
class Connection {
 public:
  explicit Connection(const HttpEndpoint &ep) : ep_(ep), stream_(ioc_) {}

  Status open(const HttpDeadline &limits) {
    beast::error_code ec;
    net::ip::address addr = net::ip::make_address(ep_.host, ec);
    tcp::resolver::results_type endpoints;
    if (ec) {
      // A name: resolve it, bounded by the connect timeout as well.
      tcp::resolver resolver(ioc_);
      bool done = false;
      resolver.async_resolve(ep_.host, ep_.port,
                             [&](const beast::error_code &e, tcp::resolver::results_type r) {
                               ec = e;
                               endpoints = std::move(r);
                               done = true;
                             });
      ioc_.run_for(limits.connect_timeout);
      if (!done) {
        resolver.cancel();
        return failure(ep_, "resolve", beast::error::timeout, false);
      }
      ioc_.restart();
      if (ec) return failure(ep_, "resolve", ec, false);
    } else {
      endpoints = tcp::resolver::results_type::create(
          tcp::endpoint(addr, static_cast<unsigned short>(std::stoi(ep_.port))), ep_.host,
          ep_.port);
    }
    stream_.expires_after(std::min<std::chrono::steady_clock::duration>(
        limits.connect_timeout, limits.deadline - std::chrono::steady_clock::now()));
    stream_.async_connect(endpoints,
                          [&](const beast::error_code &e, const tcp::endpoint &) { ec = e; });
    run();
    if (ec) return failure(ep_, "connect", ec, false);
    stream_.socket().set_option(tcp::no_delay(true), ec);
    return {};
  }

  Status send(const std::string &target, const std::string &body,
              std::chrono::steady_clock::time_point deadline) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, ep_.host + ":" + ep_.port);
    req.set(http::field::content_type, "application/json");
    req.keep_alive(false);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    stream_.expires_at(deadline);
    http::async_write(stream_, req, [&](const beast::error_code &e, size_t) { ec = e; });
    run();
    // A partial write may still have reached the server whole enough to act on.
    if (ec) return failure(ep_, "send " + target, ec, true);
    return {};
  }

  Result<HttpReply> receive(const std::string &target,
                            std::chrono::steady_clock::time_point deadline) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    beast::error_code ec;
    stream_.expires_at(deadline);
    http::async_read(stream_, buffer_, parser, [&](const beast::error_code &e, size_t) { ec = e; });
    run();
    if (ec) return failure(ep_, "reply to " + target, ec, true);
    return HttpReply{parser.get().result_int(), std::move(parser.get().body())};
  }

  Result<HttpReply> receive_stream(const std::string &target,
                                   std::chrono::steady_clock::time_point header_deadline,
                                   std::chrono::steady_clock::time_point stream_deadline,
                                   const LineHandler &on_line, bool *timed_out) {
    *timed_out = false;
    http::response_parser<http::string_body> parser;
    parser.body_limit(kBodyLimit);
    beast::error_code ec;
    stream_.expires_at(header_deadline);
    http::async_read_header(stream_, buffer_, parser,
                            [&](const beast::error_code &e, size_t) { ec = e; });
    run();
    if (ec) return failure(ep_, "reply to " + target, ec, true);
    const unsigned status = parser.get().result_int();
    if (status != 200 || !parser.chunked()) {
      // An error reply (or a whole one): read it all.
      stream_.expires_at(header_deadline);
      http::async_read(stream_, buffer_, parser,
                       [&](const beast::error_code &e, size_t) { ec = e; });
      run();
      if (ec) return failure(ep_, "reply to " + target, ec, true);
      if (status == 200) {
        std::string body = std::move(parser.get().body());
        size_t at = 0;
        for (size_t nl; (nl = body.find('\n', at)) != std::string::npos; at = nl + 1)
          if (!on_line(body.substr(at, nl - at), stream_deadline)) break;
        if (at < body.size()) on_line(body.substr(at), stream_deadline);
        return HttpReply{status, {}};
      }
      return HttpReply{status, std::move(parser.get().body())};
    }
    std::string pending;
    // Beast keeps a reference to the callback: it must outlive the reads below.
    auto on_chunk = [&](uint64_t, beast::string_view piece, beast::error_code &) {
      pending.append(piece.data(), piece.size());
      return piece.size();
    };
    parser.on_chunk_body(on_chunk);
    for (;;) {
      size_t nl;
      while ((nl = pending.find('\n')) != std::string::npos) {
        std::string line = pending.substr(0, nl);
        pending.erase(0, nl + 1);
        if (!on_line(line, stream_deadline)) return HttpReply{status, {}};
      }
      if (parser.is_done()) {
        if (!pending.empty()) on_line(pending, stream_deadline);
        return HttpReply{status, {}};
      }
      if (std::chrono::steady_clock::now() >= stream_deadline) {
        *timed_out = true;
        return HttpReply{status, {}};
      }
      stream_.expires_at(stream_deadline);
      http::async_read_some(stream_, buffer_, parser,
                            [&](const beast::error_code &e, size_t) { ec = e; });
      run();
      if (ec == beast::error::timeout) {
        *timed_out = true;
        return HttpReply{status, {}};
      }
      if (ec) return failure(ep_, "stream of " + target, ec, true);
    }
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  const HttpEndpoint &ep_;
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
};

}  // namespace

Result<HttpEndpoint> parse_endpoint(const std::string &url) {
  const std::string scheme = "http://";
  if (url.compare(0, scheme.size(), scheme) != 0)
    return make_error(TIER_EINVAL, "etcd endpoint `" + url + "`: expected http://host:port");
  std::string rest = url.substr(scheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.empty() || rest.find('/') != std::string::npos)
    return make_error(TIER_EINVAL, "etcd endpoint `" + url + "`: expected http://host:port");
  HttpEndpoint ep;
  ep.url = url;
  std::string host = rest, port = "2379";
  if (rest.front() == '[') {  // [v6]:port
    const size_t close = rest.find(']');
    if (close == std::string::npos)
      return make_error(TIER_EINVAL, "etcd endpoint `" + url + "`: unclosed [");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size()) {
      if (rest[close + 1] != ':')
        return make_error(TIER_EINVAL, "etcd endpoint `" + url + "`: expected : after ]");
      port = rest.substr(close + 2);
    }
  } else if (const size_t colon = rest.rfind(':'); colon != std::string::npos) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
  }
  const bool digits = !port.empty() && port.size() <= 5 &&
                      port.find_first_not_of("0123456789") == std::string::npos;
  if (host.empty() || !digits || std::stoi(port) == 0 || std::stoi(port) > 65535)
    return make_error(TIER_EINVAL, "etcd endpoint `" + url + "`: bad host or port");
  ep.host = host;
  ep.port = port;
  return ep;
}

Result<HttpReply> http_post(const HttpEndpoint &ep, const std::string &target,
                            const std::string &body, const HttpDeadline &limits) {
  Connection c(ep);
  if (Status s = c.open(limits); !s) return std::move(s).error();
  if (Status s = c.send(target, body, limits.deadline); !s) return std::move(s).error();
  return c.receive(target, limits.deadline);
}

Result<HttpReply> http_post_stream(const HttpEndpoint &ep, const std::string &target,
                                   const std::string &body, const HttpDeadline &limits,
                                   const LineHandler &on_line,
                                   std::chrono::steady_clock::time_point stream_deadline,
                                   bool *timed_out) {
  Connection c(ep);
  if (Status s = c.open(limits); !s) return std::move(s).error();
  if (Status s = c.send(target, body, limits.deadline); !s) return std::move(s).error();
  return c.receive_stream(target, limits.deadline, stream_deadline, on_line, timed_out);
}

}  // namespace tier::coord
