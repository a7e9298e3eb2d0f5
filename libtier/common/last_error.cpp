// last_error.cpp - status names and the per-thread last error of the C ABI.
//
// The message buffer is a fixed thread_local array rather than a std::string so that
// reading it never allocates and a thread exit needs no destructor; messages longer than
// the buffer are truncated. thread_local uses the global-dynamic TLS model here, which
// keeps libtier loadable with dlopen.
#include <cstdio>
#include <cstring>

#include "common/result.hpp"

namespace {

struct LastError {
  tier_status status = TIER_OK;
  int sys_errno = 0;
  char message[512] = {0};
};

thread_local LastError g_last;

}  // namespace

namespace tier {

tier_status set_last_error(tier_status status, const char *message, int sys_errno) {
  g_last.status = status;
  g_last.sys_errno = sys_errno;
  std::snprintf(g_last.message, sizeof g_last.message, "%s", message ? message : "");
  return status;
}

tier_status set_last_error(const Error &error) {
  return set_last_error(error.status, error.message.c_str(), error.sys_errno);
}

}  // namespace tier

extern "C" {

const char *tier_strerror(tier_status status) {
  switch (status) {
    case TIER_OK: return "success";
    case TIER_EINVAL: return "invalid argument";
    case TIER_ENOMEM: return "no tier allowed by the policy has room";
    case TIER_ENODEV: return "no such node or tier";
    case TIER_ENOSYS: return "not supported by this kernel or machine";
    case TIER_ETOPOLOGY: return "topology error";
    case TIER_ECONFIG: return "invalid configuration";
    case TIER_EOS: return "system call failed";
    case TIER_ENOTOWNED: return "pointer not owned by this runtime";
    case TIER_EBUSY: return "resource busy";
    case TIER_EPERM: return "operation not permitted";
    case TIER_EPROTO: return "protocol error";
  }
  return "unknown status";
}

tier_status tier_last_status(void) { return g_last.status; }
const char *tier_last_error(void) { return g_last.message; }
int tier_last_errno(void) { return g_last.sys_errno; }
const char *tier_version(void) { return "0.1.0"; }

}  // extern "C"
