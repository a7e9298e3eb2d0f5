// systemd_notify.hpp - tierd's side of the systemd service protocol (Type=notify, watchdog),
// over libsystemd's sd_notify(3). Every call is a no-op when NOTIFY_SOCKET is unset (tierd
// run by hand, or under another supervisor), so callers never branch on "under systemd?".
//
// The daemon's sequence: notify_ready() once the socket listens; on SIGHUP
// notify_reloading(), reload, then notify_ready() again (also after a refused reload, since
// the old configuration stays in force); notify_stopping() when shutting down;
// notify_watchdog() from the event loop at least every watchdog_interval() / 2.
// Thread-safe (each call is one datagram).
#pragma once

#include <cstdint>
#include <string_view>

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

}  // namespace tier::daemon
