#include "support/power_cut_sweep.h"

#include <gtest/gtest-spi.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <numeric>
#include <utility>

namespace aloft::testing {
namespace {

using host::PowerCut;
using host::PowerCutKind;
using Cut = std::optional<PowerCut>;

std::string HexU64(uint64_t value) {
  char text[24];
  std::snprintf(text, sizeof(text), "0x%llx", static_cast<unsigned long long>(value));
  return text;
}

std::string DescribeCut(const Cut& cut) { return cut ? host::Describe(*cut) : "uninterrupted run"; }

std::string StatusText(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + " \"" + status.reason() + "\"";
  if (status.has_context()) {
    text += " (context " + HexU64(status.context()) + ")";
  }
  return text;
}

// Runs `body` with gtest's failure reporting redirected, and turns each failure raised in it
// (EXPECT_*, ASSERT_*, ADD_FAILURE) into a SweepFailure under `cut`.
template <typename Body>
void CaptureFailures(SweepReport& report, const Cut& cut, const char* phase, Body&& body) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    body();
  }
  for (int i = 0; i < results.size(); ++i) {
    const ::testing::TestPartResult& result = results.GetTestPartResult(i);
    if (!result.failed()) {
      continue;
    }
    std::string message = std::string(phase) + ": ";
    if (result.file_name() != nullptr) {
      message +=
          std::string(result.file_name()) + ":" + std::to_string(result.line_number()) + ": ";
    }
    message += result.message();
    report.failures.push_back({cut, std::move(message)});
  }
}

// The seed in effect: ALOFT_SWEEP_SEED if set, else the option. nullopt if the variable is set
// but is not a number (reported, never silently replaced).
std::optional<uint64_t> ResolveSeed(uint64_t option) {
  const char* text = std::getenv("ALOFT_SWEEP_SEED");
  if (text == nullptr || *text == '\0') {
    return option;
  }
  char* end = nullptr;
  errno = 0;
  const unsigned long long value = std::strtoull(text, &end, 0);
  if (errno != 0 || *end != '\0') {
    return std::nullopt;
  }
  return static_cast<uint64_t>(value);
}

// Cut points are numbered op-major: point p is op p / per_op + 1, kind index p % per_op, where
// kind index 0 is the clean cut (if enabled) and the rest are the tear variants.
class CutPoints {
 public:
  CutPoints(const SweepOptions& options, uint64_t seed, uint64_t op_count)
      : cut_before_(options.cut_before),
        torn_variants_(options.cut_during ? options.torn_variants : 0),
        seed_(seed),
        count_(op_count * per_op()) {}

  uint64_t count() const { return count_; }

  PowerCut At(uint64_t point) const {
    const uint64_t op = point / per_op() + 1;
    const uint64_t kind = point % per_op();
    if (cut_before_ && kind == 0) {
      return {op, PowerCutKind::kBefore, 0};
    }
    const auto variant = static_cast<uint32_t>(kind - (cut_before_ ? 1 : 0));
    return {op, PowerCutKind::kDuring, TornSeed(seed_, op, variant)};
  }

 private:
  uint64_t per_op() const { return (cut_before_ ? 1 : 0) + torn_variants_; }

  bool cut_before_;
  uint64_t torn_variants_;
  uint64_t seed_;
  uint64_t count_;
};

// `sample` distinct points out of `count`, in increasing order (a partial Fisher-Yates shuffle
// driven by MixSeed, so the choice depends on nothing but the seed).
std::vector<uint64_t> DrawSample(uint64_t count, uint64_t sample, uint64_t seed) {
  std::vector<uint64_t> points(count);
  std::iota(points.begin(), points.end(), uint64_t{0});
  for (uint64_t i = 0; i < sample; ++i) {
    const uint64_t j = i + host::MixSeed(seed ^ 0x5A3B1E5EEDull, i) % (count - i);
    std::swap(points[i], points[j]);
  }
  points.resize(sample);
  std::sort(points.begin(), points.end());
  return points;
}

