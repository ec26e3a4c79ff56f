#pragma once
// The rollout decisions, as pure functions (no I/O, no clock, no store): which bucket a device
// falls in, whether a device may be offered a rollout's release, which of several rollouts wins,
// and when a rollout halts itself. The check-in and event handlers call these and nothing else
// decides; every rule is a table row in rollout_policy_test.cc. The model: the store's README.md.
//
// Bucket: the first 4 bytes (big-endian) of SHA-256("aloft-bucket-v1\0" + decimal rollout id +
// "\0" + device id), mod 10000. A device is in a rollout of p basis points iff bucket < p, so
// raising 5% to 20% keeps every device of the first 5%, and two rollouts bucket independently.
// Thread-safe (stateless).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"
#include "server/store/records.h"

namespace aloft::server {

inline constexpr uint32_t kBucketCount = 10'000;  // basis points: 100% = 10000
// Defaults of the halt rule: halt above 10% failures once 10 devices have finished.
inline constexpr double kDefaultHaltFailureRate = 0.10;
inline constexpr uint32_t kDefaultMinSample = 10;

// The device's bucket in the rollout, 0..9999.
uint32_t RolloutBucket(int64_t rollout_id, std::string_view device_id);

// True iff the device's bucket is below percent_bp.
bool InRolloutPercentage(int64_t rollout_id, std::string_view device_id, uint32_t percent_bp);

// A percentage (0..100, at most two decimals: 12.5, 0.01) in basis points. kInvalidArgument
// "rollout: percent is not a number from 0 to 100", "rollout: percent has more than two
// decimals".
Result<uint32_t> PercentToBasisPoints(double percent);
// "12.5", "100", "0.05": the shortest decimal text of a basis-point value as a percentage.
std::string BasisPointsText(uint32_t percent_bp);

// What a check-in says about the device (already validated).
struct CheckinFacts {
  std::string_view device_id;
  std::string_view project;
  std::string_view chip;     // chip name, as in kChips ("esp32c3")
  std::string_view version;  // the running firmware's version
  uint32_t secure_version = 0;
  std::span<const std::string> tags;  // sorted, unique (CanonicalTags)
  // The rollouts in which the device's latest state is failed or rolled_back (any order): the
  // rollout cache's RolloutSet::FailedRollouts.
  std::span<const int64_t> failed_rollouts = {};
};

// Whether the device may be offered this rollout's release. OK, or the first rule that
// refuses, in this order:
//   kFailedPrecondition "rollout: not active"
//   kPermissionDenied   "rollout: release is for another project"
//   kPermissionDenied   "rollout: release is for another chip"
//   kPermissionDenied   "rollout: device lacks a rollout tag"
//   kPermissionDenied   "rollout: device version is below min_version"
//   kPermissionDenied   "rollout: device version cannot be ordered against min_version"
//   kPermissionDenied   "rollout: device already runs the release"
//   kPermissionDenied   "rollout: device failed this rollout" (its id is in failed_rollouts:
//                       a device whose update failed or rolled back is not offered the same
//                       rollout again; a new rollout of the release is offered afresh)
//   kPermissionDenied   "rollout: device is outside the rollout percentage"
//   then core::EvaluateUpdate's refusals for the device (newer version, secure_version floor,
//   min_running_version; the server does not know the slot size, so size is not checked here —
//   the device checks it).
Status CheckEligibility(const CheckinFacts& device, const ActiveRollout& candidate);

// The rollout to offer: among the eligible candidates, the one whose release is newest
// (semantic-version order; equal or unordered versions: the higher release id, i.e. the later
// published). nullopt if none is eligible. Returns an index into `candidates`.
std::optional<size_t> ChooseRollout(const CheckinFacts& device,
                                    std::span<const ActiveRollout> candidates);

// True for the states that end a device's part in a rollout: confirmed, failed, rolled_back.
bool IsTerminalState(UpdateState state);
// True for the terminal states that count as failures: failed, rolled_back.
bool IsFailureState(UpdateState state);

// The halt rule over a rollout's device counts: finished = confirmed + failed + rolled_back,
// failures = failed + rolled_back; halt iff finished >= min_sample and failures / finished >
// halt_failure_rate. The reason says the numbers:
//   "halted: 3 of 12 finished devices failed (25.0% > 10.0%)".
struct HaltDecision {
  bool halt = false;
  int64_t finished = 0;
  int64_t failures = 0;
  double failure_rate = 0;  // failures / finished, 0 when none finished
  std::string reason;       // set when halt
};
HaltDecision DecideHalt(const RolloutCounts& counts, double halt_failure_rate, uint32_t min_sample);

}  // namespace aloft::server
