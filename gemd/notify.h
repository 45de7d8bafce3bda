// Copyright the gem authors. systemd readiness, status and watchdog (sd_notify(3)).
//
// All calls are no-ops when $NOTIFY_SOCKET is unset (gemd started from a shell). gemd sends:
//   STATUS=<stage>        during start-up ("locking data directory", "loading trees", ...)
//   READY=1 + STATUS=...  once every stage succeeded and requests are served
//   STATUS=<summary>      when the summary changes ("ready: 1 running, 2 queued, 3 trees")
//   WATCHDOG=1            every WatchdogSec/2 from the server loop (a hung loop gets restarted)
//   STOPPING=1            when a graceful stop begins
// Thread-safety: all functions may be called from any thread.
#ifndef GEMD_NOTIFY_H_
#define GEMD_NOTIFY_H_

#include <chrono>
#include <string>

namespace gemd::notify {

void Status(const std::string& text);
void Ready(const std::string& status_text);
void Stopping(const std::string& status_text);
// Sends WATCHDOG=1 when the watchdog is enabled and half its interval has passed since the last.
void WatchdogTick();
// Tells systemd start-up needs more time (EXTEND_TIMEOUT_USEC), for long model loads.
void ExtendTimeout(std::chrono::seconds by);

}  // namespace gemd::notify

#endif  // GEMD_NOTIFY_H_
