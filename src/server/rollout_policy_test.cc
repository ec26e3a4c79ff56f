#include "server/rollout_policy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "support/status_testing.h"

namespace aloft::server {
namespace {

// Golden values computed independently (Python hashlib) from the documented formula.
TEST(RolloutBucket, KnownInputs_MatchIndependentComputation) {
  struct Case {
    int64_t rollout_id;
    const char* device_id;
    uint32_t bucket;
  };
  const Case cases[] = {
      {1, "c3-0001", 6897},
      {7, "dev-00042", 3691},
      {123456789, "a", 3072},
      {0, "x", 1083},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(RolloutBucket(c.rollout_id, c.device_id), c.bucket)
        << c.rollout_id << " " << c.device_id;
  }
}

TEST(RolloutBucket, TenPercentOfTenThousandIds_LandWithinTolerance) {
  int in = 0;
  for (int i = 0; i < 10'000; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "dev-%05d", i);
    in += InRolloutPercentage(42, id, 1000) ? 1 : 0;
  }
  // Binomial(10000, 0.1): sd 30. The exact count for these ids is 1008 (Python agrees).
  EXPECT_EQ(in, 1008);
  EXPECT_NEAR(in, 1000, 90);
}

TEST(RolloutBucket, EachBucketValue_IsUniformEnough) {
  // 100,000 ids over 10 deciles: each decile within 3% of 10,000.
  int deciles[10] = {};
  for (int i = 0; i < 100'000; ++i) {
    ++deciles[RolloutBucket(9, "d" + std::to_string(i)) / 1000];
  }
  for (int count : deciles) {
    EXPECT_NEAR(count, 10'000, 300);
  }
}

TEST(RolloutBucket, RaisingThePercentage_KeepsEveryDeviceAlreadyIn) {
  const uint32_t steps[] = {0, 1, 50, 100, 500, 1000, 2000, 5000, 9999, 10000};
  for (int i = 0; i < 5'000; ++i) {
    const std::string id = "m-" + std::to_string(i);
    bool was_in = false;
    for (uint32_t percent_bp : steps) {
      const bool in = InRolloutPercentage(3, id, percent_bp);
      EXPECT_TRUE(in || !was_in) << id << " left the rollout at " << percent_bp;
      was_in = in;
    }
    EXPECT_FALSE(InRolloutPercentage(3, id, 0));
    EXPECT_TRUE(InRolloutPercentage(3, id, 10'000));
  }
}

TEST(RolloutBucket, TwoRollouts_BucketIndependently) {
  int both = 0;
  for (int i = 0; i < 10'000; ++i) {
    const std::string id = "dev-" + std::to_string(i);
    both += (InRolloutPercentage(1, id, 5000) && InRolloutPercentage(2, id, 5000)) ? 1 : 0;
  }
  EXPECT_NEAR(both, 2500, 200);  // independent halves overlap in a quarter
}

TEST(PercentToBasisPoints, Table) {
  struct Case {
    double percent;
    bool ok;
    uint32_t bp;
  };
  const Case cases[] = {
      {0, true, 0},       {100, true, 10'000}, {10, true, 1000},    {12.5, true, 1250},
      {0.01, true, 1},    {12.34, true, 1234}, {99.99, true, 9999}, {-0.01, false, 0},
      {100.01, false, 0}, {0.001, false, 0},   {33.333, false, 0},
  };
  for (const Case& c : cases) {
    const Result<uint32_t> bp = PercentToBasisPoints(c.percent);
    EXPECT_EQ(bp.ok(), c.ok) << c.percent;
    if (c.ok && bp.ok()) {
      EXPECT_EQ(*bp, c.bp) << c.percent;
    }
  }
  EXPECT_STATUS(PercentToBasisPoints(std::nan("")).status(),
                InvalidArgument("rollout: percent is not a number from 0 to 100"));
  EXPECT_STATUS(PercentToBasisPoints(1.005).status(),
                InvalidArgument("rollout: percent has more than two decimals"));
}

TEST(BasisPointsText, Table) {
  EXPECT_EQ(BasisPointsText(0), "0");
  EXPECT_EQ(BasisPointsText(10'000), "100");
  EXPECT_EQ(BasisPointsText(1250), "12.5");
  EXPECT_EQ(BasisPointsText(1), "0.01");
  EXPECT_EQ(BasisPointsText(1234), "12.34");
  EXPECT_EQ(BasisPointsText(500), "5");
}

// ---- eligibility --------------------------------------------------------------------------

ActiveRollout MakeCandidate(int64_t rollout_id, int64_t release_id, const std::string& version) {
  ActiveRollout candidate;
  candidate.rollout.id = rollout_id;
  candidate.rollout.release_id = release_id;
  candidate.rollout.percent_bp = 10'000;
  candidate.rollout.state = RolloutState::kActive;
  candidate.release.id = release_id;
  candidate.release.project = "thermo";
  candidate.release.chip = "esp32c3";
  candidate.release.chip_id = 5;
  candidate.release.version = version;
  candidate.release.secure_version = 2;
  candidate.release.size_bytes = 135'168;
  return candidate;
}

struct DeviceSpec {
  std::string id = "c3-0001";
  std::string project = "thermo";
  std::string chip = "esp32c3";
  std::string version = "1.0.0";
  uint32_t secure_version = 1;
  std::vector<std::string> tags = {"beta", "lab"};
  std::vector<int64_t> failed_rollouts;

  CheckinFacts facts() const {
    return {id, project, chip, version, secure_version, tags, failed_rollouts};
  }
};

TEST(CheckEligibility, Table) {
  struct Case {
    const char* name;
    void (*device)(DeviceSpec&);
    void (*candidate)(ActiveRollout&);
    Status expected;
  };
  const Case cases[] = {
      {"eligible", [](DeviceSpec&) {}, [](ActiveRollout&) {}, OkStatus()},
      {"paused", [](DeviceSpec&) {},
       [](ActiveRollout& c) { c.rollout.state = RolloutState::kPaused; },
       FailedPrecondition("rollout: not active")},
      {"halted", [](DeviceSpec&) {},
       [](ActiveRollout& c) { c.rollout.state = RolloutState::kHalted; },
       FailedPrecondition("rollout: not active")},
      {"other project", [](DeviceSpec& d) { d.project = "oven"; }, [](ActiveRollout&) {},
       PermissionDenied("rollout: release is for another project")},
      {"other chip", [](DeviceSpec& d) { d.chip = "esp32s3"; }, [](ActiveRollout&) {},
       PermissionDenied("rollout: release is for another chip")},
      {"has every tag", [](DeviceSpec&) {},
       [](ActiveRollout& c) {
         c.rollout.tags = {"beta", "lab"};
       },
       OkStatus()},
      {"lacks a tag", [](DeviceSpec& d) { d.tags = {"beta"}; },
       [](ActiveRollout& c) {
         c.rollout.tags = {"beta", "lab"};
       },
       PermissionDenied("rollout: device lacks a rollout tag")},
      {"no tags at all", [](DeviceSpec& d) { d.tags = {}; },
       [](ActiveRollout& c) { c.rollout.tags = {"beta"}; },
       PermissionDenied("rollout: device lacks a rollout tag")},
      {"at min_version", [](DeviceSpec&) {},
       [](ActiveRollout& c) { c.rollout.min_version = "1.0.0"; }, OkStatus()},
      {"below min_version", [](DeviceSpec& d) { d.version = "0.9.9"; },
       [](ActiveRollout& c) { c.rollout.min_version = "1.0.0"; },
       PermissionDenied("rollout: device version is below min_version")},
      {"prerelease below min_version", [](DeviceSpec& d) { d.version = "1.0.0-rc1"; },
       [](ActiveRollout& c) { c.rollout.min_version = "1.0.0"; },
       PermissionDenied("rollout: device version is below min_version")},
      {"unordered version vs min_version", [](DeviceSpec& d) { d.version = "6970792-dirty"; },
       [](ActiveRollout& c) { c.rollout.min_version = "1.0.0"; },
       PermissionDenied("rollout: device version cannot be ordered against min_version")},
      {"already on the release", [](DeviceSpec& d) { d.version = "2.0.0"; }, [](ActiveRollout&) {},
       PermissionDenied("rollout: device already runs the release")},
      {"failed this rollout",
       [](DeviceSpec& d) {
         d.failed_rollouts = {7, 1};
       },
       [](ActiveRollout&) {}, PermissionDenied("rollout: device failed this rollout")},
      {"failed other rollouts only",
       [](DeviceSpec& d) {
         d.failed_rollouts = {2, 7};
       },
       [](ActiveRollout&) {}, OkStatus()},
      {"failed it, but now on the release",
       [](DeviceSpec& d) {
         d.version = "2.0.0";
         d.failed_rollouts = {1};
       },
       [](ActiveRollout&) {}, PermissionDenied("rollout: device already runs the release")},
      {"outside the percentage", [](DeviceSpec&) {},
       [](ActiveRollout& c) { c.rollout.percent_bp = 0; },
       PermissionDenied("rollout: device is outside the rollout percentage")},
      {"newer than the release", [](DeviceSpec& d) { d.version = "3.0.0"; }, [](ActiveRollout&) {},
       PermissionDenied("update: release version is older than the running version")},
      {"same precedence", [](DeviceSpec& d) { d.version = "v2.0.0"; }, [](ActiveRollout&) {},
       PermissionDenied("update: release version equals the running version")},
      {"secure_version floor above", [](DeviceSpec& d) { d.secure_version = 3; },
       [](ActiveRollout&) {},
       Status(Status::Code::kPermissionDenied,
              "update: secure_version is below the anti-rollback floor", 2)},
      {"below min_running_version", [](DeviceSpec&) {},
       [](ActiveRollout& c) { c.release.min_running_version = "1.5.0"; },
       PermissionDenied("update: running version is below min_running_version")},
      {"unordered running version", [](DeviceSpec& d) { d.version = "dev-build"; },
       [](ActiveRollout&) {},
       PermissionDenied("update: release or running version is not a semantic version")},
  };
  for (const Case& c : cases) {
    DeviceSpec device;
    c.device(device);
    ActiveRollout candidate = MakeCandidate(1, 10, "2.0.0");
    c.candidate(candidate);
    EXPECT_STATUS(CheckEligibility(device.facts(), candidate), c.expected) << c.name;
  }
}

TEST(CheckEligibility, PartialPercentage_FollowsTheBucket) {
  DeviceSpec device;
  ActiveRollout candidate = MakeCandidate(1, 10, "2.0.0");
  candidate.rollout.percent_bp = 1000;
  int offered = 0;
  for (int i = 0; i < 2'000; ++i) {
    device.id = "dev-" + std::to_string(i);
    const bool eligible = CheckEligibility(device.facts(), candidate).ok();
    EXPECT_EQ(eligible, RolloutBucket(1, device.id) < 1000) << device.id;
    offered += eligible ? 1 : 0;
  }
  EXPECT_NEAR(offered, 200, 45);
}

TEST(ChooseRollout, NewestEligibleReleaseWins) {
  DeviceSpec device;
  std::vector<ActiveRollout> candidates = {
      MakeCandidate(1, 10, "1.5.0"), MakeCandidate(2, 11, "2.0.0"), MakeCandidate(3, 12, "1.9.0")};
  EXPECT_EQ(ChooseRollout(device.facts(), candidates), std::optional<size_t>(1));

  candidates[1].rollout.tags = {"nightly"};  // the newest is not for this device
  EXPECT_EQ(ChooseRollout(device.facts(), candidates), std::optional<size_t>(2));

  candidates[0].rollout.percent_bp = 0;
  candidates[2].rollout.state = RolloutState::kPaused;
  EXPECT_EQ(ChooseRollout(device.facts(), candidates), std::nullopt);
  EXPECT_EQ(ChooseRollout(device.facts(), {}), std::nullopt);
}

TEST(ChooseRollout, FailedRollout_NotOfferedAgain_NextEligibleWins) {
  DeviceSpec device;
  const std::vector<ActiveRollout> candidates = {MakeCandidate(1, 10, "1.5.0"),
                                                 MakeCandidate(2, 11, "2.0.0")};
  EXPECT_EQ(ChooseRollout(device.facts(), candidates), std::optional<size_t>(1));
  device.failed_rollouts = {2};  // rolled back from 2.0.0: offered the older 1.5.0 instead
  EXPECT_EQ(ChooseRollout(device.facts(), candidates), std::optional<size_t>(0));
  device.failed_rollouts = {2, 1};
  EXPECT_EQ(ChooseRollout(device.facts(), candidates), std::nullopt);
  // Another device of the same rollouts is unaffected.
  DeviceSpec other;
  other.id = "c3-0002";
  EXPECT_EQ(ChooseRollout(other.facts(), candidates), std::optional<size_t>(1));
}

TEST(ChooseRollout, SamePrecedence_LaterPublishedReleaseWins) {
  DeviceSpec device;
  std::vector<ActiveRollout> candidates = {MakeCandidate(1, 12, "2.0.0+b2"),
                                           MakeCandidate(2, 11, "2.0.0+b1")};
  EXPECT_EQ(ChooseRollout(device.facts(), candidates), std::optional<size_t>(0));
}

TEST(IsFailureState, Table) {
  EXPECT_FALSE(IsFailureState(UpdateState::kOffered));
  EXPECT_FALSE(IsFailureState(UpdateState::kDownloading));
  EXPECT_FALSE(IsFailureState(UpdateState::kDownloaded));
  EXPECT_FALSE(IsFailureState(UpdateState::kVerified));
  EXPECT_FALSE(IsFailureState(UpdateState::kRebooting));
  EXPECT_FALSE(IsFailureState(UpdateState::kConfirmed));
  EXPECT_TRUE(IsFailureState(UpdateState::kFailed));
  EXPECT_TRUE(IsFailureState(UpdateState::kRolledBack));
}

TEST(IsTerminalState, Table) {
  EXPECT_FALSE(IsTerminalState(UpdateState::kOffered));
  EXPECT_FALSE(IsTerminalState(UpdateState::kDownloading));
  EXPECT_FALSE(IsTerminalState(UpdateState::kDownloaded));
  EXPECT_FALSE(IsTerminalState(UpdateState::kVerified));
  EXPECT_FALSE(IsTerminalState(UpdateState::kRebooting));
  EXPECT_TRUE(IsTerminalState(UpdateState::kConfirmed));
  EXPECT_TRUE(IsTerminalState(UpdateState::kFailed));
  EXPECT_TRUE(IsTerminalState(UpdateState::kRolledBack));
}

// ---- halting ------------------------------------------------------------------------------

RolloutCounts Counts(int64_t confirmed, int64_t failed, int64_t rolled_back,
                     int64_t downloading = 0) {
  RolloutCounts counts;
  counts.by_state[static_cast<size_t>(UpdateState::kConfirmed)] = confirmed;
  counts.by_state[static_cast<size_t>(UpdateState::kFailed)] = failed;
  counts.by_state[static_cast<size_t>(UpdateState::kRolledBack)] = rolled_back;
  counts.by_state[static_cast<size_t>(UpdateState::kDownloading)] = downloading;
  return counts;
}

TEST(DecideHalt, Table) {
  struct Case {
    RolloutCounts counts;
    double rate;
    uint32_t min_sample;
    bool halt;
    int64_t finished;
    int64_t failures;
    const char* reason;
  };
  const Case cases[] = {
      {Counts(0, 0, 0), 0.10, 10, false, 0, 0, ""},
      {Counts(9, 0, 0, 50), 0.10, 10, false, 9, 0, ""},
      {Counts(0, 9, 0), 0.10, 10, false, 9, 9, ""},   // all failed, but below the sample
      {Counts(9, 1, 0), 0.10, 10, false, 10, 1, ""},  // exactly 10%: not above
      {Counts(9, 0, 2), 0.10, 10, true, 11, 2,
       "halted: 2 of 11 finished devices failed (18.2% > 10.0%)"},
      {Counts(9, 2, 1), 0.10, 10, true, 12, 3,
       "halted: 3 of 12 finished devices failed (25.0% > 10.0%)"},
      {Counts(90, 10, 0), 0.10, 10, false, 100, 10, ""},
      {Counts(89, 11, 0), 0.10, 10, true, 100, 11,
       "halted: 11 of 100 finished devices failed (11.0% > 10.0%)"},
      {Counts(1, 1, 0), 0.25, 2, true, 2, 1,
       "halted: 1 of 2 finished devices failed (50.0% > 25.0%)"},
      {Counts(0, 1, 0), 0.0, 1, true, 1, 1,
       "halted: 1 of 1 finished devices failed (100.0% > 0.0%)"},
      {Counts(5, 0, 0), 0.0, 1, false, 5, 0, ""},
      {Counts(0, 3, 3), 1.0, 1, false, 6, 6, ""},  // rate 1.0 never halts
  };
  for (const Case& c : cases) {
    const HaltDecision decision = DecideHalt(c.counts, c.rate, c.min_sample);
    EXPECT_EQ(decision.halt, c.halt) << c.reason;
    EXPECT_EQ(decision.finished, c.finished);
    EXPECT_EQ(decision.failures, c.failures);
    EXPECT_EQ(decision.reason, c.reason);
  }
}

}  // namespace
}  // namespace aloft::server
