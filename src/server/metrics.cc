#include "server/metrics.h"

#include <string_view>

#include "server/rollout_policy.h"

namespace aloft::server {
namespace {

std::string Escape(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void Header(std::string& out, const char* name, const char* type, const char* help) {
  out += "# HELP ";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

}  // namespace

std::string RenderMetrics(const MetricsSnapshot& snapshot, std::span<const RolloutGauge> rollouts) {
  std::string out;
  Header(out, "aloft_checkins_total", "counter", "Device check-ins answered, by outcome.");
  out +=
      "aloft_checkins_total{result=\"update\"} " + std::to_string(snapshot.checkins_update) + "\n";
  out += "aloft_checkins_total{result=\"no_update\"} " +
         std::to_string(snapshot.checkins_no_update) + "\n";
  Header(out, "aloft_downloads_total", "counter", "Artifact downloads (200 and 206 answers).");
  out += "aloft_downloads_total " + std::to_string(snapshot.downloads) + "\n";
  Header(out, "aloft_download_bytes_total", "counter", "Artifact body bytes sent.");
  out += "aloft_download_bytes_total " + std::to_string(snapshot.download_bytes) + "\n";
  Header(out, "aloft_events_total", "counter", "New device events recorded, by state.");
  for (size_t i = 0; i < kUpdateStateCount; ++i) {
    const auto state = static_cast<UpdateState>(i);
    if (state == UpdateState::kOffered) {
      continue;  // not a device event
    }
    out += "aloft_events_total{state=\"" + std::string(UpdateStateName(state)) + "\"} " +
           std::to_string(snapshot.events[i]) + "\n";
  }
  Header(out, "aloft_rollout_percent", "gauge", "Rollout percentage (0 to 100).");
  for (const RolloutGauge& gauge : rollouts) {
    out += "aloft_rollout_percent{rollout=\"" + std::to_string(gauge.rollout.id) + "\",release=\"" +
           Escape(gauge.release_version) + "\",project=\"" + Escape(gauge.project) + "\",chip=\"" +
           Escape(gauge.chip) + "\"} " + BasisPointsText(gauge.rollout.percent_bp) + "\n";
  }
  Header(out, "aloft_rollout_devices", "gauge", "Devices of a rollout, by their latest state.");
  for (const RolloutGauge& gauge : rollouts) {
    for (size_t i = 0; i < kUpdateStateCount; ++i) {
      out += "aloft_rollout_devices{rollout=\"" + std::to_string(gauge.rollout.id) + "\",state=\"" +
             std::string(UpdateStateName(static_cast<UpdateState>(i))) + "\"} " +
             std::to_string(gauge.counts.by_state[i]) + "\n";
    }
  }
  Header(out, "aloft_rollout_halted", "gauge", "1 if the rollout halted itself.");
  for (const RolloutGauge& gauge : rollouts) {
    out += "aloft_rollout_halted{rollout=\"" + std::to_string(gauge.rollout.id) + "\"} " +
           (gauge.rollout.state == RolloutState::kHalted ? "1" : "0") + "\n";
  }
  Header(out, "aloft_rollout_active", "gauge", "1 if the rollout is offered to devices.");
  for (const RolloutGauge& gauge : rollouts) {
    out += "aloft_rollout_active{rollout=\"" + std::to_string(gauge.rollout.id) + "\"} " +
           (gauge.rollout.state == RolloutState::kActive ? "1" : "0") + "\n";
  }
  return out;
}

void Metrics::CountCheckin(bool offered_update) {
  (offered_update ? checkins_update_ : checkins_no_update_).fetch_add(1, std::memory_order_relaxed);
}

void Metrics::CountDownload(uint64_t body_bytes) {
  downloads_.fetch_add(1, std::memory_order_relaxed);
  download_bytes_.fetch_add(body_bytes, std::memory_order_relaxed);
}

void Metrics::CountEvent(UpdateState state) {
  events_[static_cast<size_t>(state)].fetch_add(1, std::memory_order_relaxed);
}

MetricsSnapshot Metrics::Snapshot() const {
  MetricsSnapshot snapshot;
  snapshot.checkins_update = checkins_update_.load(std::memory_order_relaxed);
  snapshot.checkins_no_update = checkins_no_update_.load(std::memory_order_relaxed);
  snapshot.downloads = downloads_.load(std::memory_order_relaxed);
  snapshot.download_bytes = download_bytes_.load(std::memory_order_relaxed);
  for (size_t i = 0; i < kUpdateStateCount; ++i) {
    snapshot.events[i] = events_[i].load(std::memory_order_relaxed);
  }
  return snapshot;
}

Result<std::string> Metrics::Render(Store& store) const {
  Result<std::vector<Rollout>> rollouts = store.ListRollouts(RolloutQuery{});
  if (!rollouts.ok()) {
    return rollouts.status();
  }
  std::vector<RolloutGauge> gauges;
  for (Rollout& rollout : *rollouts) {
    if (rollout.state == RolloutState::kCompleted) {
      continue;
    }
    Result<Release> release = store.GetRelease(rollout.release_id);
    Result<RolloutCounts> counts = store.CountRolloutDevices(rollout.id);
    if (!release.ok()) {
      return release.status();
    }
    if (!counts.ok()) {
      return counts.status();
    }
    gauges.push_back(RolloutGauge{std::move(rollout), release->version, release->project,
                                  release->chip, *counts});
  }
  return RenderMetrics(Snapshot(), gauges);
}

}  // namespace aloft::server
