#pragma once
// The power-cut sweep (mcuboot's simulator loop, STYLE.md §6): proves that an operation on flash
// leaves the device recoverable whenever power is lost. It runs the operation once without
// faults to count its N mutating flash ops, then for each op i in 1..N and each cut kind (power
// lost before op i; op i torn) it restores the starting image, runs the operation on a
// FaultyFlash armed with that cut, "reboots" (the FaultyFlash and everything the operation built
// are gone; only the flash bytes remain) and lets the scenario check its invariants on the
// frozen flash. Exhaustive by default; sampled (a seeded subset of the cut points) for big
// scenarios. Every failure names its cut ("power cut during op 7 (seed 0x...)"), which
// FaultPlan::WithCut replays exactly. Guide: docs/emulator.md.
//
//   class InstallScenario : public PowerCutScenario { ... };
//   TEST(Installer, PowerCutAnywhere_DeviceBoots) {
//     InstallScenario scenario;
//     EXPECT_TRUE(SurvivesPowerCuts(scenario, {.flash_size_bytes = 0x400000}));
//   }
//
// Test-only code (heap, std::string, gtest). Not thread-safe: one sweep per thread.

#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/port/flash.h"
#include "core/status.h"
#include "ports/host/emulated_flash.h"
#include "ports/host/fault_plan.h"
#include "ports/host/faulty_flash.h"

namespace aloft::testing {

// What a sweep exercises. The harness calls SetUp once, then Run and Check once per cut point.
// Run and Check must build every object they need afresh (nothing may survive a "reboot" except
// the flash) and must be deterministic: the same flash bytes must lead to the same flash calls.
// Run and Check may use gtest assertions (EXPECT_*, ASSERT_*): the harness captures their
// failures and reports each with the cut it happened under.
class PowerCutScenario {
 public:
  virtual ~PowerCutScenario() = default;

  // Writes the starting image onto a blank chip (all 0xFF); every run starts from its result.
  virtual void SetUp(host::EmulatedFlash& flash) = 0;

  // The operation under test, on a flash that may lose power at any mutating op. Returns the
  // operation's outcome; after a cut every flash call returns kAborted and the operation must
  // fail (a success after a cut means an error was swallowed, which the harness reports).
  virtual Status Run(port::Flash& flash) = 0;

  // After the reboot: runs boot / recovery on the frozen flash and asserts the invariants.
  // `cut` is where power was lost (nullopt for the uninterrupted run, which must also pass);
  // `run_status` is what Run returned. Check may write to the flash (recovery does); the next
  // run starts again from the starting image.
  virtual void Check(host::EmulatedFlash& flash, const std::optional<host::PowerCut>& cut,
                     const Status& run_status) = 0;
};

struct SweepOptions {
  // The chip every run uses (in memory).
  uint32_t flash_size_bytes = 0x400000;
  uint32_t sector_size = host::EmulatedFlash::kDefaultSectorSize;
  host::FaultyFlashOptions flash_options;

  // The cut kinds tried at each op: a clean cut before it, and `torn_variants` tears of it, each
  // with its own seed (derived from `seed`, the op and the variant).
  bool cut_before = true;
  bool cut_during = true;
  uint32_t torn_variants = 1;

  // 0: every cut point. Otherwise this many distinct cut points, drawn from `seed`.
  uint64_t sample = 0;
  // Seeds the tears and the sample. The environment variable ALOFT_SWEEP_SEED (decimal or 0x
  // hex), when set, overrides it, so a printed seed can be replayed without editing the test.
  uint64_t seed = 1;

  // Stop after this many failures (0: never stop early).
  uint32_t max_failures = 10;
  // Report a run that returns OK after the power was cut (an error swallowed on the way up).
  bool require_error_after_cut = true;
};

struct SweepFailure {
  std::optional<host::PowerCut> cut;  // nullopt: the uninterrupted run (or the setup)
  std::string message;                // what went wrong, with file:line for gtest failures
};

struct SweepReport {
  uint64_t op_count = 0;  // N: mutating ops of the uninterrupted run
  uint64_t runs = 0;      // runs made, the uninterrupted one included
  uint64_t seed = 0;      // the seed actually used
  bool sampled = false;
  bool stopped_early = false;  // max_failures was reached
  std::vector<SweepFailure> failures;

  bool ok() const { return failures.empty(); }
  // One line of totals, then one line per failure: "<cut>: <message>".
  std::string Summary() const;
};

// Runs the sweep. Failures are returned, never raised as gtest failures, so a test can assert on
// them (e.g. that a broken design is caught). Sampled sweeps print their seed to stdout.
SweepReport RunPowerCutSweep(PowerCutScenario& scenario, const SweepOptions& options = {});

// Runs the sweep; success if no cut point failed, else the report's summary.
// Usage: EXPECT_TRUE(SurvivesPowerCuts(scenario, options));
::testing::AssertionResult SurvivesPowerCuts(PowerCutScenario& scenario,
                                             const SweepOptions& options = {});

// The seed of the v-th tear of op `op` in a sweep seeded with `seed`.
uint64_t TornSeed(uint64_t seed, uint64_t op, uint32_t variant);

}  // namespace aloft::testing
