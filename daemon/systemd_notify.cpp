// systemd_notify.cpp - sd_notify wrappers (systemd_notify.hpp). sd_notify() itself returns 0
// when NOTIFY_SOCKET is unset, which is what makes every wrapper a no-op outside systemd.
// Errors (a vanished socket) are ignored on purpose: a failed notification must not stop
// the daemon, and systemd's own timeouts report a daemon that never became ready.
#include "systemd_notify.hpp"

#include <sys/timerfd.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

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

Result<int> open_watchdog_timer(uint64_t *period_usec) {
  uint64_t usec = 0;
  if (!watchdog_interval(&usec)) return -1;
  // Half the interval, so that one late wake-up still lands inside it; at least 1 us, since a
  // zero it_value would disarm the timer (WATCHDOG_USEC=1 is legal, if useless).
  const uint64_t period = usec / 2 ? usec / 2 : 1;
  const int fd = ::timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
  if (fd < 0) return os_error("timerfd_create (watchdog)");
  itimerspec its{};
  its.it_interval.tv_sec = static_cast<time_t>(period / 1000000u);
  its.it_interval.tv_nsec = static_cast<long>(period % 1000000u) * 1000L;
  its.it_value = its.it_interval;
  if (::timerfd_settime(fd, 0, &its, nullptr) != 0) {
    Error e = os_error("timerfd_settime (watchdog)");
    ::close(fd);
    return e;
  }
  if (period_usec) *period_usec = period;
  return fd;
}

}  // namespace tier::daemon
