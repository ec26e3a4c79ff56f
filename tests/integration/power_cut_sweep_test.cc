// The power-cut sweep harness, proven on toy storage designs: it must find the bug in a design
// that can lose data at a power cut, find the bug that only torn operations expose, and pass a
// design that is correct under every cut.

#include "support/power_cut_sweep.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "core/bytes.h"
#include "core/crc32.h"
#include "core/try.h"

namespace aloft::testing {
namespace {

using host::EmulatedFlash;
using host::FaultPlan;
using host::PowerCut;
using host::PowerCutKind;

constexpr uint32_t kSector = 0x1000;

SweepOptions SmallFlash() {
  SweepOptions options;
  options.flash_size_bytes = 0x10000;
  options.max_failures = 0;
  return options;
}

bool HasCut(const SweepReport& report, const PowerCut& cut) {
  return std::any_of(report.failures.begin(), report.failures.end(),
                     [&](const SweepFailure& failure) { return failure.cut == cut; });
}

std::set<uint64_t> FailingOps(const SweepReport& report, PowerCutKind kind) {
  std::set<uint64_t> ops;
  for (const SweepFailure& failure : report.failures) {
    if (failure.cut && failure.cut->kind == kind) {
      ops.insert(failure.cut->op);
    }
  }
  return ops;
}

// ---- Design 1: a two-sector journal record rewritten in place (erase, then write), with no
// second copy and no commit flag. A cut anywhere after the erase loses the record. ----

class InPlaceRecord : public PowerCutScenario {
 public:
  static constexpr uint32_t kOffset = 0x0;
  static constexpr uint32_t kSize = 2 * kSector;
  static constexpr uint32_t kChunk = 0x400;

  static std::vector<std::byte> Record(uint8_t version) {
    std::vector<std::byte> bytes(kSize);
    for (size_t i = 0; i < bytes.size(); ++i) {
      bytes[i] = static_cast<std::byte>((version * 31 + i * 7) & 0x7F);
    }
    return bytes;
  }

  static Status WriteRecord(port::Flash& flash, uint8_t version) {
    ALOFT_TRY(flash.Erase(kOffset, kSize));
    const std::vector<std::byte> record = Record(version);
    for (uint32_t done = 0; done < kSize; done += kChunk) {
      ALOFT_TRY(flash.Write(kOffset + done, ConstByteSpan(record).subspan(done, kChunk)));
    }
    return OkStatus();
  }

