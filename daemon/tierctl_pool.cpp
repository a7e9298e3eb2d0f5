// tierctl_pool.cpp - `tierctl pool`: tierd's CXL pool as tierd's host sees it: the device, this
// host (generation, manager role, demand, capacity), every host with its lease and demand, the
// extents by host and tag, pending give-backs. --json prints tierd's document as it came.
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tierctl.hpp"
#include "tierctl_daemon.hpp"
#include "topology/size_parse.hpp"

namespace tier::cli {

namespace dp = tier::daemon_proto;

int cmd_pool(const GlobalOptions &options, const std::vector<std::string> &args) {
  if (!args.empty()) {
    std::fprintf(stderr, "tierctl pool: unexpected argument \"%s\"\n", args.front().c_str());
    return 2;
  }
  Result<std::vector<char>> r = daemon_request(options, dp::MsgType::kCtlPool);
  if (!r) {
    std::fprintf(stderr, "tierctl pool: %s\n", r.error().message.c_str());
    return 1;
  }
  uint32_t n = 0;
  std::memcpy(&n, r->data() + offsetof(dp::PoolReply, length), sizeof n);
  const std::string text(r->data() + offsetof(dp::PoolReply, json), n);
  if (options.json) {
    std::printf("%s\n", text.c_str());
    return 0;
  }
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    std::fprintf(stderr, "tierctl pool: tierd's reply is not a JSON object\n");
    return 1;
  }
  auto u64 = [](const nlohmann::json &o, const char *k) {
    return o.contains(k) && o[k].is_number() ? o[k].get<uint64_t>() : uint64_t{0};
  };
  auto str = [](const nlohmann::json &o, const char *k) {
    return o.contains(k) && o[k].is_string() ? o[k].get<std::string>() : std::string();
  };
  const nlohmann::json &me = j["this_host"];
  std::printf("device   %s, generation %llu\n", str(j, "device").c_str(),
              static_cast<unsigned long long>(u64(j, "device_generation")));
  std::printf("store    %s; manager: %s\n", str(j, "store").c_str(),
              str(j, "manager").empty() ? "none" : str(j, "manager").c_str());
  std::printf(
      "host     %llu, generation %llu%s%s; pool node %lld; demand %s, held %s, plans "
      "fill %s; give-backs %llu done, %llu declined\n",
      static_cast<unsigned long long>(u64(me, "host")),
      static_cast<unsigned long long>(u64(me, "generation")),
      me.value("manager", false) ? ", manager" : "", me.value("fenced", false) ? ", FENCED" : "",
      static_cast<long long>(me.value("node", int64_t{-1})),
      format_bytes(u64(me, "demand")).c_str(), format_bytes(u64(me, "held")).c_str(),
      format_bytes(u64(me, "plan_capacity")).c_str(),
      static_cast<unsigned long long>(u64(me, "gave_back")),
      static_cast<unsigned long long>(u64(me, "declined")));
  if (!str(me, "last_decline").empty())
    std::printf("         last decline: %s\n", str(me, "last_decline").c_str());
  if (!str(me, "last_error").empty())
    std::printf("         last error: %s\n", str(me, "last_error").c_str());

  std::printf("\n%-5s %-5s %-6s %-8s %-16s %-10s %s\n", "HOST", "LIVE", "GEN", "PID", "LEASE",
              "DEMAND", "HELD");
  for (const nlohmann::json &h : j["hosts"])
    std::printf("%-5llu %-5s %-6llu %-8lld %-16lld %-10s %s%s%s\n",
                static_cast<unsigned long long>(u64(h, "host")),
                h.value("live", false) ? "yes" : "no",
                static_cast<unsigned long long>(u64(h, "generation")),
                static_cast<long long>(h.value("pid", int64_t{0})),
                static_cast<long long>(h.value("lease", int64_t{0})),
                format_bytes(u64(h, "demand")).c_str(), format_bytes(u64(h, "held")).c_str(),
                str(h, "fenced").empty() ? "" : "  fenced at ", str(h, "fenced").c_str());

  std::printf("\n%-5s %-36s %-10s %-10s %-10s %s\n", "HOST", "TAG", "OFFSET", "LENGTH", "STATE",
              "GRANT");
  for (const nlohmann::json &e : j["extents"])
    std::printf("%-5llu %-36s %-10s %-10s %-10s %llu (%llu/%llu)\n",
                static_cast<unsigned long long>(u64(e, "host")), str(e, "tag").c_str(),
                format_bytes(u64(e, "offset")).c_str(), format_bytes(u64(e, "length")).c_str(),
                str(e, "state").c_str(), static_cast<unsigned long long>(u64(e, "grant")),
                static_cast<unsigned long long>(u64(e, "index") + 1),
                static_cast<unsigned long long>(u64(e, "count")));
  if (!j["givebacks"].empty()) {
    std::printf("\ngive-backs\n");
    for (const nlohmann::json &g : j["givebacks"])
      std::printf("  %s  %s (%s moved off)\n", str(g, "tag").c_str(), str(g, "status").c_str(),
                  format_bytes(u64(g, "bytes_moved")).c_str());
  }
  return 0;
}

}  // namespace tier::cli
