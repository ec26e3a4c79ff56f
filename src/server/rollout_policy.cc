#include "server/rollout_policy.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>

#include "core/format/app_image.h"
#include "core/release/manifest.h"
#include "core/release/semantic_version.h"
#include "core/release/version_policy.h"
#include "server/credentials.h"

namespace aloft::server {
namespace {

bool HasTag(std::span<const std::string> tags, const std::string& tag) {
  return std::binary_search(tags.begin(), tags.end(), tag);
}

}  // namespace

uint32_t RolloutBucket(int64_t rollout_id, std::string_view device_id) {
  // "aloft-bucket-v1\0" + decimal id + "\0" + device id: the NULs keep (12, "3x") and
  // (123, "x") apart.
  std::string message("aloft-bucket-v1", 15);
  message.push_back('\0');
  message += std::to_string(rollout_id);
  message.push_back('\0');
  message.append(device_id);
  const std::array<std::byte, 32> digest = Sha256Digest(AsBytes(message));
  const auto byte = [&digest](size_t i) { return static_cast<uint32_t>(digest[i]); };
  const uint32_t prefix = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
  return prefix % kBucketCount;
}

bool InRolloutPercentage(int64_t rollout_id, std::string_view device_id, uint32_t percent_bp) {
  return RolloutBucket(rollout_id, device_id) < percent_bp;
}

Result<uint32_t> PercentToBasisPoints(double percent) {
  if (!std::isfinite(percent) || percent < 0 || percent > 100) {
    return InvalidArgument("rollout: percent is not a number from 0 to 100");
  }
  const double scaled = percent * 100;
  const double rounded = std::round(scaled);
  // 12.34 * 100 is 1233.9999999999998 in binary floating point: allow that much, no more.
  if (std::fabs(scaled - rounded) > 1e-6) {
    return InvalidArgument("rollout: percent has more than two decimals");
  }
  return static_cast<uint32_t>(rounded);
}

std::string BasisPointsText(uint32_t percent_bp) {
  std::string text = std::to_string(percent_bp / 100);
  const uint32_t fraction = percent_bp % 100;
  if (fraction != 0) {
    char digits[4];
    std::snprintf(digits, sizeof(digits), ".%02u", fraction);
    text += digits;
    if (text.back() == '0') {
      text.pop_back();
    }
  }
  return text;
}

Status CheckEligibility(const CheckinFacts& device, const ActiveRollout& candidate) {
  const Rollout& rollout = candidate.rollout;
  const Release& release = candidate.release;
  if (rollout.state != RolloutState::kActive) {
    return FailedPrecondition("rollout: not active");
  }
  if (release.project != device.project) {
    return PermissionDenied("rollout: release is for another project");
  }
  if (release.chip != device.chip) {
    return PermissionDenied("rollout: release is for another chip");
  }
  for (const std::string& tag : rollout.tags) {
    if (!HasTag(device.tags, tag)) {
      return PermissionDenied("rollout: device lacks a rollout tag");
    }
  }
  if (!rollout.min_version.empty()) {
    switch (core::CompareVersions(rollout.min_version, device.version)) {
      case core::VersionOrder::kOlder:
        return PermissionDenied("rollout: device version is below min_version");
      case core::VersionOrder::kUnordered:
        return PermissionDenied("rollout: device version cannot be ordered against min_version");
      case core::VersionOrder::kSame:
      case core::VersionOrder::kNewer:
        break;
    }
  }
  if (release.version == device.version) {
    return PermissionDenied("rollout: device already runs the release");
  }
  // Offering it again would only repeat the failure (a crash-looping image boots again) until
  // the rollout halts, and below the halt threshold it never would.
  if (std::find(device.failed_rollouts.begin(), device.failed_rollouts.end(), rollout.id) !=
      device.failed_rollouts.end()) {
    return PermissionDenied("rollout: device failed this rollout");
  }
  if (!InRolloutPercentage(rollout.id, device.device_id, rollout.percent_bp)) {
    return PermissionDenied("rollout: device is outside the rollout percentage");
  }

  // The device's own policy, as it will run it: a release the device would refuse is never
  // offered (it would only cost a download).
  core::ReleaseManifest manifest;
  if (!manifest.project.Assign(release.project) || !manifest.version.Assign(release.version) ||
      !manifest.min_running_version.Assign(release.min_running_version)) {
    return PermissionDenied("rollout: release fields do not fit a manifest");
  }
  manifest.chip_id = static_cast<uint16_t>(release.chip_id);
  manifest.secure_version = release.secure_version;
  manifest.size_bytes = static_cast<uint32_t>(
      std::min<uint64_t>(release.size_bytes, std::numeric_limits<uint32_t>::max()));
  const std::optional<uint16_t> chip_id = core::ChipIdFromName(device.chip);
  core::DeviceFacts facts;
  facts.chip_id = chip_id.value_or(core::kChipIdInvalid);
  facts.project = device.project;
  facts.running_version = device.version;
  facts.secure_version_floor = device.secure_version;
  // The server does not know the device's slot size; the device checks that rule itself.
  facts.slot_size_bytes = std::numeric_limits<uint32_t>::max();
  return core::EvaluateUpdate(facts, manifest, core::UpdateOptions{});
}

std::optional<size_t> ChooseRollout(const CheckinFacts& device,
                                    std::span<const ActiveRollout> candidates) {
  std::optional<size_t> best;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (!CheckEligibility(device, candidates[i]).ok()) {
      continue;
    }
    if (!best.has_value()) {
      best = i;
      continue;
    }
    const Release& current = candidates[*best].release;
    const Release& other = candidates[i].release;
    const core::VersionOrder order = core::CompareVersions(current.version, other.version);
    if (order == core::VersionOrder::kNewer ||
        (order != core::VersionOrder::kOlder && other.id > current.id)) {
      best = i;
    }
  }
  return best;
}

bool IsTerminalState(UpdateState state) {
  switch (state) {
    case UpdateState::kConfirmed:
    case UpdateState::kFailed:
    case UpdateState::kRolledBack:
      return true;
    case UpdateState::kOffered:
    case UpdateState::kDownloading:
    case UpdateState::kDownloaded:
    case UpdateState::kVerified:
    case UpdateState::kRebooting:
      return false;
  }
  return false;
}

bool IsFailureState(UpdateState state) {
  return state == UpdateState::kFailed || state == UpdateState::kRolledBack;
}

HaltDecision DecideHalt(const RolloutCounts& counts, double halt_failure_rate,
                        uint32_t min_sample) {
  HaltDecision decision;
  decision.failures = counts.of(UpdateState::kFailed) + counts.of(UpdateState::kRolledBack);
  decision.finished = decision.failures + counts.of(UpdateState::kConfirmed);
  if (decision.finished == 0) {
    return decision;
  }
  decision.failure_rate =
      static_cast<double>(decision.failures) / static_cast<double>(decision.finished);
  if (decision.finished < static_cast<int64_t>(min_sample) ||
      !(decision.failure_rate > halt_failure_rate)) {
    return decision;
  }
  decision.halt = true;
  char text[160];
  std::snprintf(
      text, sizeof(text), "halted: %lld of %lld finished devices failed (%.1f%% > %.1f%%)",
      static_cast<long long>(decision.failures), static_cast<long long>(decision.finished),
      decision.failure_rate * 100, halt_failure_rate * 100);
  decision.reason = text;
  return decision;
}

}  // namespace aloft::server
