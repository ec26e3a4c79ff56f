#pragma once
// When the agent talks to the server next: a pure function of the configuration, how many
// attempts in a row have failed, and a random number (jitter), so a fleet that booted together
// or saw the same outage does not come back in lockstep, and a failing server is not hammered.

#include <cstdint>

namespace aloft::agent {

struct ScheduleConfig {
  uint32_t check_interval_ms = 60 * 60 * 1000;  // between successful check-ins
  uint32_t check_jitter_ms = 5 * 60 * 1000;     // up to this much is added to each interval
  uint32_t startup_jitter_ms = 10 * 1000;       // the first check after a boot: within this
  uint32_t backoff_base_ms = 5 * 1000;          // the first retry after a failure
  uint32_t backoff_cap_ms = 30 * 60 * 1000;     // no retry waits longer than this
};

// The wait before the next attempt, in milliseconds:
//   first check after boot (no failures yet): random in [0, startup_jitter_ms];
//   no failures: check_interval_ms + random in [0, check_jitter_ms];
//   n >= 1 failures: d = min(backoff_base_ms * 2^(n-1), backoff_cap_ms), then a random wait in
//   [d/2, d] ("equal jitter": never less than half the back-off, never more than the cap).
// `random` is any uniformly random 32-bit value.
uint64_t NextWaitMs(const ScheduleConfig& config, uint32_t consecutive_failures,
                    bool first_after_boot, uint32_t random);

}  // namespace aloft::agent
