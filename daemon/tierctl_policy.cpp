// tierctl_policy.cpp - `tierctl policy get` and `tierctl policy set NAME` (set is an admin
// action: root or tierd's admin group). Single-threaded.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "json_writer.hpp"
#include "tierctl.hpp"
#include "tierctl_daemon.hpp"

namespace tier::cli {

namespace dp = tier::daemon_proto;

int cmd_policy(const GlobalOptions &options, const std::vector<std::string> &args) {
  const bool get = args.size() == 1 && args[0] == "get";
  const bool set = args.size() == 2 && args[0] == "set";
  if (!get && !set) {
    std::fprintf(stderr, "usage: tierctl policy get | policy set NAME\n");
    return 2;
  }
  dp::CtlMsg m{};
  if (set) dp::copy_text(m.name, args[1]);
  Result<std::vector<char>> r =
      daemon_request(options, get ? dp::MsgType::kCtlPolicyGet : dp::MsgType::kCtlPolicySet, m);
  if (!r) {
    std::fprintf(stderr, "tierctl policy: %s\n", r.error().message.c_str());
    return 1;
  }
  dp::TextMsg t;
  std::memcpy(&t, r->data(), std::min(r->size(), sizeof t));
  const std::string text = dp::field_text(t.text);
  const std::string name = text.substr(0, text.find('\t'));
  const std::string available =
      text.find('\t') == std::string::npos ? "" : text.substr(text.find('\t') + 1);
  if (options.json) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.key("policy").value(set ? args[1] : name);
    if (get) {
      w.key("available").begin_array();
      size_t at = 0;
      while (at <= available.size() && !available.empty()) {
        const size_t comma = available.find(',', at);
        w.value(available.substr(at, comma == std::string::npos ? std::string::npos : comma - at));
        if (comma == std::string::npos) break;
        at = comma + 1;
      }
      w.end_array();
    }
    w.end_object();
    std::printf("%s\n", out.c_str());
  } else if (get) {
    std::printf("%s\navailable: %s\n", name.c_str(), available.c_str());
  } else {
    std::printf("policy set to %s\n", args[1].c_str());
  }
  return 0;
}

}  // namespace tier::cli
