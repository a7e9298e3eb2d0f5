// tierctl_daemon.cpp - control requests to tierd and the status/clients views (see
// tierctl_daemon.hpp). Single-threaded.
#include "tierctl_daemon.hpp"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "json_writer.hpp"
#include "topology/size_parse.hpp"

namespace tier::cli {

namespace dp = tier::daemon_proto;

std::string daemon_socket(const GlobalOptions &o) {
  return o.socket.empty() ? dp::socket_path_from_env() : o.socket;
}

Result<std::vector<char>> daemon_request(const GlobalOptions &o, dp::MsgType type,
                                         const dp::CtlMsg &request) {
  const std::string path = daemon_socket(o);
  Result<int> fd = dp::connect_socket(path);
  if (!fd) return std::move(fd).error().context("is tierd running? (socket " + path + ")");
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{*fd};
  dp::CtlMsg m = request;
  m.h = dp::make_message<dp::CtlMsg>(type).h;
  if (Status s = dp::send_message(*fd, &m, sizeof m); !s) return std::move(s).error();
  pollfd p{*fd, POLLIN, 0};
  if (::poll(&p, 1, 10000) != 1) return make_error(TIER_EOS, "tierd did not answer in 10 s");
  std::vector<char> buf(dp::kMaxMessage);
  Result<size_t> n = dp::recv_message(*fd, buf.data(), buf.size());
  if (!n) return std::move(n).error();
  buf.resize(*n);
  Result<dp::MsgType> t = dp::check_message(buf.data(), buf.size());
  if (!t) return std::move(t).error().context("tierd's reply");
  if (*t == dp::MsgType::kError) {
    dp::TextMsg e;
    std::memcpy(&e, buf.data(), sizeof e);
    return make_error(static_cast<tier_status>(e.status), dp::field_text(e.text));
  }
  return buf;
}

Result<dp::StatusReply> fetch_status(const GlobalOptions &o) {
  Result<std::vector<char>> r = daemon_request(o, dp::MsgType::kCtlStatus);
  if (!r) return std::move(r).error();
  if (r->size() != sizeof(dp::StatusReply))
    return make_error(TIER_EPROTO, "unexpected reply to status");
  dp::StatusReply s;
  std::memcpy(&s, r->data(), sizeof s);
  return s;
}

Result<std::vector<dp::ClientStatus>> fetch_clients(const GlobalOptions &o, uint32_t *total) {
  Result<std::vector<char>> r = daemon_request(o, dp::MsgType::kCtlClients);
  if (!r) return std::move(r).error();
  dp::MsgHeader h;
  std::memcpy(&h, r->data(), sizeof h);
  if (h.type != static_cast<uint16_t>(dp::MsgType::kClientsReply))
    return make_error(TIER_EPROTO, "unexpected reply to clients");
  uint32_t count = 0, all = 0;
  std::memcpy(&count, r->data() + offsetof(dp::ClientsReply, count), sizeof count);
  std::memcpy(&all, r->data() + offsetof(dp::ClientsReply, total), sizeof all);
  std::vector<dp::ClientStatus> out(count);
  if (count)  // no clients: out.data() is null, and memcpy(null, ..., 0) is undefined
    std::memcpy(out.data(), r->data() + offsetof(dp::ClientsReply, clients),
                count * sizeof(dp::ClientStatus));
  if (total) *total = all;
  return out;
}

std::string status_json(const dp::StatusReply &s) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("policy").value(dp::field_text(s.policy));
  w.key("topology").value(dp::field_text(s.topology));
  w.key("emulated").value(s.emulated != 0);
  w.key("epoch_ms").value(uint64_t{s.epoch_ms});
  w.key("epochs").value(s.epochs);
  w.key("last_epoch_us").value(static_cast<double>(s.last_epoch_ns) / 1000.0);
  w.key("mean_epoch_us")
      .value(s.epochs ? static_cast<double>(s.total_epoch_ns) / 1000.0 / s.epochs : 0.0);
  w.key("max_epoch_us").value(static_cast<double>(s.max_epoch_ns) / 1000.0);
  w.key("clients").value(uint64_t{s.clients});
  w.key("chunks").value(s.chunks);
  w.key("migrations_per_s").value(s.migrations_per_s);
  w.key("moves").value(s.moves);
  w.key("bytes_moved").value(s.bytes_moved);
  w.key("refusals").value(s.refusals);
  w.key("nodes").begin_array();
  for (uint32_t i = 0; i < s.nnodes && i < static_cast<uint32_t>(dp::kMaxNodes); ++i) {
    const dp::NodeStatus &n = s.nodes[i];
    w.begin_object();
    w.key("id").value(n.id);
    w.key("name").value(dp::field_text(n.name));
    w.key("kind").value(dp::field_text(n.kind));
    w.key("tier").value(n.tier);
    w.key("capacity").value(n.capacity);
    w.key("used").value(n.used);
    w.key("hot").value(n.hot);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

void print_status(const dp::StatusReply &s, bool json) {
  if (json) {
    std::printf("%s\n", status_json(s).c_str());
    return;
  }
  std::printf("tierd: policy %s, topology %s%s, epoch %u ms\n", dp::field_text(s.policy).c_str(),
              dp::field_text(s.topology).c_str(), s.emulated ? " (emulated)" : "", s.epoch_ms);
  std::printf("epochs %llu, last %.0f us, mean %.0f us, max %.0f us; %u clients, %llu chunks\n",
              static_cast<unsigned long long>(s.epochs), s.last_epoch_ns / 1000.0,
              s.epochs ? static_cast<double>(s.total_epoch_ns) / 1000.0 / s.epochs : 0.0,
              s.max_epoch_ns / 1000.0, s.clients, static_cast<unsigned long long>(s.chunks));
  std::printf("migrations %.1f/s (%llu in total, %s); refusals %llu\n\n", s.migrations_per_s,
              static_cast<unsigned long long>(s.moves), format_bytes(s.bytes_moved).c_str(),
              static_cast<unsigned long long>(s.refusals));
  std::printf("%-4s %-10s %-8s %-4s %-12s %-12s %-12s\n", "NODE", "NAME", "KIND", "TIER",
              "CAPACITY", "USED", "HOT");
  for (uint32_t i = 0; i < s.nnodes && i < static_cast<uint32_t>(dp::kMaxNodes); ++i) {
    const dp::NodeStatus &n = s.nodes[i];
    std::printf("%-4d %-10s %-8s %-4d %-12s %-12s %-12s\n", n.id, dp::field_text(n.name).c_str(),
                dp::field_text(n.kind).c_str(), n.tier, format_bytes(n.capacity).c_str(),
                format_bytes(n.used).c_str(), format_bytes(n.hot).c_str());
  }
}

std::string clients_json(const std::vector<dp::ClientStatus> &cs, uint32_t total) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("total").value(uint64_t{total});
  w.key("clients").begin_array();
  for (const dp::ClientStatus &c : cs) {
    w.begin_object();
    w.key("pid").value(c.pid);
    w.key("uid").value(uint64_t{c.uid});
    w.key("comm").value(dp::field_text(c.comm));
    w.key("regions").value(uint64_t{c.regions});
    w.key("chunks").value(c.chunks);
    w.key("priority").value(c.priority);
    w.key("quota_bytes").value(c.quota_bytes);
    w.key("refusals").value(uint64_t{c.refusals});
    w.key("bytes_per_tier").begin_array();
    for (int t = 0; t < dp::kMaxTiers; ++t) w.value(c.bytes_per_tier[t]);
    w.end_array();
    w.end_object();
  }
  w.end_array();
  w.end_object();
  return out;
}

void print_clients(const std::vector<dp::ClientStatus> &cs, uint32_t total, bool json) {
  if (json) {
    std::printf("%s\n", clients_json(cs, total).c_str());
    return;
  }
  int tiers = 1;
  for (const dp::ClientStatus &c : cs)
    for (int t = 0; t < dp::kMaxTiers; ++t)
      if (c.bytes_per_tier[t]) tiers = std::max(tiers, t + 1);
  std::printf("%-8s %-16s %-6s %-7s %-7s", "PID", "COMM", "UID", "REGIONS", "CHUNKS");
  for (int t = 0; t < tiers; ++t) std::printf(" %-11s", ("TIER" + std::to_string(t)).c_str());
  std::printf(" %s\n", "REFUSED");
  for (const dp::ClientStatus &c : cs) {
    std::printf("%-8d %-16s %-6u %-7u %-7llu", c.pid, dp::field_text(c.comm).c_str(), c.uid,
                c.regions, static_cast<unsigned long long>(c.chunks));
    for (int t = 0; t < tiers; ++t)
      std::printf(" %-11s", format_bytes(c.bytes_per_tier[t]).c_str());
    std::printf(" %u\n", c.refusals);
  }
  if (total > cs.size())
    std::printf("(%u more not listed)\n", total - static_cast<uint32_t>(cs.size()));
}

}  // namespace tier::cli
