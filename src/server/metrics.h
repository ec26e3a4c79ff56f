#pragma once
// Metrics: aloftd's counters and the Prometheus text exposition (format 0.0.4) of /metrics.
// Counters are atomics bumped by the handlers; rollout gauges are read from the store at each
// scrape (so every instance behind a load balancer reports the same rollout state), and
// rendering is a pure function of a snapshot, tested as text. Thread-safe.
//
//   aloft_checkins_total{result="update"|"no_update"}     counter
//   aloft_downloads_total                                   counter (artifact GETs, 200 and 206)
//   aloft_download_bytes_total                              counter (body bytes sent)
//   aloft_events_total{state="downloading"|...}             counter (new events, not duplicates)
//   aloft_rollout_percent{rollout="1",release="2.0.0",project="p",chip="esp32c3"}   gauge
//   aloft_rollout_devices{rollout="1",state="confirmed"}    gauge
//   aloft_rollout_halted{rollout="1"}                       gauge, 1 when halted
//   aloft_rollout_active{rollout="1"}                       gauge, 1 when active

#include <array>
#include <atomic>
#include <cstdint>
#include <span>
#include <string>

#include "core/result.h"
#include "server/store/records.h"
#include "server/store/store.h"

namespace aloft::server {

struct MetricsSnapshot {
  uint64_t checkins_update = 0;
  uint64_t checkins_no_update = 0;
  uint64_t downloads = 0;
  uint64_t download_bytes = 0;
  std::array<uint64_t, kUpdateStateCount> events{};
};

struct RolloutGauge {
  Rollout rollout;
  std::string release_version;
  std::string project;
  std::string chip;
  RolloutCounts counts;
};

// The exposition text for `snapshot` and `rollouts`. Label values are escaped as the format
// requires (backslash, double quote, newline).
std::string RenderMetrics(const MetricsSnapshot& snapshot, std::span<const RolloutGauge> rollouts);

class Metrics {
 public:
  void CountCheckin(bool offered_update);
  void CountDownload(uint64_t body_bytes);
  void CountEvent(UpdateState state);

  MetricsSnapshot Snapshot() const;

  // RenderMetrics over this snapshot and every rollout that is not completed, read from the
  // store (with its release and device counts). Store errors are returned.
  Result<std::string> Render(Store& store) const;

 private:
  std::atomic<uint64_t> checkins_update_{0};
  std::atomic<uint64_t> checkins_no_update_{0};
  std::atomic<uint64_t> downloads_{0};
  std::atomic<uint64_t> download_bytes_{0};
  std::array<std::atomic<uint64_t>, kUpdateStateCount> events_{};
};

}  // namespace aloft::server
