// fd_limit.hpp - tierd's descriptor limit. Each client holds two descriptors in tierd (its
// socket and its pidfd), and the soft RLIMIT_NOFILE that most sessions and systemd give a
// service (1024) runs out near 500 clients, while the hard limit is usually far higher. tierd
// never uses select(2), so descriptors above 1024 are safe for it to hold.
// Not thread-safe with other threads changing the limit (tierd calls it once, before any
// thread starts).
#pragma once

#include <string>

namespace tier::daemon {

// Raises RLIMIT_NOFILE's soft limit to its hard limit. *line is for the log: what the limit
// was and is, or why it could not be raised (then false is returned).
bool raise_fd_limit(std::string *line);

}  // namespace tier::daemon
