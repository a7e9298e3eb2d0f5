// journal.hpp - tierd's log lines for journald: stderr lines with an sd-daemon(3) priority
// prefix ("<3>" error, "<4>" warning, "<6>" info, "<7>" debug), which journald (with the
// default SyslogLevelPrefix=yes) turns into the entry's priority and strips from the text,
// and which stay readable on a terminal. Levels are Config::log_level's names.
// Stateless; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace tier::daemon {

// The syslog priority of a level name ("error" -> 3, "warning" -> 4, "info" -> 6,
// "debug" -> 7), or -1 for an unknown name.
int log_priority(std::string_view level);

// True if a message at `level` passes the configured `threshold` (both level names). An
// unknown name never passes; Config has already refused an unknown threshold.
bool log_enabled(std::string_view threshold, std::string_view level);

// "<6>message\n": every line of a multi-line message gets the prefix (journald would give
// a continuation line the default priority otherwise). Unknown levels log as errors.
std::string journal_line(std::string_view level, std::string_view message);

}  // namespace tier::daemon