  void SetUp(EmulatedFlash& flash) override { ASSERT_TRUE(WriteRecord(flash, 1).ok()); }
  Status Run(port::Flash& flash) override { return WriteRecord(flash, 2); }
  void Check(EmulatedFlash& flash, const std::optional<PowerCut>& cut, const Status&) override {
    std::vector<std::byte> now(kSize);
    ASSERT_TRUE(flash.Read(kOffset, now).ok());
    if (!cut) {
      EXPECT_TRUE(now == Record(2)) << "the update did not complete";
      return;
    }
    EXPECT_TRUE(now == Record(1) || now == Record(2)) << "journal record lost";
  }
};

TEST(PowerCutSweep, InPlaceRecord_CleanCutsAfterTheErase_Fail) {
  InPlaceRecord scenario;
  SweepOptions options = SmallFlash();
  options.cut_during = false;
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_EQ(report.op_count, 9u);  // one erase, eight 1 KiB writes
  EXPECT_EQ(report.runs, 10u);
  // Before op 1 the old record is intact; before ops 2..9 it is erased or half rewritten.
  EXPECT_EQ(FailingOps(report, PowerCutKind::kBefore),
            (std::set<uint64_t>{2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(report.failures.size(), 8u);
  ASSERT_FALSE(report.failures.empty());
  EXPECT_NE(report.failures[0].message.find("journal record lost"), std::string::npos)
      << report.failures[0].message;
  EXPECT_NE(report.failures[0].message.find("check: "), std::string::npos);
  EXPECT_NE(report.failures[0].message.find("power_cut_sweep_test.cc"), std::string::npos);
}

TEST(PowerCutSweep, InPlaceRecord_WithTears_FirstFailureIsTornEraseWithItsSeed) {
  InPlaceRecord scenario;
  const SweepReport report = RunPowerCutSweep(scenario, SmallFlash());
  EXPECT_EQ(report.runs, 1u + 9u * 2u);
  ASSERT_FALSE(report.failures.empty());
  const PowerCut first{1, PowerCutKind::kDuring, TornSeed(report.seed, 1, 0)};
  EXPECT_EQ(report.failures[0].cut, first);
  EXPECT_TRUE(HasCut(report, {2, PowerCutKind::kBefore, 0}));
  EXPECT_EQ(FailingOps(report, PowerCutKind::kDuring),
            (std::set<uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  // The summary names each cut so that it can be replayed.
  const std::string summary = report.Summary();
  EXPECT_NE(summary.find("power cut before op 2: check: "), std::string::npos) << summary;
  EXPECT_NE(summary.find("power cut during op 1 (seed 0x"), std::string::npos) << summary;
  EXPECT_NE(summary.find("9 mutating ops, 19 runs (exhaustive"), std::string::npos) << summary;
}

TEST(PowerCutSweep, MaxFailures_StopsEarly) {
  InPlaceRecord scenario;
  SweepOptions options = SmallFlash();
  options.max_failures = 3;
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_EQ(report.failures.size(), 3u);
  EXPECT_TRUE(report.stopped_early);
  EXPECT_NE(report.Summary().find("stopped early"), std::string::npos);
  EXPECT_FALSE(SurvivesPowerCuts(scenario, options));
}

// ---- Designs 2 and 3: two slots; the new copy is written to the other slot before the old one
// is invalidated, and the reader takes the slot with the highest sequence number. Without a
// checksum, a torn write or erase can leave a slot that looks newer but holds garbage; clean cuts
// alone never show it. With a CRC over the record, every cut leaves the old or the new value. ----

class TwoSlotRecord : public PowerCutScenario {
 public:
  static constexpr uint32_t kSlots[2] = {0x4000, 0x5000};
  static constexpr uint32_t kOldValue = 100;
  static constexpr uint32_t kNewValue = 200;

  explicit TwoSlotRecord(bool with_crc) : with_crc_(with_crc) {}

  // The value the reader boots with: the highest sequence among readable slots.
  static std::optional<uint32_t> ReadValue(port::Flash& flash, bool with_crc) {
    std::optional<uint32_t> best_seq;
    std::optional<uint32_t> value;
    for (uint32_t slot : kSlots) {
      std::array<std::byte, 12> record;
      if (!flash.Read(slot, record).ok()) {
        return std::nullopt;
      }
      const uint32_t seq = LoadLe32(record, 0);
      if (seq == 0xFFFFFFFF) {
        continue;  // erased slot
      }
      if (with_crc &&
          EspRomCrc32Le(0xFFFFFFFF, ConstByteSpan(record).first(8)) != LoadLe32(record, 8)) {
        continue;
      }
      if (!best_seq || seq > *best_seq) {
        best_seq = seq;
        value = LoadLe32(record, 4);
      }
    }
    return value;
  }

  Status WriteSlot(port::Flash& flash, uint32_t slot, uint32_t seq, uint32_t value) const {
    std::array<std::byte, 12> record;
    StoreLe32(record, 0, seq);
    StoreLe32(record, 4, value);
    StoreLe32(record, 8, EspRomCrc32Le(0xFFFFFFFF, ConstByteSpan(record).first(8)));
    ALOFT_TRY(flash.Erase(slot, kSector));
    return flash.Write(slot, ConstByteSpan(record).first(with_crc_ ? 12 : 8));
  }

  void SetUp(EmulatedFlash& flash) override {
    ASSERT_TRUE(WriteSlot(flash, kSlots[0], 1, kOldValue).ok());
  }
  Status Run(port::Flash& flash) override {
    ALOFT_TRY(WriteSlot(flash, kSlots[1], 2, kNewValue));  // ops 1 (erase) and 2 (write)
    return flash.Erase(kSlots[0], kSector);                // op 3: invalidate the old copy
  }
  void Check(EmulatedFlash& flash, const std::optional<PowerCut>& cut,
             const Status& run_status) override {
    const std::optional<uint32_t> value = ReadValue(flash, with_crc_);
    ASSERT_TRUE(value.has_value()) << "no readable record";
    if (!cut) {
      EXPECT_TRUE(run_status.ok());
      EXPECT_EQ(*value, kNewValue);
      return;
    }
    EXPECT_EQ(run_status.code(), Status::Code::kAborted);
    EXPECT_TRUE(*value == kOldValue || *value == kNewValue) << "booted with value " << *value;
  }

 private:
  bool with_crc_;
};

TEST(PowerCutSweep, TwoSlotsNoChecksum_CleanCutsOnly_Pass) {
  TwoSlotRecord scenario(/*with_crc=*/false);
  SweepOptions options = SmallFlash();
  options.cut_during = false;
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.op_count, 3u);
  EXPECT_EQ(report.runs, 4u);
}

TEST(PowerCutSweep, TwoSlotsNoChecksum_TornOps_Fail) {
  TwoSlotRecord scenario(/*with_crc=*/false);
  SweepOptions options = SmallFlash();
  options.torn_variants = 8;
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_FALSE(report.ok());
  EXPECT_TRUE(FailingOps(report, PowerCutKind::kBefore).empty());
  // A torn write of the new record leaves a newer-looking slot with a broken value.
  EXPECT_EQ(FailingOps(report, PowerCutKind::kDuring).count(2), 1u) << report.Summary();

  // Any reported cut replays exactly from its plan, without the harness.
  const SweepFailure& failure = report.failures.front();
  ASSERT_TRUE(failure.cut.has_value());
  auto flash = EmulatedFlash::CreateInMemory(0x10000);
  ASSERT_TRUE(flash.ok());
  scenario.SetUp(**flash);
  host::FaultyFlash faulty(**flash, FaultPlan::WithCut(*failure.cut));
  EXPECT_EQ(scenario.Run(faulty).code(), Status::Code::kAborted);
  const std::optional<uint32_t> value = TwoSlotRecord::ReadValue(**flash, false);
  EXPECT_FALSE(value == TwoSlotRecord::kOldValue || value == TwoSlotRecord::kNewValue)
      << host::Describe(*failure.cut);
}

TEST(PowerCutSweep, TwoSlotsWithChecksum_EveryCutAndTear_Survives) {
  TwoSlotRecord scenario(/*with_crc=*/true);
  SweepOptions options = SmallFlash();
  options.torn_variants = 32;
  EXPECT_TRUE(SurvivesPowerCuts(scenario, options));
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_EQ(report.runs, 1u + 3u * (1u + 32u));
}

// ---- The harness's own contract ----

// Records every call the harness makes.
class RecordingScenario : public PowerCutScenario {
 public:
  void SetUp(EmulatedFlash& flash) override {
    ++setups;
    ASSERT_TRUE(flash.Write(0x0, std::vector<std::byte>(4, std::byte{0x11})).ok());
  }
  Status Run(port::Flash& flash) override {
    ++run_calls;
    // Every run starts from the starting image, whatever the previous run and check did.
    std::array<std::byte, 8> start;
    EXPECT_TRUE(flash.Read(0x0, start).ok());
    EXPECT_EQ(start[0], std::byte{0x11});
    EXPECT_EQ(start[4], std::byte{0xFF});
    ALOFT_TRY(flash.Write(0x4, std::vector<std::byte>(4, std::byte{0x22})));
    ALOFT_TRY(flash.Erase(0x1000, kSector));
    return flash.Write(0x1000, std::vector<std::byte>(4, std::byte{0x33}));
  }
  void Check(EmulatedFlash& flash, const std::optional<PowerCut>& cut, const Status&) override {
    cuts.push_back(cut);
    // Recovery may write; the next run must not see it.
    EXPECT_TRUE(flash.Erase(0x0, kSector).ok());
  }

  int setups = 0;
  int run_calls = 0;
  std::vector<std::optional<PowerCut>> cuts;
};

TEST(PowerCutSweep, Exhaustive_EveryOpAndKindInOrderFromTheStartingImage) {
  RecordingScenario scenario;
  SweepOptions options = SmallFlash();
  options.torn_variants = 2;
  options.seed = 5;
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(scenario.setups, 1);
  EXPECT_EQ(scenario.run_calls, 10);
  EXPECT_EQ(report.runs, 10u);
  EXPECT_FALSE(report.sampled);
  std::vector<std::optional<PowerCut>> expected = {std::nullopt};
  for (uint64_t op = 1; op <= 3; ++op) {
    expected.push_back(PowerCut{op, PowerCutKind::kBefore, 0});
    expected.push_back(PowerCut{op, PowerCutKind::kDuring, TornSeed(report.seed, op, 0)});
    expected.push_back(PowerCut{op, PowerCutKind::kDuring, TornSeed(report.seed, op, 1)});
  }
  EXPECT_EQ(scenario.cuts, expected);
}

TEST(PowerCutSweep, Sampled_RunsOnlyTheSampleAndRepeatsForTheSameSeed) {
  // 3 ops x (1 clean + 4 tears) = 15 cut points; 6 are drawn.
  SweepOptions options = SmallFlash();
  options.torn_variants = 4;
  options.sample = 6;
  RecordingScenario first;
  const SweepReport report = RunPowerCutSweep(first, options);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_TRUE(report.sampled);
  EXPECT_EQ(report.runs, 7u);
  std::set<std::pair<uint64_t, uint64_t>> distinct;
  for (size_t i = 1; i < first.cuts.size(); ++i) {
    distinct.insert({first.cuts[i]->op, first.cuts[i]->seed});
  }
  EXPECT_EQ(distinct.size(), 6u);
  RecordingScenario second;
  RunPowerCutSweep(second, options);
  EXPECT_EQ(second.cuts, first.cuts);
  // A sample as large as the whole set is the exhaustive sweep.
  options.sample = 15;
  RecordingScenario all;
  EXPECT_FALSE(RunPowerCutSweep(all, options).sampled);
  EXPECT_EQ(all.cuts.size(), 16u);
}

TEST(PowerCutSweep, SeedFromEnvironment_OverridesOption) {
  SweepOptions options = SmallFlash();
  options.seed = 1;
  const char* outer = std::getenv("ALOFT_SWEEP_SEED");
  const std::optional<std::string> saved = outer ? std::optional<std::string>(outer) : std::nullopt;
  setenv("ALOFT_SWEEP_SEED", "0x77", 1);
  RecordingScenario scenario;
  const SweepReport report = RunPowerCutSweep(scenario, options);
  setenv("ALOFT_SWEEP_SEED", "seventy", 1);
  RecordingScenario broken;
  const SweepReport refused = RunPowerCutSweep(broken, options);
  if (saved) {
    setenv("ALOFT_SWEEP_SEED", saved->c_str(), 1);
  } else {
    unsetenv("ALOFT_SWEEP_SEED");
  }
  EXPECT_EQ(report.seed, 0x77u);
  EXPECT_EQ(scenario.cuts[2], (PowerCut{1, PowerCutKind::kDuring, TornSeed(0x77, 1, 0)}));
  ASSERT_EQ(refused.failures.size(), 1u);
  EXPECT_EQ(refused.failures[0].message, "ALOFT_SWEEP_SEED is not a number");
  EXPECT_EQ(broken.run_calls, 0);
}

// Makes fewer ops on every run than on the first.
class NondeterministicScenario : public PowerCutScenario {
 public:
  void SetUp(EmulatedFlash&) override {}
  Status Run(port::Flash& flash) override {
    const int writes = first_ ? 3 : 1;
    first_ = false;
    for (int i = 0; i < writes; ++i) {
      ALOFT_TRY(flash.Write(static_cast<uint32_t>(i), std::vector<std::byte>(1, std::byte{0})));
    }
    return OkStatus();
  }
  void Check(EmulatedFlash&, const std::optional<PowerCut>&, const Status&) override {}

 private:
  bool first_ = true;
};

TEST(PowerCutSweep, NondeterministicScenario_CutNeverReached_Reported) {
  NondeterministicScenario scenario;
  SweepOptions options = SmallFlash();
  options.cut_during = false;
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_EQ(FailingOps(report, PowerCutKind::kBefore), (std::set<uint64_t>{2, 3}));
  ASSERT_EQ(report.failures.size(), 2u);
  EXPECT_EQ(report.failures[0].message,
            "op 2 never happened: this run made 1 mutating ops, the uninterrupted run 3 (is the "
            "scenario deterministic?)");
}

// Ignores every flash error: a success after a cut is an error swallowed.
class SwallowingScenario : public PowerCutScenario {
 public:
  void SetUp(EmulatedFlash&) override {}
  Status Run(port::Flash& flash) override {
    (void)flash.Erase(0x0, kSector);
    (void)flash.Write(0x0, std::vector<std::byte>(4, std::byte{0}));
    return OkStatus();
  }
  void Check(EmulatedFlash&, const std::optional<PowerCut>&, const Status&) override {}
};

TEST(PowerCutSweep, RunSucceedsAfterCut_ReportedUnlessAllowed) {
  SwallowingScenario scenario;
  SweepOptions options = SmallFlash();
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_EQ(report.failures.size(), 4u);  // 2 ops x 2 kinds
  ASSERT_FALSE(report.failures.empty());
  EXPECT_EQ(report.failures[0].message, "run returned ok after the power was cut");
  options.require_error_after_cut = false;
  EXPECT_TRUE(RunPowerCutSweep(scenario, options).ok());
}

// The uninterrupted run itself fails: no cut is tried.
class FailingScenario : public PowerCutScenario {
 public:
  void SetUp(EmulatedFlash&) override {}
  Status Run(port::Flash& flash) override { return flash.Erase(0x800, kSector); }
  void Check(EmulatedFlash&, const std::optional<PowerCut>&, const Status&) override {}
};

TEST(PowerCutSweep, UninterruptedRunFails_ReportedAndNoCutsTried) {
  FailingScenario scenario;
  const SweepReport report = RunPowerCutSweep(scenario, SmallFlash());
  EXPECT_EQ(report.runs, 1u);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_FALSE(report.failures[0].cut.has_value());
  EXPECT_EQ(report.failures[0].message,
            "the uninterrupted run failed: invalid_argument \"flash: erase offset not "
            "sector-aligned\" (context 0x800)");
  EXPECT_NE(report.Summary().find("uninterrupted run: the uninterrupted run failed"),
            std::string::npos);
}

// ---- Scale: an image-sized write on a 4 MiB chip, every op cut and torn. ----

class SlotWriteScenario : public PowerCutScenario {
 public:
  static constexpr uint32_t kSlot = 0x110000;
  static constexpr uint32_t kImageSize = 0x20000;  // 128 KiB: 32 erases + 512 page writes

  static std::vector<std::byte> Image() {
    std::vector<std::byte> image(kImageSize);
    for (size_t i = 0; i < image.size(); ++i) {
      image[i] = static_cast<std::byte>((i * 131 + (i >> 8)) & 0xFF);
    }
    return image;
  }

  void SetUp(EmulatedFlash&) override { image_ = Image(); }
  Status Run(port::Flash& flash) override {
    for (uint32_t done = 0; done < kImageSize; done += kSector) {
      ALOFT_TRY(flash.Erase(kSlot + done, kSector));
      for (uint32_t page = 0; page < kSector; page += 0x100) {
        ALOFT_TRY(
            flash.Write(kSlot + done + page, ConstByteSpan(image_).subspan(done + page, 0x100)));
      }
    }
    return OkStatus();
  }
  void Check(EmulatedFlash& flash, const std::optional<PowerCut>& cut, const Status&) override {
    // The sectors around the slot are untouched, and without a cut the slot holds the image.
    ConstByteSpan all = flash.contents();
    auto erased = [](std::byte b) { return b == std::byte{0xFF}; };
    EXPECT_TRUE(std::all_of(all.begin() + kSlot - kSector, all.begin() + kSlot, erased));
    EXPECT_TRUE(std::all_of(all.begin() + kSlot + kImageSize,
                            all.begin() + kSlot + kImageSize + kSector, erased));
    if (!cut) {
      EXPECT_TRUE(std::equal(image_.begin(), image_.end(), all.begin() + kSlot));
    }
  }

 private:
  std::vector<std::byte> image_;
};

TEST(PowerCutSweep, FourMiBChip_ThousandCutPoints_Survives) {
  SlotWriteScenario scenario;
  SweepOptions options;  // the default: a 4 MiB chip
  const SweepReport report = RunPowerCutSweep(scenario, options);
  EXPECT_TRUE(report.ok()) << report.Summary();
  EXPECT_EQ(report.op_count, 32u + 512u);
  EXPECT_EQ(report.runs, 1u + 2u * 544u);
}

}  // namespace
}  // namespace aloft::testing
