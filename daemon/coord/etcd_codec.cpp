// etcd_codec.cpp - see etcd_codec.hpp.
#include "coord/etcd_codec.hpp"

#include <nlohmann/json.hpp>

#include "coord/base64.hpp"
#include "coord/txn_check.hpp"

namespace tier::coord::etcd {

using nlohmann::json;

namespace {

// A decoding failure inside the helpers below; caught at each decode_* entry and turned into
// TIER_EPROTO, so no exception leaves this file.
struct BadField {
  std::string what;
};

const json *field(const json &obj, const char *snake, const char *camel = nullptr) {
  if (!obj.is_object()) throw BadField{"expected an object"};
  auto it = obj.find(snake);
  if (it == obj.end() && camel) it = obj.find(camel);
  return it == obj.end() ? nullptr : &*it;
}

int64_t int_field(const json &obj, const char *snake, const char *camel = nullptr) {
  const json *v = field(obj, snake, camel);
  if (!v || v->is_null()) return 0;
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_string()) {
    const std::string &s = v->get_ref<const std::string &>();
    size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(s, &used);
    } catch (const std::exception &) {
      used = 0;
    }
    if (used == s.size() && !s.empty()) return n;
  }
  throw BadField{std::string("field `") + snake + "`: not a 64-bit integer"};
}

bool bool_field(const json &obj, const char *name) {
  const json *v = field(obj, name);
  if (!v || v->is_null()) return false;
  if (!v->is_boolean()) throw BadField{std::string("field `") + name + "`: not a boolean"};
  return v->get<bool>();
}

std::string string_field(const json &obj, const char *name) {
  const json *v = field(obj, name);
  if (!v || v->is_null()) return {};
  if (!v->is_string()) throw BadField{std::string("field `") + name + "`: not a string"};
  return v->get<std::string>();
}

std::string bytes_field(const json &obj, const char *name) {
  Result<std::string> r = base64_decode(string_field(obj, name));
  if (!r) throw BadField{std::string("field `") + name + "`: " + r.error().message};
  return std::move(r).value();
}

const json &array_field(const json &obj, const char *name, const json &empty) {
  const json *v = field(obj, name);
  if (!v || v->is_null()) return empty;
  if (!v->is_array()) throw BadField{std::string("field `") + name + "`: not an array"};
  return *v;
}

KeyValue decode_kv(const json &j) {
  KeyValue kv;
  kv.key = bytes_field(j, "key");
  kv.value = bytes_field(j, "value");
  kv.create_revision = int_field(j, "create_revision", "createRevision");
  kv.mod_revision = int_field(j, "mod_revision", "modRevision");
  kv.version = int_field(j, "version");
  kv.lease = int_field(j, "lease");
  return kv;
}

std::vector<KeyValue> decode_kvs(const json &range) {
  static const json empty = json::array();
  std::vector<KeyValue> out;
  for (const json &kv : array_field(range, "kvs", empty)) out.push_back(decode_kv(kv));
  return out;
}

Revision header_revision(const json &reply) {
  const json *h = field(reply, "header");
  return h ? int_field(*h, "revision") : 0;
}

template <class F>
auto decode(const char *what, const std::string &text, F &&f) -> Result<decltype(f(json{}))> {
  try {
    return f(json::parse(text));
  } catch (const BadField &b) {
    return make_error(TIER_EPROTO, std::string("etcd ") + what + " reply: " + b.what);
  } catch (const std::exception &e) {
    return make_error(TIER_EPROTO, std::string("etcd ") + what + " reply: " + e.what());
  }
}

json encode_key_range(const std::string &key, bool prefix) {
  json j = {{"key", base64_encode(key)}};
  if (prefix) j["range_end"] = base64_encode(prefix_end(key));
  return j;
}

json encode_op(const Op &op) {
  if (const Put *p = std::get_if<Put>(&op)) {
    json put = {{"key", base64_encode(p->key)}, {"value", base64_encode(p->value)}};
    if (p->lease != 0) put["lease"] = std::to_string(p->lease);
    return {{"request_put", put}};
  }
  if (const Delete *d = std::get_if<Delete>(&op))
    return {{"request_delete_range", encode_key_range(d->key, d->prefix)}};
  const Range &r = std::get<Range>(op);
  return {{"request_range", encode_key_range(r.key, r.prefix)}};
}

const char *target_name(Compare::Target t) {
  switch (t) {
    case Compare::Target::kVersion:
      return "VERSION";
    case Compare::Target::kCreateRevision:
      return "CREATE";
    case Compare::Target::kModRevision:
      return "MOD";
    case Compare::Target::kValue:
      return "VALUE";
  }
  return "VERSION";
}

const char *result_name(Compare::Op o) {
  switch (o) {
    case Compare::Op::kEqual:
      return "EQUAL";
    case Compare::Op::kNotEqual:
      return "NOT_EQUAL";
    case Compare::Op::kLess:
      return "LESS";
    case Compare::Op::kGreater:
      return "GREATER";
  }
  return "EQUAL";
}

}  // namespace

