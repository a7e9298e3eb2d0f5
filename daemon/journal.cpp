// journal.cpp - priority prefixes for journald (journal.hpp).
#include "journal.hpp"

namespace tier::daemon {

int log_priority(std::string_view level) {
  if (level == "error") return 3;
  if (level == "warning") return 4;
  if (level == "info") return 6;
  if (level == "debug") return 7;
  return -1;
}

bool log_enabled(std::string_view threshold, std::string_view level) {
  int t = log_priority(threshold), l = log_priority(level);
  return t >= 0 && l >= 0 && l <= t;
}

std::string journal_line(std::string_view level, std::string_view message) {
  int p = log_priority(level);
  std::string prefix = "<" + std::to_string(p < 0 ? 3 : p) + ">";
  while (!message.empty() && message.back() == '\n') message.remove_suffix(1);
  std::string out = prefix;
  for (char c : message) {
    out += c;
    if (c == '\n') out += prefix;
  }
  return out + '\n';
}

}  // namespace tier::daemon
