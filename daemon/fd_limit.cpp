// fd_limit.cpp - see fd_limit.hpp.
#include "fd_limit.hpp"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>

namespace tier::daemon {

namespace {

std::string show(rlim_t v) {
  return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v);
}

}  // namespace

bool raise_fd_limit(std::string *line) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
    *line = std::string("descriptor limit (RLIMIT_NOFILE) unknown: ") + std::strerror(errno);
    return false;
  }
  if (lim.rlim_cur == lim.rlim_max) {
    *line = "descriptor limit (RLIMIT_NOFILE): " + show(lim.rlim_cur) + ", the hard limit";
    return true;
  }
  const rlim_t before = lim.rlim_cur;
  lim.rlim_cur = lim.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0) {
    *line = "descriptor limit (RLIMIT_NOFILE): " + show(before) +
            "; raising it to the hard limit " + show(lim.rlim_max) +
            " failed: " + std::strerror(errno);
    return false;
  }
  *line = "descriptor limit (RLIMIT_NOFILE): raised from " + show(before) + " to the hard limit " +
          show(lim.rlim_max);
  return true;
}

}  // namespace tier::daemon
