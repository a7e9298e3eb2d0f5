// text_file.hpp - reading a small text input (a topology file, tierd's config) whole, with a
// cap on its size checked while reading, so that /dev/zero, a FIFO that never ends or a
// multi-gigabyte file is refused with a message instead of exhausting memory.
//
// Thread-safety: reentrant.
#pragma once

#include <cstdio>
#include <string>

#include "common/result.hpp"

namespace tier {

// Inputs Tier reads whole are hand-written TOML: a few KiB. 1 MiB leaves room for generated
// ones (hundreds of client rules or nodes) and bounds what a wrong path can cost.
inline constexpr size_t kMaxTextFileBytes = 1u << 20;

// The whole of `path`, or an Error with `status` naming the file: cannot open, cannot read, or
// larger than `max_bytes` (read stops at max_bytes + 1). `what` names the input in the
// messages ("cannot read topology file PATH: ..."); empty gives "PATH: cannot open: ...".
inline Result<std::string> read_text_file(const std::string &path, tier_status status,
                                          const std::string &what = "",
                                          size_t max_bytes = kMaxTextFileBytes) {
  const auto fail = [&](int err, const std::string &verb, const std::string &why) {
    return Error{status, err,
                 what.empty() ? path + ": " + verb + ": " + why
                              : "cannot read " + what + " " + path + ": " + why};
  };
  FILE *f = std::fopen(path.c_str(), "rb");
  if (!f) {
    const int err = errno;
    return fail(err, "cannot open", std::strerror(err));
  }
  std::string text;
  char buf[65536];
  size_t n;
  while (text.size() <= max_bytes && (n = std::fread(buf, 1, sizeof buf, f)) > 0)
    text.append(buf, n);
  const int err = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (err) return fail(err, "cannot read", std::strerror(err));
  if (text.size() > max_bytes)
    return fail(EFBIG, "refused",
                "larger than " + std::to_string(max_bytes) + " bytes (is it the file you meant?)");
  return text;
}

}  // namespace tier
