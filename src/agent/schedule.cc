#include "agent/schedule.h"

namespace aloft::agent {
namespace {

uint64_t Uniform(uint32_t random, uint64_t max_inclusive) {
  return static_cast<uint64_t>(random) % (max_inclusive + 1);
}

}  // namespace

uint64_t NextWaitMs(const ScheduleConfig& config, uint32_t consecutive_failures,
                    bool first_after_boot, uint32_t random) {
  if (consecutive_failures == 0) {
    if (first_after_boot) {
      return Uniform(random, config.startup_jitter_ms);
    }
    return config.check_interval_ms + Uniform(random, config.check_jitter_ms);
  }
  uint64_t backoff = config.backoff_base_ms;
  // Doubling stops at the cap, so a long outage cannot overflow the shift.
  for (uint32_t i = 1; i < consecutive_failures && backoff < config.backoff_cap_ms; ++i) {
    backoff *= 2;
  }
  if (backoff > config.backoff_cap_ms) {
    backoff = config.backoff_cap_ms;
  }
  return backoff - backoff / 2 + Uniform(random, backoff / 2);
}

}  // namespace aloft::agent
