// Power cuts during a whole update, at every flash operation (clean and torn) and at every
// KeyValue write (landed or not): after each, the device boots (the old image while the new one
// is not installed), the agent picks up from its record, and the update completes and is
// confirmed. The sweep is exhaustive; a failure names the cut, which replays it exactly.

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "agent_harness.h"
#include "ports/host/fault_plan.h"
#include "support/status_testing.h"

namespace aloft::testing {
namespace {

using agent::Phase;
using agent::StepResult;

struct Outcome {
  bool power_lost = false;
  // The agent's phase in RAM when it stopped; nullopt when the cut hit a boot (no agent yet).
  std::optional<Phase> phase_at_cut;
  uint32_t boots_before_cut = 0;
  std::string booted_after;  // the version the first boot after the cut ran
  std::string final_version;
  bool confirmed = false;
  bool old_image_intact = false;
  std::string failure;
};

// Runs the update from v1 to v2 with `plan` on the flash and, optionally, a cut at KeyValue
// write `kv_cut` (landed or not); then powers on again and lets it finish.
Outcome RunWithCut(const host::FaultPlan& plan, uint64_t kv_cut, bool kv_lands,
                   uint64_t* flash_ops = nullptr, uint64_t* kv_sets = nullptr) {
  Outcome outcome;
  AgentRig rig;
  rig.server_.offer = rig.Release("2.0.0");
  const std::vector<std::byte> v1 = rig.v1_.image;
  {
    host::FaultyFlash faulty(*rig.flash_, plan);
    rig.kv_.set_flash(&faulty);
    if (kv_cut != 0) {
      rig.kv_.CutAtSet(kv_cut, kv_lands);
    }
    rig.PowerOn(&faulty);
    Result<StepResult> r = rig.RunUntil([&] { return rig.Settled(); });
    if (flash_ops != nullptr) {
      *flash_ops = faulty.mutating_op_count();
    }
    if (kv_sets != nullptr) {
      *kv_sets = rig.kv_.sets();
    }
    outcome.power_lost = faulty.power_lost() || rig.kv_.power_lost();
    if (!outcome.power_lost) {
      outcome.final_version = rig.RunningVersion();
      outcome.confirmed = rig.server_.Received("confirmed");
      outcome.old_image_intact = true;
      return outcome;
    }
    // The agent stops (kDead), or the boot before it failed (a cut during the bootloader's own
    // otadata write).
    const bool stopped =
        r.ok() ? *r == StepResult::kDead : r.status().code() == Status::Code::kAborted;
    if (!stopped) {
      outcome.failure = "the agent did not stop after the power cut";
    }
    if (rig.runtime_->agent() != nullptr) {
      outcome.phase_at_cut = rig.runtime_->agent()->phase();
    } else if (rig.runtime_->stats().boots == 0) {
      outcome.phase_at_cut = Phase::kIdle;  // the very first boot: nothing was installed yet
    }
    outcome.boots_before_cut = rig.runtime_->stats().boots;
    rig.runtime_.reset();
    rig.kv_.set_flash(nullptr);
    rig.kv_.Revive();
  }
  const std::vector<std::byte> ota0 =
      ReadRegion(*rig.flash_, kTutorialOta0, static_cast<uint32_t>(v1.size()));
  outcome.old_image_intact = ota0 == v1;
  rig.PowerOn();
  const Status booted = rig.runtime_->Boot();
  if (!booted.ok()) {
    outcome.failure = "no boot after the cut: " + DescribeStatus(booted);
    return outcome;
  }
  outcome.booted_after = std::string(rig.runtime_->last_boot()->app_description.version.view());
  Result<StepResult> r = rig.RunUntil([&] { return rig.Settled(); });
  outcome.final_version = rig.RunningVersion();
  outcome.confirmed = rig.server_.Received("confirmed") || rig.server_.events.empty();
  if (!r.ok() || !rig.Settled()) {
    outcome.failure = "did not settle after the cut";
  }
  // Every report the server got says where the device was; the last one, that it is done.
  if (!rig.server_.events.empty() &&
      rig.server_.events.back().at("state").as_string() != "confirmed") {
    outcome.failure =
        "last report is " + std::string(rig.server_.events.back().at("state").as_string());
  }
  return outcome;
}

void ExpectRecovered(const Outcome& outcome, const std::string& where) {
  EXPECT_TRUE(outcome.failure.empty()) << where << ": " << outcome.failure;
  EXPECT_TRUE(outcome.old_image_intact) << where;
  EXPECT_EQ(outcome.final_version, "2.0.0") << where;
  EXPECT_TRUE(outcome.confirmed) << where;
  // Until Finish switched the boot slot, the device comes back on the old image: before the
  // first reset, while checking or downloading.
  if (outcome.power_lost && outcome.boots_before_cut <= 1 &&
      (outcome.phase_at_cut == Phase::kIdle || outcome.phase_at_cut == Phase::kChecking ||
       outcome.phase_at_cut == Phase::kDownloading)) {
    EXPECT_EQ(outcome.booted_after, "1.0.0") << where;
  }
  if (outcome.power_lost) {
    EXPECT_TRUE(outcome.booted_after == "1.0.0" || outcome.booted_after == "2.0.0")
        << where << ": booted " << outcome.booted_after;
  }
}

TEST(AgentPowerCut, UninterruptedRun_CountsTheOperations) {
  uint64_t flash_ops = 0;
  uint64_t kv_sets = 0;
  const Outcome outcome = RunWithCut({}, 0, false, &flash_ops, &kv_sets);
  ExpectRecovered(outcome, "no cut");
  EXPECT_FALSE(outcome.power_lost);
  EXPECT_GT(flash_ops, 40u);
  EXPECT_GT(kv_sets, 6u);
}

TEST(AgentPowerCut, AtEveryFlashOperation_DeviceBootsThenCompletesTheUpdate) {
  uint64_t flash_ops = 0;
  RunWithCut({}, 0, false, &flash_ops);
  for (uint64_t op = 1; op <= flash_ops; ++op) {
    const Outcome before = RunWithCut(host::FaultPlan::CutBefore(op), 0, false);
    ExpectRecovered(before, host::Describe(host::FaultPlan::CutBefore(op)));
    const host::FaultPlan torn = host::FaultPlan::CutDuring(op, host::MixSeed(0x5eed, op));
    ExpectRecovered(RunWithCut(torn, 0, false), host::Describe(torn));
  }
}

TEST(AgentPowerCut, AtEveryKeyValueWrite_DeviceBootsThenCompletesTheUpdate) {
  uint64_t kv_sets = 0;
  RunWithCut({}, 0, false, nullptr, &kv_sets);
  for (uint64_t set = 1; set <= kv_sets; ++set) {
    for (bool lands : {false, true}) {
      const std::string where =
          "key-value write " + std::to_string(set) + (lands ? " (landed)" : " (lost)");
      const Outcome outcome = RunWithCut({}, set, lands);
      EXPECT_TRUE(outcome.power_lost) << where;
      ExpectRecovered(outcome, where);
    }
  }
}

}  // namespace
}  // namespace aloft::testing
