// http_metrics.cpp - the HTTP side of the metrics endpoint (metrics.hpp), as a pure function
// so tierd's single event loop can serve it: no server thread, no HTTP library. Only what a
// Prometheus scraper (or curl) sends is understood; anything else is answered, never crashed
// on: the request comes from the network and is untrusted.
#include <string>

#include "metrics.hpp"

namespace tier::daemon {

namespace {

// RFC 9110 token characters (method names).
bool tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string respond(const char *status, std::string_view content_type, const std::string &body,
                    bool head_only, const char *extra_header = "") {
  std::string r = "HTTP/1.1 ";
  r += status;
  r += "\r\nContent-Type: ";
  r += content_type;
  r += "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  r += extra_header;
  r += "Connection: close\r\n\r\n";
  if (!head_only) r += body;
  return r;
}

std::string error_response(const char *status, const char *extra_header = "") {
  return respond(status, "text/plain; charset=utf-8", std::string(status) + "\n", false,
                 extra_header);
}

// Splits off one line; lines end in CRLF, or a bare LF (RFC 9112 2.2 lets a server accept it).
bool next_line(std::string_view &rest, std::string_view *line) {
  size_t nl = rest.find('\n');
  if (nl == std::string_view::npos) return false;
  *line = rest.substr(0, nl);
  if (!line->empty() && line->back() == '\r') line->remove_suffix(1);
  rest.remove_prefix(nl + 1);
  return true;
}

}  // namespace

size_t http_request_length(std::string_view buffer) {
  size_t crlf = buffer.find("\r\n\r\n");
  size_t lf = buffer.find("\n\n");
  size_t end = std::string_view::npos;
  if (crlf != std::string_view::npos) end = crlf + 4;
  if (lf != std::string_view::npos && lf + 2 < end) end = lf + 2;
  return end == std::string_view::npos ? 0 : end;
}

std::string http_metrics_response(std::string_view request, const MetricsRegistry &registry) {
  static constexpr const char *kBad = "400 Bad Request";
  if (request.size() > kMaxHttpRequest || http_request_length(request) == 0)
    return error_response(kBad);
  // RFC 9110 5.5: NUL in a field is rejected (a C-string consumer downstream would cut there).
  if (request.find('\0') != std::string_view::npos) return error_response(kBad);
  std::string_view rest = request, line;
  if (!next_line(rest, &line)) return error_response(kBad);

  // request-line = method SP request-target SP HTTP-version, single spaces.
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return error_response(kBad);
  std::string_view method = line.substr(0, sp1);
  std::string_view target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (method.empty() || target.empty() || target[0] != '/') return error_response(kBad);
  for (char c : method)
    if (!tchar(c)) return error_response(kBad);
  for (char c : target)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return error_response(kBad);
  if (version != "HTTP/1.1" && version != "HTTP/1.0") return error_response(kBad);

  bool has_host = false;
  while (next_line(rest, &line) && !line.empty()) {
    size_t colon = line.find(':');
    // No colon, an empty name, or obsolete line folding (leading whitespace): all malformed.
    if (colon == std::string_view::npos || colon == 0 || line[0] == ' ' || line[0] == '\t')
      return error_response(kBad);
    std::string_view name = line.substr(0, colon);
    for (char c : name)
      if (!tchar(c)) return error_response(kBad);
    if (name.size() == 4 && (name[0] | 0x20) == 'h' && (name[1] | 0x20) == 'o' &&
        (name[2] | 0x20) == 's' && (name[3] | 0x20) == 't')
      has_host = true;
  }
  if (version == "HTTP/1.1" && !has_host) return error_response(kBad);  // RFC 9112 3.2

  bool head = method == "HEAD";
  if (method != "GET" && !head)
    return error_response("405 Method Not Allowed", "Allow: GET, HEAD\r\n");
  std::string_view path = target.substr(0, target.find('?'));
  if (path != "/metrics") return error_response("404 Not Found");
  return respond("200 OK", "text/plain; version=0.0.4; charset=utf-8", registry.render(), head);
}

}  // namespace tier::daemon