// One run with a cut, the reboot and the check.
void RunCut(PowerCutScenario& scenario, host::EmulatedFlash& flash, const SweepOptions& options,
            const PowerCut& cut, SweepReport& report) {
  const Cut point = cut;
  if (Status restored = flash.RestoreCheckpoint(); !restored.ok()) {
    report.failures.push_back(
        {point, "cannot restore the starting image: " + StatusText(restored)});
    return;
  }
  Status run_status;
  uint64_t ops_made = 0;
  bool power_lost = false;
  {
    host::FaultyFlash faulty(flash, host::FaultPlan::WithCut(cut), options.flash_options);
    CaptureFailures(report, point, "run", [&] { run_status = scenario.Run(faulty); });
    ops_made = faulty.mutating_op_count();
    power_lost = faulty.power_lost();
  }  // The reboot: the decorator and all Run built are gone; only the flash bytes remain.
  ++report.runs;
  if (!power_lost) {
    report.failures.push_back(
        {point, "op " + std::to_string(cut.op) + " never happened: this run made " +
                    std::to_string(ops_made) + " mutating ops, the uninterrupted run " +
                    std::to_string(report.op_count) + " (is the scenario deterministic?)"});
    return;
  }
  if (options.require_error_after_cut && run_status.ok()) {
    report.failures.push_back({point, "run returned ok after the power was cut"});
  }
  CaptureFailures(report, point, "check", [&] { scenario.Check(flash, point, run_status); });
}

}  // namespace

uint64_t TornSeed(uint64_t seed, uint64_t op, uint32_t variant) {
  return host::MixSeed(host::MixSeed(seed, op), variant);
}

std::string SweepReport::Summary() const {
  std::string text = "power-cut sweep: " + std::to_string(op_count) + " mutating ops, " +
                     std::to_string(runs) + " runs (" + (sampled ? "sampled" : "exhaustive") +
                     ", seed " + HexU64(seed) + "): " + std::to_string(failures.size()) +
                     " failure(s)";
  if (stopped_early) {
    text += ", stopped early";
  }
  for (const SweepFailure& failure : failures) {
    text += "\n  " + DescribeCut(failure.cut) + ": " + failure.message;
  }
  return text;
}

SweepReport RunPowerCutSweep(PowerCutScenario& scenario, const SweepOptions& options) {
  SweepReport report;
  const std::optional<uint64_t> seed = ResolveSeed(options.seed);
  if (!seed) {
    report.failures.push_back({std::nullopt, "ALOFT_SWEEP_SEED is not a number"});
    return report;
  }
  report.seed = *seed;

  auto created = host::EmulatedFlash::CreateInMemory(options.flash_size_bytes, options.sector_size);
  if (!created.ok()) {
    report.failures.push_back(
        {std::nullopt, "cannot create the flash: " + StatusText(created.status())});
    return report;
  }
  host::EmulatedFlash& flash = **created;
  CaptureFailures(report, std::nullopt, "setup", [&] { scenario.SetUp(flash); });
  if (!report.ok()) {
    return report;
  }
  flash.SetCheckpoint();

  // The uninterrupted run counts the ops and must itself pass: if it does not, no cut result
  // means anything.
  Status run_status;
  {
    host::FaultyFlash faulty(flash, {}, options.flash_options);
    CaptureFailures(report, std::nullopt, "run", [&] { run_status = scenario.Run(faulty); });
    report.op_count = faulty.mutating_op_count();
  }
  ++report.runs;
  if (!run_status.ok()) {
    report.failures.push_back(
        {std::nullopt, "the uninterrupted run failed: " + StatusText(run_status)});
  }
  CaptureFailures(report, std::nullopt, "check",
                  [&] { scenario.Check(flash, std::nullopt, run_status); });
  if (!report.ok()) {
    return report;
  }

  const CutPoints points(options, report.seed, report.op_count);
  std::vector<uint64_t> chosen;
  if (options.sample != 0 && options.sample < points.count()) {
    report.sampled = true;
    chosen = DrawSample(points.count(), options.sample, report.seed);
    std::printf(
        "[ sweep    ] sampled %llu of %llu cut points, seed %s (ALOFT_SWEEP_SEED=%s "
        "replays it)\n",
        static_cast<unsigned long long>(options.sample),
        static_cast<unsigned long long>(points.count()), HexU64(report.seed).c_str(),
        HexU64(report.seed).c_str());
  }
  const uint64_t total = report.sampled ? chosen.size() : points.count();
  for (uint64_t i = 0; i < total; ++i) {
    if (options.max_failures != 0 && report.failures.size() >= options.max_failures) {
      report.stopped_early = true;
      break;
    }
    RunCut(scenario, flash, options, points.At(report.sampled ? chosen[i] : i), report);
  }
  return report;
}

::testing::AssertionResult SurvivesPowerCuts(PowerCutScenario& scenario,
                                             const SweepOptions& options) {
  const SweepReport report = RunPowerCutSweep(scenario, options);
  if (report.ok()) {
    return ::testing::AssertionSuccess() << report.Summary();
  }
  return ::testing::AssertionFailure() << report.Summary();
}

}  // namespace aloft::testing
