// tierctl_migrate.cpp - `tierctl migrate --pid P --range A-B --to NODE`: moves a client's
// registered memory in [A, B) to a node now (an admin action). A and B take 0x-hex or decimal.
// Single-threaded.
#include <algorithm>
#include <cstdio>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "json_writer.hpp"
#include "tierctl.hpp"
#include "tierctl_daemon.hpp"

namespace tier::cli {

namespace dp = tier::daemon_proto;

namespace {

bool parse_u64(const std::string &s, uint64_t *out) {
  if (s.empty()) return false;
  char *end = nullptr;
  errno = 0;
  *out = std::strtoull(s.c_str(), &end, 0);
  return errno == 0 && *end == '\0';
}

}  // namespace

int cmd_migrate(const GlobalOptions &options, const std::vector<std::string> &args) {
  dp::CtlMsg m{};
  bool have_pid = false, have_range = false, have_to = false;
  for (size_t i = 0; i + 1 < args.size(); i += 2) {
    uint64_t v = 0;
    if (args[i] == "--pid" && parse_u64(args[i + 1], &v) && v > 0 && v < (1u << 31)) {
      m.pid = static_cast<int32_t>(v), have_pid = true;
    } else if (args[i] == "--to" && parse_u64(args[i + 1], &v) && v < 65536) {
      m.node = static_cast<int32_t>(v), have_to = true;
    } else if (args[i] == "--range") {
      const std::string r = args[i + 1];
      const size_t dash = r.find('-');
      have_range = dash != std::string::npos && parse_u64(r.substr(0, dash), &m.start) &&
                   parse_u64(r.substr(dash + 1), &m.end) && m.start < m.end;
      if (!have_range) break;
    } else {
      break;
    }
  }
  if (!have_pid || !have_range || !have_to || args.size() != 6) {
    std::fprintf(stderr, "usage: tierctl migrate --pid PID --range START-END --to NODE\n");
    return 2;
  }
  Result<std::vector<char>> r = daemon_request(options, dp::MsgType::kCtlMigrate, m);
  if (!r) {
    std::fprintf(stderr, "tierctl migrate: %s\n", r.error().message.c_str());
    return 1;
  }
  dp::TextMsg t;
  std::memcpy(&t, r->data(), std::min(r->size(), sizeof t));
  if (options.json) {
    std::string out;
    JsonWriter w(out);
    w.begin_object().key("result").value(dp::field_text(t.text)).end_object();
    std::printf("%s\n", out.c_str());
  } else {
    std::printf("%s\n", dp::field_text(t.text).c_str());
  }
  return 0;
}

}  // namespace tier::cli
