// abi.hpp - the C ABI boundary helpers: no exception crosses it, every failure sets the
// thread's last error.
// Thread-safety: stateless.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "common/result.hpp"

namespace tier::alloc {

// Runs `body` and returns its value; an escaping exception becomes `on_error` plus a last
// error (TIER_ENOMEM for std::bad_alloc, TIER_EOS otherwise) naming the call.
template <class R, class F>
R guarded(const char *call, R on_error, F &&body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc &) {
    set_last_error(TIER_ENOMEM, (std::string(call) + ": out of memory for bookkeeping").c_str());
  } catch (const std::exception &e) {
    set_last_error(TIER_EOS, (std::string(call) + ": internal error: " + e.what()).c_str());
  } catch (...) {
    set_last_error(TIER_EOS, (std::string(call) + ": internal error").c_str());
  }
  return on_error;
}

// Sets the last error and returns `value` (for `return fail(nullptr, error);`).
template <class R>
R fail(R value, const Error &error) {
  set_last_error(error);
  return value;
}

// The C status of `s`; a failure also becomes the thread's last error.
inline tier_status report(const Status &s) {
  return s ? TIER_OK : set_last_error(s.error());
}

// For handle-based C APIs (kv.h, experts.h): runs `fn(*handle->impl)` guarded and reports its
// Status; a NULL handle is TIER_EINVAL, "<call>: <what> is NULL".
template <class Handle, class Fn>
tier_status with_handle(const char *call, Handle *handle, const char *what, Fn &&fn) {
  if (!handle)
    return set_last_error(TIER_EINVAL, (std::string(call) + ": " + what + " is NULL").c_str());
  return guarded(call, tier_status{TIER_ENOMEM}, [&] { return report(fn(*handle->impl)); });
}

}  // namespace tier::alloc
