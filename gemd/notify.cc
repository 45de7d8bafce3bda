// Copyright the gem authors. sd_notify wrappers (notify.h), over libsystemd.
#include "notify.h"

#include <systemd/sd-daemon.h>

#include <atomic>
#include <cstdint>
#include <mutex>

namespace gemd::notify {
namespace {

std::mutex mu;
std::chrono::steady_clock::time_point last_watchdog;  // guarded by mu
int watchdog_state = -1;                              // -1 unknown, 0 off, 1 on; guarded by mu
uint64_t watchdog_usec = 0;                           // guarded by mu

void Send(const std::string& text) { (void)sd_notify(0, text.c_str()); }

}  // namespace

void Status(const std::string& text) { Send("STATUS=" + text); }
void Ready(const std::string& status_text) { Send("READY=1\nSTATUS=" + status_text); }
void Stopping(const std::string& status_text) { Send("STOPPING=1\nSTATUS=" + status_text); }

void WatchdogTick() {
  std::lock_guard<std::mutex> lock(mu);
  if (watchdog_state < 0) {
    // sd_watchdog_enabled checks WATCHDOG_PID against our pid and reads WATCHDOG_USEC.
    watchdog_state = sd_watchdog_enabled(0, &watchdog_usec) > 0 ? 1 : 0;
  }
  if (watchdog_state == 0) return;
  auto now = std::chrono::steady_clock::now();
  if (now - last_watchdog >= std::chrono::microseconds(watchdog_usec / 2)) {
    last_watchdog = now;
    Send("WATCHDOG=1");
  }
}

void ExtendTimeout(std::chrono::seconds by) {
  Send("EXTEND_TIMEOUT_USEC=" + std::to_string(by.count() * 1000000));
}

}  // namespace gemd::notify
