// systemd_notify.hpp - tierd's side of the systemd service protocol (Type=notify, watchdog),
// over libsystemd's sd_notify(3). Every call is a no-op when NOTIFY_SOCKET is unset (tierd
// run by hand, or under another supervisor), so callers never branch on "under systemd?".
//
// The daemon's sequence: notify_ready() once the socket listens; on SIGHUP
// notify_reloading(), reload, then notify_ready() again (also after a refused reload, since
// the old configuration stays in force); notify_stopping() when shutting down;
// notify_watchdog() each time open_watchdog_timer()'s timer expires (every
// watchdog_interval() / 2), read by the event loop itself: a ping then means that the loop
// runs, and how often it comes does not depend on epoch_ms.
// Thread-safe (each call is one datagram; the timer is the caller's descriptor).
#pragma once

#include <cstdint>
#include <string_view>

#include "common/result.hpp"

namespace tier::daemon {

void notify_ready();
// RELOADING=1 with MONOTONIC_USEC (which systemd >= 253 wants for Type=notify-reload and
// older versions ignore).
void notify_reloading();
void notify_stopping();
// STATUS=text, shown by `systemctl status`. Newlines become spaces: one would otherwise end
// the assignment and let the rest be read as another one.
void notify_status(std::string_view text);
// True and *usec set when systemd expects watchdog pings (WatchdogSec= in the unit and
// WATCHDOG_PID, if set, is this process); false otherwise. usec may be null.
bool watchdog_interval(uint64_t *usec);
void notify_watchdog();
// A CLOCK_MONOTONIC timerfd (close-on-exec) that expires every watchdog_interval() / 2, the
// rate sd_watchdog_enabled(3) recommends; *period_usec (may be null) is set to that period.
// -1 when systemd expects no pings; an error when the timer cannot be made. The caller owns
// the descriptor.
Result<int> open_watchdog_timer(uint64_t *period_usec);

}  // namespace tier::daemon
