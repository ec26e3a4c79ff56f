#include "server/metrics.h"

#include <gtest/gtest.h>

namespace aloft::server {
namespace {

TEST(RenderMetrics, CountersAndRolloutGauges_InPrometheusText) {
  MetricsSnapshot snapshot;
  snapshot.checkins_update = 3;
  snapshot.checkins_no_update = 40;
  snapshot.downloads = 2;
  snapshot.download_bytes = 270336;
  snapshot.events[static_cast<size_t>(UpdateState::kConfirmed)] = 5;
  RolloutGauge gauge;
  gauge.rollout.id = 7;
  gauge.rollout.percent_bp = 1250;
  gauge.rollout.state = RolloutState::kHalted;
  gauge.release_version = "2.0.0\"x";
  gauge.project = "thermo";
  gauge.chip = "esp32c3";
  gauge.counts.by_state[static_cast<size_t>(UpdateState::kFailed)] = 4;
  const std::string text = RenderMetrics(snapshot, std::vector<RolloutGauge>{gauge});
  for (const char* line : {
           "# TYPE aloft_checkins_total counter\n",
           "aloft_checkins_total{result=\"update\"} 3\n",
           "aloft_checkins_total{result=\"no_update\"} 40\n",
           "aloft_downloads_total 2\n",
           "aloft_download_bytes_total 270336\n",
           "aloft_events_total{state=\"confirmed\"} 5\n",
           "aloft_events_total{state=\"rolled_back\"} 0\n",
           "aloft_rollout_percent{rollout=\"7\",release=\"2.0.0\\\"x\",project=\"thermo\","
           "chip=\"esp32c3\"} 12.5\n",
           "aloft_rollout_devices{rollout=\"7\",state=\"failed\"} 4\n",
           "aloft_rollout_devices{rollout=\"7\",state=\"offered\"} 0\n",
           "aloft_rollout_halted{rollout=\"7\"} 1\n",
           "aloft_rollout_active{rollout=\"7\"} 0\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\nin:\n" << text;
  }
  // "offered" is the server's own state, never a device event.
  EXPECT_EQ(text.find("aloft_events_total{state=\"offered\"}"), std::string::npos);
}

TEST(Metrics, Counters_Accumulate) {
  Metrics metrics;
  metrics.CountCheckin(true);
  metrics.CountCheckin(false);
  metrics.CountCheckin(false);
  metrics.CountDownload(100);
  metrics.CountDownload(50);
  metrics.CountEvent(UpdateState::kFailed);
  const MetricsSnapshot snapshot = metrics.Snapshot();
  EXPECT_EQ(snapshot.checkins_update, 1u);
  EXPECT_EQ(snapshot.checkins_no_update, 2u);
  EXPECT_EQ(snapshot.downloads, 2u);
  EXPECT_EQ(snapshot.download_bytes, 150u);
  EXPECT_EQ(snapshot.events[static_cast<size_t>(UpdateState::kFailed)], 1u);
}

}  // namespace
}  // namespace aloft::server
