// base64.hpp - standard base64 (RFC 4648, with padding), as etcd's JSON gateway encodes keys
// and values (protobuf `bytes` in proto3 JSON). Decoding also accepts the URL-safe alphabet,
// which proto3 JSON allows. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"

namespace tier::coord {

std::string base64_encode(std::string_view bytes);
// TIER_EPROTO naming the offending position for anything that is not base64.
Result<std::string> base64_decode(std::string_view text);

}  // namespace tier::coord
