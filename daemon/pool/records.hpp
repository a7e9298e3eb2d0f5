// records.hpp - what the pool keeps in the coordination store, and how each record is spelled.
//
// Keys, under a prefix (default "/tier/pool/"):
//   hosts/<id>       a live host: "generation=<g> pid=<pid>", attached to the host's lease, so
//                    it vanishes when the host stops renewing it
//   demand/<id>      the bytes of pool capacity the host wants now: "bytes=<n>", on its lease
//   extents/<tag>    who owns an extent: "host=<id> offset=<o> length=<l> state=<granted|
//                    releasing>"; written by the manager only, and only by compare-and-swap
//   giveback/<tag>   a pending give-back: "asked" (by the manager) or "declined <reason>" (by
//                    the host, when it could not move its data off in time)
//   fenced/<id>      "generation=<g>": the host's generation the manager fenced it at
//   manager          the manager role: "host=<id>", attached to the holder's lease
// Values are space-separated key=value words (a declined reason is the rest of its line), so
// `etcdctl get --prefix /tier/pool/` is readable. A value that does not parse is TIER_EPROTO
// naming the key: the store is shared and checked like any input.
// Thread-safety: plain values and pure functions.
#pragma once

#include <cstdint>
#include <string>

#include "common/result.hpp"
#include "pool/extent.hpp"

namespace tier::pool {

struct Keys {
  std::string prefix = "/tier/pool/";
  std::string hosts() const { return prefix + "hosts/"; }
  std::string host(uint32_t id) const { return hosts() + std::to_string(id); }
  std::string demands() const { return prefix + "demand/"; }
  std::string demand(uint32_t id) const { return demands() + std::to_string(id); }
  std::string extents() const { return prefix + "extents/"; }
  std::string extent(const Tag &t) const { return extents() + t.text(); }
  std::string givebacks() const { return prefix + "giveback/"; }
  std::string giveback(const Tag &t) const { return givebacks() + t.text(); }
  std::string fences() const { return prefix + "fenced/"; }
  std::string fenced(uint32_t id) const { return fences() + std::to_string(id); }
  std::string manager() const { return prefix + "manager"; }
};

struct HostRecord {
  uint32_t host = 0;
  uint64_t generation = 0;
  int64_t pid = 0;
};

struct ExtentRecord {
  Tag tag;
  uint32_t host = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  bool releasing = false;
};

std::string encode(const HostRecord &r);
std::string encode(const ExtentRecord &r);
std::string encode_demand(uint64_t bytes);

// The id or tag that ends `key` after `dir` ("/tier/pool/hosts/3" -> 3).
Result<uint32_t> host_of_key(const std::string &key, const std::string &dir);
Result<Tag> tag_of_key(const std::string &key, const std::string &dir);

Result<HostRecord> decode_host(const std::string &key, const std::string &dir,
                               const std::string &value);
Result<ExtentRecord> decode_extent(const std::string &key, const std::string &dir,
                                   const std::string &value);
Result<uint64_t> decode_demand(const std::string &key, const std::string &value);

}  // namespace tier::pool
