#pragma once
// What the device agent needs from the system it runs on, beyond flash, crypto, network and
// storage: clocks, randomness, which app partition is running, and a reset.
// Implementations: ESP-IDF (esp_timer_get_time, gettimeofday after SNTP, esp_fill_random,
// esp_ota_get_running_partition, esp_restart); the host emulator (a clock it controls, the slot
// its boot logic chose, a reboot it performs after the agent returns).
//
// Randomness lives here, not in port::Crypto: on the chip it is the hardware RNG
// (esp_fill_random), not part of the crypto library the Crypto port wraps, and tests need to
// script it together with the clock (nonces and jitter are then reproducible).
//
// Not thread-safe: one caller.

#include <cstdint>

#include "core/bytes.h"
#include "core/status.h"

namespace aloft::port {

class System {
 public:
  System() = default;
  System(const System&) = delete;
  System& operator=(const System&) = delete;
  virtual ~System() = default;

  // Milliseconds since an arbitrary origin (boot), never decreasing. All of the agent's timers
  // (check interval, back-off) use this clock.
  virtual uint64_t MonotonicMs() = 0;

  // Milliseconds since the Unix epoch, or 0 when the device does not know the time (no SNTP or
  // RTC yet). Used only to timestamp reports.
  virtual uint64_t WallClockMs() = 0;

  // Fills `out` with cryptographically secure random bytes (check-in nonces, jitter, report
  // ids). kUnavailable if the generator is not ready (then nothing may be assumed of `out`).
  virtual Status RandomBytes(ByteSpan out) = 0;

  // The app partition that is running, as core/boot/slot_layout.h numbers them: ota_k is k,
  // factory kFactoryIndex, test kTestIndex (esp_ota_get_running_partition).
  virtual int RunningPartition() = 0;

  // Asks for a reset. On the chip it does not return (esp_restart); the emulator records the
  // request and returns, and the agent then does nothing more until it is built anew.
  virtual void RequestReboot() = 0;
};

}  // namespace aloft::port
