// systemd_notify.cpp - sd_notify wrappers (systemd_notify.hpp). sd_notify() itself returns 0
// when NOTIFY_SOCKET is unset, which is what makes every wrapper a no-op outside systemd.
// Errors (a vanished socket) are ignored on purpose: a failed notification must not stop
// the daemon, and systemd's own timeouts report a daemon that never became ready.
#include "systemd_notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace tier::daemon {

void notify_ready() {
  (void)sd_notify(0, "READY=1");
}

void notify_reloading() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  uint64_t usec =
      static_cast<uint64_t>(ts.tv_sec) * 1000000u + static_cast<uint64_t>(ts.tv_nsec) / 1000u;
  std::string msg = "RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec);
  (void)sd_notify(0, msg.c_str());
}

void notify_stopping() {
  (void)sd_notify(0, "STOPPING=1");
}

void notify_status(std::string_view text) {
  std::string msg = "STATUS=";
  for (char c : text) msg += (c == '\n' || c == '\r' || c == '\0') ? ' ' : c;
  (void)sd_notify(0, msg.c_str());
}

bool watchdog_interval(uint64_t *usec) {
  uint64_t u = 0;
  if (sd_watchdog_enabled(0, &u) <= 0) return false;
  if (usec) *usec = u;
  return true;
}

void notify_watchdog() {
  (void)sd_notify(0, "WATCHDOG=1");
}

}  // namespace tier::daemon
