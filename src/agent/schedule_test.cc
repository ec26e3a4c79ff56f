#include "agent/schedule.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace aloft::agent {
namespace {

ScheduleConfig Config() {
  ScheduleConfig config;
  config.check_interval_ms = 60000;
  config.check_jitter_ms = 6000;
  config.startup_jitter_ms = 1000;
  config.backoff_base_ms = 1000;
  config.backoff_cap_ms = 30000;
  return config;
}

TEST(NextWait, NoFailures_IsTheIntervalPlusJitter) {
  EXPECT_EQ(NextWaitMs(Config(), 0, false, 0), 60000u);
  EXPECT_EQ(NextWaitMs(Config(), 0, false, 6000), 66000u);
  EXPECT_EQ(NextWaitMs(Config(), 0, false, 6001), 60000u);
  EXPECT_EQ(NextWaitMs(Config(), 0, false, 0xFFFFFFFF), 60000u + 0xFFFFFFFFull % 6001);
}

TEST(NextWait, FirstCheckAfterBoot_IsWithinTheStartupJitter) {
  EXPECT_EQ(NextWaitMs(Config(), 0, true, 0), 0u);
  EXPECT_EQ(NextWaitMs(Config(), 0, true, 1000), 1000u);
  EXPECT_EQ(NextWaitMs(Config(), 0, true, 1001), 0u);
  // A failure overrides the startup wait: back off.
  EXPECT_EQ(NextWaitMs(Config(), 1, true, 0), 500u);
}

TEST(NextWait, Failures_DoubleUpToTheCapWithEqualJitter) {
  // {failures, min (random 0), max (random = d/2)}
  const struct {
    uint32_t failures;
    uint64_t low;
    uint64_t high;
  } rows[] = {
      {1, 500, 1000},    {2, 1000, 2000},    {3, 2000, 4000},
      {4, 4000, 8000},   {5, 8000, 16000},   {6, 15000, 30000},
      {7, 15000, 30000}, {40, 15000, 30000}, {0xFFFFFFFF, 15000, 30000},
  };
  for (const auto& row : rows) {
    EXPECT_EQ(NextWaitMs(Config(), row.failures, false, 0), row.low) << row.failures;
    const uint64_t half = row.high / 2;
    EXPECT_EQ(NextWaitMs(Config(), row.failures, false, static_cast<uint32_t>(half)), row.high)
        << row.failures;
  }
}

TEST(NextWait, AnyRandom_StaysWithinHalfToFullBackoff) {
  uint32_t random = 12345;
  for (int i = 0; i < 10000; ++i) {
    random = random * 1664525u + 1013904223u;
    const uint32_t failures = 1 + random % 12;
    const uint64_t wait = NextWaitMs(Config(), failures, false, random);
    uint64_t backoff = 1000;
    for (uint32_t f = 1; f < failures && backoff < 30000; ++f) {
      backoff *= 2;
    }
    backoff = backoff > 30000 ? 30000 : backoff;
    EXPECT_GE(wait, backoff - backoff / 2);
    EXPECT_LE(wait, backoff);
  }
}

}  // namespace
}  // namespace aloft::agent
