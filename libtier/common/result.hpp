// result.hpp - the one value-or-error type used inside libtier.
//
// Every fallible internal call (syscalls, sysfs, hwloc, config and topology files) returns
// Result<T>: either a value, or an Error carrying the tier_status, the errno behind it (0 if
// none) and a message that names what failed and where ("topology.toml:12: field
// `capacity`: ..."). The C ABI turns an Error into the thread's last error; no exception
// crosses it. Not thread-affine; plain value type.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <variant>

#include "tier/tier.h"

namespace tier {

struct Error {
  tier_status status = TIER_EINVAL;
  int sys_errno = 0;
  std::string message;

  // Prefixes context: Error{..."ENOMEM"}.context("while binding 2 MiB to node 3").
  Error &&context(const std::string &what) && {
    message = what + ": " + message;
    return std::move(*this);
  }
};

inline Error make_error(tier_status status, std::string message) {
  return Error{status, 0, std::move(message)};
}

// An Error from the current errno, naming the call that failed.
inline Error os_error(const std::string &what, int err = errno) {
  return Error{TIER_EOS, err, what + ": " + std::strerror(err)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Result(Error error) : v_(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T &value() & { return std::get<0>(v_); }
  const T &value() const & { return std::get<0>(v_); }
  T &&value() && { return std::get<0>(std::move(v_)); }
  T &operator*() & { return value(); }
  const T &operator*() const & { return value(); }
  T *operator->() { return &value(); }
  const T *operator->() const { return &value(); }

  const Error &error() const & { return std::get<1>(v_); }
  Error &&error() && { return std::get<1>(std::move(v_)); }
  tier_status status() const { return ok() ? TIER_OK : error().status; }

 private:
  std::variant<T, Error> v_;
};

// Result<void>: success or an Error.
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error &error() const & { return error_; }
  Error &&error() && { return std::move(error_); }
  tier_status status() const { return ok_ ? TIER_OK : error_.status; }

 private:
  Error error_;
  bool ok_ = true;
};

using Status = Result<void>;

// Records `error` as the calling thread's last error (see tier.h) and returns its status.
tier_status set_last_error(const Error &error);
tier_status set_last_error(tier_status status, const char *message, int sys_errno = 0);

}  // namespace tier