std::string encode_txn(const Txn &txn) {
  json j = {{"compare", json::array()}, {"success", json::array()}, {"failure", json::array()}};
  for (const Compare &c : txn.compares) {
    json cj = {{"key", base64_encode(c.key)},
               {"target", target_name(c.target)},
               {"result", result_name(c.op)}};
    switch (c.target) {
      case Compare::Target::kVersion:
        cj["version"] = std::to_string(c.number);
        break;
      case Compare::Target::kCreateRevision:
        cj["create_revision"] = std::to_string(c.number);
        break;
      case Compare::Target::kModRevision:
        cj["mod_revision"] = std::to_string(c.number);
        break;
      case Compare::Target::kValue:
        cj["value"] = base64_encode(c.value);
        break;
    }
    j["compare"].push_back(std::move(cj));
  }
  for (const Op &op : txn.success) j["success"].push_back(encode_op(op));
  for (const Op &op : txn.failure) j["failure"].push_back(encode_op(op));
  return j.dump();
}

std::string encode_range(const std::string &key, bool prefix) {
  return encode_key_range(key, prefix).dump();
}

std::string encode_lease_grant(std::chrono::seconds ttl) {
  return json{{"TTL", std::to_string(ttl.count())}, {"ID", "0"}}.dump();
}

std::string encode_lease_id(LeaseId id) {
  return json{{"ID", std::to_string(id)}}.dump();
}

std::string encode_watch(const std::string &prefix, Revision start) {
  json create = encode_key_range(prefix, true);
  create["start_revision"] = std::to_string(start);
  return json{{"create_request", create}}.dump();
}

Result<TxnResult> decode_txn(const std::string &body) {
  return decode("txn", body, [](const json &j) {
    static const json empty = json::array();
    TxnResult r;
    r.succeeded = bool_field(j, "succeeded");
    r.revision = header_revision(j);
    for (const json &resp : array_field(j, "responses", empty)) {
      if (const json *range = field(resp, "response_range", "responseRange"))
        r.ranges.push_back(decode_kvs(*range));
    }
    return r;
  });
}

Result<std::vector<KeyValue>> decode_range(const std::string &body) {
  return decode("range", body, [](const json &j) { return decode_kvs(j); });
}

Result<Lease> decode_lease_grant(const std::string &body) {
  return decode("lease grant", body, [](const json &j) {
    const std::string err = string_field(j, "error");
    if (!err.empty()) throw BadField{"etcd refused: " + err};
    Lease l{int_field(j, "ID"), std::chrono::seconds(int_field(j, "TTL"))};
    if (l.id <= 0) throw BadField{"no lease id"};
    return l;
  });
}

Result<int64_t> decode_keepalive(const std::string &line) {
  return decode("lease keepalive", line, [](const json &j) {
    if (const json *e = field(j, "error")) throw BadField{"stream error: " + e->dump()};
    const json *r = field(j, "result");
    if (!r) throw BadField{"no `result`"};
    return int_field(*r, "TTL");
  });
}

Result<WatchMessage> decode_watch(const std::string &line) {
  return decode("watch", line, [](const json &j) {
    static const json empty = json::array();
    if (const json *e = field(j, "error")) throw BadField{"stream error: " + e->dump()};
    const json *r = field(j, "result");
    if (!r) throw BadField{"no `result`"};
    WatchMessage m;
    m.created = bool_field(*r, "created");
    m.canceled = bool_field(*r, "canceled");
    m.header_revision = header_revision(*r);
    m.compact_revision = int_field(*r, "compact_revision", "compactRevision");
    m.cancel_reason = string_field(*r, "cancel_reason");
    for (const json &ev : array_field(*r, "events", empty)) {
      Event e;
      const std::string type = string_field(ev, "type");
      if (type == "DELETE") {
        e.type = Event::Type::kDelete;
      } else if (type.empty() || type == "PUT") {
        e.type = Event::Type::kPut;
      } else {
        throw BadField{"event type `" + type + "`"};
      }
      const json *kv = field(ev, "kv");
      if (!kv) throw BadField{"event without `kv`"};
      e.kv = decode_kv(*kv);
      if (e.type == Event::Type::kDelete) {
        // etcd's delete event carries the key and the deletion's revision; say no more.
        e.kv = KeyValue{std::move(e.kv.key), {}, 0, e.kv.mod_revision, 0, 0};
      }
      m.events.push_back(std::move(e));
    }
    return m;
  });
}

Error decode_error(const std::string &what, unsigned http_status, const std::string &body) {
  int64_t code = -1;
  std::string message;
  try {
    const json j = json::parse(body);
    code = int_field(j, "code");
    message = string_field(j, "message");
    if (message.empty()) message = string_field(j, "error");
  } catch (...) {
    message = body.substr(0, 200);
  }
  tier_status status = TIER_EPROTO;
  switch (code) {
    case 3:
      status = TIER_EINVAL;
      break;  // INVALID_ARGUMENT
    case 5:
      status = TIER_ENODEV;
      break;  // NOT_FOUND: etcd's only one is a lease
    case 4:   // DEADLINE_EXCEEDED ("request timed out")
    case 14:
      status = TIER_EBUSY;
      break;  // UNAVAILABLE (no leader, stopping)
    default:
      break;
  }
  return make_error(status, what + ": HTTP " + std::to_string(http_status) +
                                (code >= 0 ? ", gRPC code " + std::to_string(code) : "") + ": " +
                                message);
}

}  // namespace tier::coord::etcd
