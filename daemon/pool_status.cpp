// pool_status.cpp - the pool's state as one JSON document, for `tierctl pool` (kCtlPool): the
// device, this host, the hosts and their leases and demands as the store has them, every extent
// by host and tag with its state, pending give-backs and fenced hosts. Read from the store and
// the device at the time of the request; event-loop thread only.
#include <map>

#include "json_writer.hpp"
#include "pool/records.hpp"
#include "pool_service.hpp"

namespace tier::daemon {

Result<std::string> PoolService::status_json() {
  Result<pool::DeviceTable> table = dev_->table();
  if (!table) return std::move(table).error();
  Result<std::vector<coord::KeyValue>> all = store_->get(keys_.prefix, true);
  if (!all) return std::move(all).error();

  struct HostRow {
    bool live = false;
    uint64_t generation = 0;
    int64_t pid = 0;
    coord::LeaseId lease = 0;
    uint64_t demand = 0;
    uint64_t held = 0;
    std::string fenced_at;
  };
  std::map<uint32_t, HostRow> hosts;
  std::map<pool::Tag, std::string> givebacks;
  std::string manager;
  auto under = [](const std::string &key, const std::string &dir) {
    return key.compare(0, dir.size(), dir) == 0;
  };
  for (const coord::KeyValue &kv : *all) {
    if (kv.key == keys_.manager()) {
      manager = kv.value;
    } else if (under(kv.key, keys_.hosts())) {
      Result<pool::HostRecord> h = pool::decode_host(kv.key, keys_.hosts(), kv.value);
      if (!h) return std::move(h).error();
      HostRow &row = hosts[h->host];
      row.live = true;
      row.generation = h->generation;
      row.pid = h->pid;
      row.lease = kv.lease;
    } else if (under(kv.key, keys_.demands())) {
      Result<uint32_t> id = pool::host_of_key(kv.key, keys_.demands());
      Result<uint64_t> d = pool::decode_demand(kv.key, kv.value);
      if (!id) return std::move(id).error();
      if (!d) return std::move(d).error();
      hosts[*id].demand = *d;
    } else if (under(kv.key, keys_.givebacks())) {
      Result<pool::Tag> t = pool::tag_of_key(kv.key, keys_.givebacks());
      if (!t) return std::move(t).error();
      givebacks[*t] = kv.value;
    } else if (under(kv.key, keys_.fences())) {
      Result<uint32_t> id = pool::host_of_key(kv.key, keys_.fences());
      if (!id) return std::move(id).error();
      hosts[*id].fenced_at = kv.value;
    }
  }
  for (const pool::Extent &e : table->extents) hosts[e.host].held += e.length;

  std::string out;
  cli::JsonWriter w(out);
  w.begin_object();
  w.key("device").value(dev_->describe());
  w.key("media_bytes").value(dev_->media_bytes());
  w.key("alignment").value(dev_->alignment());
  w.key("device_generation").value(table->generation);
  w.key("store").value(store_->describe());
  w.key("manager").value(manager);
  w.key("this_host").begin_object();
  w.key("host").value(static_cast<uint64_t>(member_->host()));
  w.key("generation").value(host_->generation());
  w.key("node").value(static_cast<int64_t>(node_));
  w.key("manager").value(manager_);
  w.key("fenced").value(host_->fenced());
  w.key("demand").value(demand_);
  w.key("held").value(host_->held_bytes());
  w.key("plan_capacity").value(host_->plan_capacity());
  w.key("gave_back").value(counters_.gave_back);
  w.key("declined").value(counters_.declined);
  w.key("last_decline").value(host_->last_decline());
  w.key("last_error").value(last_error_);
  w.end_object();
  w.key("hosts").begin_array();
  for (const auto &[id, h] : hosts) {
    w.begin_object();
    w.key("host").value(static_cast<uint64_t>(id));
    w.key("live").value(h.live);
    w.key("generation").value(h.generation);
    w.key("pid").value(h.pid);
    w.key("lease").value(static_cast<int64_t>(h.lease));
    w.key("demand").value(h.demand);
    w.key("held").value(h.held);
    w.key("fenced").value(h.fenced_at);
    w.end_object();
  }
  w.end_array();
  w.key("extents").begin_array();
  for (const pool::Extent &e : table->extents) {
    w.begin_object();
    w.key("tag").value(e.tag.text());
    w.key("host").value(static_cast<uint64_t>(e.host));
    w.key("offset").value(e.offset);
    w.key("length").value(e.length);
    w.key("state").value(pool::state_name(e.state));
    w.key("grant").value(e.grant);
    w.key("index").value(static_cast<uint64_t>(e.index));
    w.key("count").value(static_cast<uint64_t>(e.count));
    w.end_object();
  }
  w.end_array();
  w.key("givebacks").begin_array();
  for (const auto &[tag, status] : givebacks) {
    w.begin_object();
    w.key("tag").value(tag.text());
    w.key("status").value(status);
    auto it = host_->pending().find(tag);
    w.key("bytes_moved").value(it == host_->pending().end() ? uint64_t{0} : it->second.bytes_moved);
    w.end_object();
  }
  w.end_array();
  w.end_object();
  if (out.size() > daemon_proto::kMaxPoolJson)
    return make_error(TIER_ENOMEM, "the pool's state (" + std::to_string(out.size()) +
                                       " bytes of JSON) exceeds one reply");
  return out;
}

}  // namespace tier::daemon
