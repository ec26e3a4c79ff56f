#include "core/boot/ota_ops.h"

#include <gtest/gtest.h>

#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "core/boot/internal/ota_seq_search.h"
#include "core/boot/otadata_test_support.h"
#include "support/allocation_counter.h"

namespace aloft::core {
namespace {

using testing::Describe;
using testing::Image;
using testing::MemoryFlash;
using testing::ParseImage;
using testing::ReadOtadataVector;

constexpr std::optional<int> kNone = std::nullopt;

BootConfig Rollback(bool enabled) {
  BootConfig config;
  config.rollback_enabled = enabled;
  return config;
}

Image Apply(Image image, const OtadataAction& action) {
  EXPECT_TRUE(ApplyOtadataAction(action, image).ok());
  return image;
}

OtaOutcome SetBoot(const Image& image, int slots, bool rollback, int target) {
  const Otadata otadata = ParseImage(image);
  ImageVerdicts images = ImageVerdicts::AllVerify();
  return SetBootPartition(&otadata, ContiguousSlotLayout(slots, false), Rollback(rollback), target,
                          images);
}

// ---------------------------------------------------------------------------------------------
// tests/vectors/otadata/README.md, "App-side transitions": every row, byte-exact.

TEST(SetBootPartition, ReadmeTransitions_ByteExact) {
  struct Row {
    const char* before;
    int slots;
    int target;
    bool rollback;
    const char* after;
    int sector;  // the one sector written
  };
  constexpr Row kRows[] = {
      {"blank.bin", 2, 0, true, "blank.set_boot_ota_0.rollback.bin", 0},
      {"blank.bin", 2, 0, false, "blank.set_boot_ota_0.norollback.bin", 0},
      {"blank.bin", 2, 1, false, "blank.set_boot_ota_1.norollback.bin", 0},
      {"s0_seq1_valid.bin", 2, 1, true, "s0_seq1_valid.set_boot_ota_1.rollback.bin", 1},
      {"s0_seq1_valid.bin", 2, 1, false, "s0_seq1_valid.set_boot_ota_1.norollback.bin", 1},
      {"s1_seq2_valid.bin", 2, 0, true, "s1_seq2_valid.set_boot_ota_0.rollback.bin", 0},
      {"s1_seq2_valid.bin", 2, 0, false, "s1_seq2_valid.set_boot_ota_0.norollback.bin", 0},
      {"three_slots_seq5.bin", 3, 0, false, "three_slots_seq5.set_boot_ota_0.norollback.bin", 1},
      {"sixteen_slots_seq16.bin", 16, 0, false, "sixteen_slots_seq16.set_boot_ota_0.norollback.bin",
       1},
      {"seq_near_max.bin", 2, 0, false, "seq_near_max.set_boot_ota_0.norollback.bin", 1},
  };
  for (const Row& row : kRows) {
    SCOPED_TRACE(::testing::Message() << row.before << " → " << row.after);
    const Image before = ReadOtadataVector(row.before);
    const OtaOutcome outcome = SetBoot(before, row.slots, row.rollback, row.target);
    ASSERT_TRUE(outcome.status.ok()) << Describe(outcome.status);
    EXPECT_EQ(outcome.otadata.kind, OtadataAction::Kind::kRewriteSector);
    EXPECT_EQ(outcome.otadata.sector, row.sector);
    EXPECT_EQ(outcome.erase_app_partition, kNone);
    EXPECT_EQ(Apply(before, outcome.otadata), ReadOtadataVector(row.after));
  }
}

TEST(MarkApp, ReadmeTransitions_ByteExactAndRebootOutcome) {
  const Image before = ReadOtadataVector("slot1_pending_seq2.bin");
  const Otadata otadata = ParseImage(before);
  const SlotLayout layout = ContiguousSlotLayout(2, false);
  ImageVerdicts images = ImageVerdicts::AllVerify();

  const OtaOutcome valid = MarkAppValidCancelRollback(&otadata, layout, Rollback(true), 1);
  ASSERT_TRUE(valid.status.ok());
  EXPECT_EQ(Apply(before, valid.otadata),
            ReadOtadataVector("slot1_pending_seq2.after_mark_valid.bin"));

  const OtaOutcome invalid = MarkAppInvalidRollback(&otadata, layout, Rollback(true), images);
  ASSERT_TRUE(invalid.status.ok());
  const Image after_invalid = Apply(before, invalid.otadata);
  EXPECT_EQ(after_invalid, ReadOtadataVector("slot1_pending_seq2.after_mark_invalid.bin"));
  // "After the reboot it boots ota_0."
  const Otadata rebooted = ParseImage(after_invalid);
  const BootDecision boot = DecideBoot(&rebooted, layout, Rollback(true), images);
  EXPECT_EQ(boot.booted, 0);
  EXPECT_TRUE(boot.writes.empty());
}

// README: esp_ota_begin erases the inactive sector first; set_boot then gives the same bytes.
TEST(OtaBegin, ReadmeS1Seq2Valid_ErasesSector0ThenSetBootGivesSameBytes) {
  const Image before = ReadOtadataVector("s1_seq2_valid.bin");
  const Otadata otadata = ParseImage(before);
  const SlotLayout layout = ContiguousSlotLayout(2, false);
  const OtaOutcome begin = OtaBegin(&otadata, layout, Rollback(true), /*target=*/0, /*running=*/1);
  ASSERT_TRUE(begin.status.ok());
  EXPECT_EQ(begin.otadata, (OtadataAction{OtadataAction::Kind::kEraseSector, 0, {}}));
  const Image after_begin = Apply(before, begin.otadata);
  const OtaOutcome set_boot = SetBoot(after_begin, 2, true, 0);
  ASSERT_TRUE(set_boot.status.ok());
  EXPECT_EQ(Apply(after_begin, set_boot.otadata),
            ReadOtadataVector("s1_seq2_valid.set_boot_ota_0.rollback.bin"));
}

// ---------------------------------------------------------------------------------------------
// esp_ota_set_boot_partition rules (spec §4.1).

TEST(SetBootPartition, SmallestSeqAtLeastActive_NotActivePlusOne) {
  struct Case {
    uint32_t active_seq;
    int slots;
    int target;
    uint32_t expected_seq;
  };
  constexpr Case kCases[] = {
      {5, 3, 0, 7},  // 1 + 3i >= 5
      {5, 3, 1, 5},  // 2 + 3i >= 5: equal to the active seq
      {5, 3, 2, 6},  // 3 + 3i >= 5
      {1, 2, 0, 1},  // already ota_0: same seq
      {1, 2, 1, 2},  //
      {2, 2, 0, 3},  //
      {16, 16, 0, 17},
      {16, 16, 15, 16},
      {0, 2, 1, 0},  // seq 0 selects ota_1; (1+1) mod 2 = 0 >= 0
      {0, 2, 0, 1},
      {0x7FFFFFFF, 2, 0, 0x7FFFFFFF},
      {0x7FFFFFFF, 2, 1, 0x80000000},
  };
  for (const Case& c : kCases) {
    Otadata otadata;
    otadata.entries[0] = MakeOtaSelectEntry(c.active_seq, OtaState::kValid);
    ImageVerdicts images = ImageVerdicts::AllVerify();
    const OtaOutcome outcome = SetBootPartition(&otadata, ContiguousSlotLayout(c.slots, false),
                                                Rollback(false), c.target, images);
    ASSERT_TRUE(outcome.status.ok()) << c.active_seq << " " << c.target;
    EXPECT_EQ(outcome.otadata.sector, 1);
    EXPECT_EQ(outcome.otadata.entry.seq, c.expected_seq) << c.active_seq << " → " << c.target;
    EXPECT_EQ(outcome.otadata.entry.crc, OtaSeqCrc(c.expected_seq));
    // Whatever the seq, the result boots the target.
    Otadata after = otadata;
    after.entries[1] = outcome.otadata.entry;
    EXPECT_EQ(GetBootPartition(&after, ContiguousSlotLayout(c.slots, false)), c.target);
  }
}

TEST(SetBootPartition, ActiveSlotAgain_TieGoesToSectorZero) {
  const Image before = ReadOtadataVector("s1_seq2_valid.bin");  // active: sector 1, ota_1
  const OtaOutcome outcome = SetBoot(before, 2, false, 1);
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.otadata.sector, 0);
  EXPECT_EQ(outcome.otadata.entry.seq, 2u);
  const Otadata after = ParseImage(Apply(before, outcome.otadata));
  EXPECT_EQ(ActiveEntry(after), 0);
  EXPECT_EQ(GetBootPartition(&after, ContiguousSlotLayout(2, false)), 1);
}

TEST(SetBootPartition, KeepsTheTargetSectorsLabel) {
  Otadata otadata;
  otadata.entries[0] = MakeOtaSelectEntry(1, OtaState::kValid);
  otadata.entries[1].label[3] = std::byte{0x41};
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const OtaOutcome outcome =
      SetBootPartition(&otadata, ContiguousSlotLayout(2, false), Rollback(true), 1, images);
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.otadata.entry.label[3], std::byte{0x41});
  EXPECT_EQ(outcome.otadata.entry.state, OtaState::kNew);
}

TEST(SetBootPartition, Factory_ErasesBothSectors) {
  const Image before = ReadOtadataVector("s1_seq2_valid.bin");
  const Otadata otadata = ParseImage(before);
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const OtaOutcome outcome = SetBootPartition(&otadata, ContiguousSlotLayout(2, true),
                                              Rollback(true), kFactoryIndex, images);
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.otadata.kind, OtadataAction::Kind::kEraseAll);
  EXPECT_EQ(Apply(before, outcome.otadata), ReadOtadataVector("blank.bin"));
  // Even when otadata is unreadable; but not without an otadata partition.
  EXPECT_EQ(SetBootPartition(nullptr, ContiguousSlotLayout(2, true), Rollback(true), kFactoryIndex,
                             images)
                .otadata.kind,
            OtadataAction::Kind::kEraseAll);
  SlotLayout no_otadata = ContiguousSlotLayout(2, true);
  no_otadata.has_otadata = false;
  EXPECT_EQ(SetBootPartition(nullptr, no_otadata, Rollback(true), kFactoryIndex, images).status,
            kOtaNoOtadata);
}

TEST(SetBootPartition, Errors_InEspIdfOrder) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s0_seq1_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const SlotLayout two = ContiguousSlotLayout(2, false);
  EXPECT_EQ(SetBootPartition(&otadata, two, Rollback(true), 2, images).status, kOtaNoSuchPartition);
  images.verifies[1] = false;
  OtaOutcome corrupt = SetBootPartition(&otadata, two, Rollback(true), 1, images);
  EXPECT_EQ(corrupt.status, kOtaValidateFailed);
  EXPECT_EQ(corrupt.otadata.kind, OtadataAction::Kind::kNone);
  images.verifies[1] = true;
  EXPECT_EQ(SetBootPartition(nullptr, two, Rollback(true), 1, images).status, kOtaNoOtadata);
  // ota_0 and ota_2: the app side counts 1 slot, so ota_2 cannot be set.
  EXPECT_EQ(
      SetBootPartition(&otadata, MakeSlotLayout(0b101, false), Rollback(true), 2, images).status,
      kOtaSlotBeyondCount);
}

TEST(SetBootPartition, TestApp_PointsOtadataAtOta0AsEspIdfDoes) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const OtaOutcome outcome = SetBootPartition(&otadata, ContiguousSlotLayout(2, false, true),
                                              Rollback(false), kTestIndex, images);
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.otadata.sector, 0);
  EXPECT_EQ(outcome.otadata.entry.seq, 3u);  // selects ota_0
}

TEST(SetBootPartition, AntiRollback_LowVersionErasesThePartition) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s0_seq1_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  BootConfig config = Rollback(true);
  config.anti_rollback_enabled = true;
  config.efuse_secure_version = 3;
  config.secure_version[1] = 2;
  const OtaOutcome low =
      SetBootPartition(&otadata, ContiguousSlotLayout(2, false), config, 1, images);
  EXPECT_EQ(low.status, kOtaSmallSecureVersion);
  EXPECT_EQ(low.erase_app_partition, 1);
  EXPECT_EQ(low.otadata.kind, OtadataAction::Kind::kNone);
  config.secure_version[1] = std::nullopt;
  EXPECT_EQ(SetBootPartition(&otadata, ContiguousSlotLayout(2, false), config, 1, images).status,
            kOtaNoAppDescription);
  config.secure_version[1] = 3;
  EXPECT_TRUE(
      SetBootPartition(&otadata, ContiguousSlotLayout(2, false), config, 1, images).status.ok());
}

TEST(SetBootPartition, SeqOverflow_SilentNoOpOrRefusedWhereEspIdfHangs) {
  // seq_near_max: the written seq is exactly 0xFFFFFFFF, so the switch does nothing.
  const Image before = ReadOtadataVector("seq_near_max.bin");
  const OtaOutcome outcome = SetBoot(before, 2, false, 0);
  ASSERT_TRUE(outcome.status.ok());
  const Otadata after = ParseImage(Apply(before, outcome.otadata));
  EXPECT_EQ(GetBootPartition(&after, ContiguousSlotLayout(2, false)), 1);
  // 4 slots, active seq 0xFFFFFFFD, target ota_3: every 4i lies below it; ESP-IDF loops forever.
  Otadata stuck;
  stuck.entries[0] = MakeOtaSelectEntry(0xFFFFFFFD, OtaState::kValid);
  ImageVerdicts images = ImageVerdicts::AllVerify();
  EXPECT_EQ(
      SetBootPartition(&stuck, ContiguousSlotLayout(4, false), Rollback(false), 3, images).status,
      kOtaSeqOverflow);
}

TEST(NextOtaSeq, HandComputedValues) {
  EXPECT_EQ(NextOtaSeq(1, 1, 2), 2u);
  EXPECT_EQ(NextOtaSeq(5, 0, 3), 7u);
  EXPECT_EQ(NextOtaSeq(0xFFFFFFFE, 0, 2), 0xFFFFFFFFu);
  EXPECT_EQ(NextOtaSeq(0xFFFFFFFE, 1, 3), 0xFFFFFFFEu);
  // r = 1, n = 3: 1 + 3i stops at 0xFFFFFFFD; the sum wraps and the next pass (values 3i) meets
  // 0xFFFFFFFF.
  EXPECT_EQ(NextOtaSeq(0xFFFFFFFE, 0, 3), 0xFFFFFFFFu);
  EXPECT_EQ(NextOtaSeq(0xFFFFFFFD, 3, 4), std::nullopt);
  EXPECT_EQ(NextOtaSeq(0xFFFFFFF1, 0, 16), 0xFFFFFFF1u);
  EXPECT_EQ(NextOtaSeq(0xFFFFFFF2, 0, 16), std::nullopt);
}

// ESP-IDF's loop, literally, in a narrower word: every sum and product wraps in Word.
template <typename Word>
std::optional<Word> LiteralLoop(Word base, Word k, Word n) {
  const Word r = static_cast<Word>((k + 1) % n);
  Word i = 0;
  // i repeats after 2^W steps, and so does everything else: that is a hang.
  for (uint64_t steps = 0; steps <= std::numeric_limits<Word>::max(); ++steps) {
    const Word value = static_cast<Word>(r + static_cast<Word>(i * n));
    if (!(base > value)) {
      return value;
    }
    ++i;
  }
  return std::nullopt;
}

TEST(NextOtaSeq, Exhaustive8BitWord_MatchesEspIdfLoop) {
  int checked = 0;
  for (uint32_t n = 1; n <= 16; ++n) {
    for (uint32_t k = 0; k < n; ++k) {
      for (uint32_t base = 0; base <= 0xFF; ++base) {
        const auto b = static_cast<uint8_t>(base);
        ASSERT_EQ(
            internal::NextOtaSeqIn<uint8_t>(b, static_cast<uint8_t>(k), static_cast<uint8_t>(n)),
            LiteralLoop<uint8_t>(b, static_cast<uint8_t>(k), static_cast<uint8_t>(n)))
            << "base " << base << " k " << k << " n " << n;
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 136 * 256);
}

TEST(NextOtaSeq, 16BitWordNearTheTop_MatchesEspIdfLoop) {
  for (uint32_t n = 1; n <= 16; ++n) {
    for (uint32_t k = 0; k < n; ++k) {
      for (uint32_t base = 0xFFFF - 20; base <= 0xFFFF; ++base) {
        const auto b = static_cast<uint16_t>(base);
        ASSERT_EQ(
            internal::NextOtaSeqIn<uint16_t>(b, static_cast<uint16_t>(k), static_cast<uint16_t>(n)),
            LiteralLoop<uint16_t>(b, static_cast<uint16_t>(k), static_cast<uint16_t>(n)))
            << "base " << base << " k " << k << " n " << n;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Queries (spec §4.2).

TEST(GetBootPartition, Table) {
  struct Case {
    const char* file;
    SlotLayout layout;
    std::optional<int> expected;
  };
  const Case kCases[] = {
      {"blank.bin", ContiguousSlotLayout(2, false), 0},
      {"blank.bin", ContiguousSlotLayout(2, true), kFactoryIndex},
      {"blank.bin", MakeSlotLayout(0b100, false), 2},  // lowest existing ota_N
      {"blank.bin", MakeSlotLayout(0, false, true), kTestIndex},
      {"blank.bin", MakeSlotLayout(0, false, false), kNone},
      {"s1_seq2_valid.bin", ContiguousSlotLayout(2, false), 1},
      {"s1_seq2_valid.bin", MakeSlotLayout(0, true), kFactoryIndex},  // count 0
      {"both_invalid.bin", ContiguousSlotLayout(2, true), kFactoryIndex},
      {"bad_crc_sector1.bin", ContiguousSlotLayout(2, false), 0},
      {"slot1_pending_seq2.bin", ContiguousSlotLayout(2, false), 1},
      {"three_slots_seq5.bin", ContiguousSlotLayout(3, false), 1},
      {"sixteen_slots_seq16.bin", ContiguousSlotLayout(16, false), 15},
      {"seq_zero_crc_ff.bin", ContiguousSlotLayout(3, false), 0},
  };
  for (const Case& c : kCases) {
    const Otadata otadata = ParseImage(ReadOtadataVector(c.file));
    EXPECT_EQ(Describe(GetBootPartition(&otadata, c.layout)), Describe(c.expected)) << c.file;
  }
  EXPECT_EQ(GetBootPartition(nullptr, ContiguousSlotLayout(2, true)), kNone);
  // Both CRCs bad but not "invalid": no active entry, the default.
  Otadata corrupt;
  corrupt.entries[0] = MakeOtaSelectEntry(1, OtaState::kValid);
  corrupt.entries[0].crc = 0;
  EXPECT_EQ(GetBootPartition(&corrupt, ContiguousSlotLayout(2, true)), kFactoryIndex);
}

TEST(GetNextUpdatePartition, Table) {
  struct Case {
    SlotLayout layout;
    int start;
    std::optional<int> expected;
  };
  const Case kCases[] = {
      {ContiguousSlotLayout(2, false), 0, 1},
      {ContiguousSlotLayout(2, false), 1, 0},
      {ContiguousSlotLayout(2, true), kFactoryIndex, 0},
      {ContiguousSlotLayout(3, false), 1, 2},
      {ContiguousSlotLayout(3, false), 2, 0},
      {MakeSlotLayout(0b101, false), 0, 2},  // walks subtypes, gaps skipped
      {MakeSlotLayout(0b101, false), 2, 0},
      {ContiguousSlotLayout(16, false), 15, 0},
      {MakeSlotLayout(0, true), kFactoryIndex, kNone},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(Describe(GetNextUpdatePartition(c.layout, c.start)), Describe(c.expected))
        << "start " << c.start << " mask " << c.layout.ota_present;
  }
}

TEST(GetStatePartition, Table) {
  struct Case {
    const char* file;
    int slots;
    int partition;
    std::optional<OtaState> state;  // nullopt: kOtaNoStateEntry
  };
  const Case kCases[] = {
      {"slot1_pending_seq2.bin", 2, 1, OtaState::kPendingVerify},
      {"slot1_pending_seq2.bin", 2, 0, OtaState::kValid},
      {"both_invalid.bin", 2, 0, OtaState::kInvalid},  // not skipped
      {"both_invalid.bin", 2, 1, OtaState::kAborted},
      {"blank.bin", 2, 0, std::nullopt},
      {"bad_crc_sector1.bin", 2, 1, std::nullopt},    // crc checked
      {"tie_equal_seq.bin", 2, 0, OtaState::kValid},  // sector 0 first
      // Sector 1 holds seq 0xFFFFFFFF with its right crc: slot 0xFFFFFFFE mod 2 = 0.
      {"seq_near_max.set_boot_ota_0.norollback.bin", 2, 0, OtaState::kUndefined},
      {"three_slots_seq5.bin", 3, 1, OtaState::kValid},
      {"three_slots_seq5.bin", 3, 2, std::nullopt},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << c.file << " ota_" << c.partition);
    const Otadata otadata = ParseImage(ReadOtadataVector(c.file));
    Result<OtaState> state =
        GetStatePartition(&otadata, ContiguousSlotLayout(c.slots, true), c.partition);
    if (c.state.has_value()) {
      ASSERT_TRUE(state.ok()) << Describe(state.status());
      EXPECT_EQ(*state, *c.state);
    } else {
      EXPECT_EQ(state.status(), kOtaNoStateEntry);
    }
  }
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  EXPECT_EQ(GetStatePartition(&otadata, ContiguousSlotLayout(2, true), kFactoryIndex).status(),
            kOtaStateNeedsOtaSlot);
  EXPECT_EQ(GetStatePartition(nullptr, ContiguousSlotLayout(2, true), 0).status(), kOtaNoOtadata);
  EXPECT_EQ(GetStatePartition(&otadata, ContiguousSlotLayout(2, true), 5).status(),
            kOtaNoSuchPartition);
}

TEST(CheckRollbackIsPossible, Table) {
  struct Case {
    const char* file;
    bool factory;
    bool other_verifies;  // the image the other entry (or factory) names
    bool anti_rollback;
    bool expected;
  };
  constexpr Case kCases[] = {
      {"s1_seq2_valid.bin", false, true, false, true},
      {"s1_seq2_valid.bin", false, false, false, false},
      {"s0_seq1_valid.bin", false, true, false, false},  // nothing to roll back to
      {"s0_seq1_valid.bin", true, true, false, true},    // the factory app
      {"s0_seq1_valid.bin", true, false, false, false},
      {"s0_seq1_valid.bin", true, true, true, false},  // anti-rollback: factory not considered
      {"slot1_aborted_seq2.bin", true, true, false, true},
      {"blank.bin", true, true, false, false},  // no active entry
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(::testing::Message() << c.file << " factory " << c.factory << " verifies "
                                      << c.other_verifies << " anti " << c.anti_rollback);
    const Otadata otadata = ParseImage(ReadOtadataVector(c.file));
    ImageVerdicts images = ImageVerdicts::AllVerify();
    images.verifies[0] = c.other_verifies;
    images.verifies.factory = c.other_verifies;
    BootConfig config = Rollback(true);
    config.anti_rollback_enabled = c.anti_rollback;
    config.secure_version[0] = 0;
    config.secure_version[1] = 0;
    config.secure_version.factory = 0;
    EXPECT_EQ(CheckRollbackIsPossible(&otadata, ContiguousSlotLayout(2, c.factory), config, images),
              c.expected);
  }
}

TEST(CheckRollbackIsPossible, AntiRollback_OtherSlotBelowEfuseIsNoRollback) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  BootConfig config = Rollback(true);
  config.anti_rollback_enabled = true;
  config.efuse_secure_version = 2;
  config.secure_version[0] = 1;
  EXPECT_FALSE(CheckRollbackIsPossible(&otadata, ContiguousSlotLayout(2, false), config, images));
  config.secure_version[0] = 2;
  EXPECT_TRUE(CheckRollbackIsPossible(&otadata, ContiguousSlotLayout(2, false), config, images));
}

TEST(GetLastInvalidPartition, Table) {
  struct Case {
    const char* file;
    bool verifies;
    std::optional<int> expected;
  };
  const Case kCases[] = {
      {"both_invalid.bin", true, 0},  // min seq: sector 0 (seq 1, INVALID)
      {"both_invalid.bin", false, kNone},
      {"slot1_aborted_seq2.bin", true, 1},
      {"slot1_pending_seq2.after_mark_invalid.bin", true, 1},
      {"s1_seq2_valid.bin", true, kNone},
      {"blank.bin", true, kNone},
  };
  for (const Case& c : kCases) {
    const Otadata otadata = ParseImage(ReadOtadataVector(c.file));
    ImageVerdicts images = ImageVerdicts::AllVerify();
    images.verifies[0] = c.verifies;
    images.verifies[1] = c.verifies;
    EXPECT_EQ(Describe(GetLastInvalidPartition(&otadata, ContiguousSlotLayout(2, false), images)),
              Describe(c.expected))
        << c.file;
  }
  ImageVerdicts images = ImageVerdicts::AllVerify();
  EXPECT_EQ(GetLastInvalidPartition(nullptr, ContiguousSlotLayout(2, false), images), kNone);
}

// ---------------------------------------------------------------------------------------------
// Confirm / reject (spec §4.3).

TEST(MarkAppValidCancelRollback, AlreadyValid_OkAndNoWrite) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  const OtaOutcome outcome =
      MarkAppValidCancelRollback(&otadata, ContiguousSlotLayout(2, false), Rollback(true), 1);
  EXPECT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.otadata.kind, OtadataAction::Kind::kNone);
}

TEST(MarkAppValidCancelRollback, NoActiveEntryOrNoOtadata_Errors) {
  const Otadata blank = ParseImage(ReadOtadataVector("blank.bin"));
  EXPECT_EQ(
      MarkAppValidCancelRollback(&blank, ContiguousSlotLayout(2, true), Rollback(true), -1).status,
      kOtaNoActiveEntry);
  EXPECT_EQ(
      MarkAppValidCancelRollback(nullptr, ContiguousSlotLayout(2, true), Rollback(true), -1).status,
      kOtaNoOtadata);
  const Otadata valid = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  EXPECT_EQ(MarkAppValidCancelRollback(&valid, MakeSlotLayout(0, true), Rollback(true), -1).status,
            kOtaNoActiveEntry);
}

TEST(MarkAppValidCancelRollback, ActsOnTheActiveEntryNotTheRunningSlot) {
  // The NEW entry for ota_1 is active, but ota_0 is running (say ota_1 failed to load).
  const Otadata otadata =
      ParseImage(ReadOtadataVector("s0_seq1_valid.set_boot_ota_1.rollback.bin"));
  const OtaOutcome outcome =
      MarkAppValidCancelRollback(&otadata, ContiguousSlotLayout(2, false), Rollback(true), 0);
  ASSERT_TRUE(outcome.status.ok());
  EXPECT_EQ(outcome.otadata.sector, 1);
  EXPECT_EQ(outcome.otadata.entry, MakeOtaSelectEntry(2, OtaState::kValid));
}

TEST(MarkAppValidCancelRollback, AntiRollback_RaisesToTheRunningAppsVersion) {
  const Otadata otadata = ParseImage(ReadOtadataVector("slot1_pending_seq2.bin"));
  BootConfig config = Rollback(true);
  config.anti_rollback_enabled = true;
  config.efuse_secure_version = 2;
  const SlotLayout layout = ContiguousSlotLayout(2, false);
  struct Case {
    std::optional<uint32_t> running_version;
    const Status* status;  // nullptr: OK
    std::optional<uint32_t> raise;
  };
  const Case kCases[] = {
      {5, nullptr, 5},
      {2, nullptr, std::nullopt},
      {1, &kOtaSecureVersionBelowEfuse, std::nullopt},
      {33, &kOtaSecureVersionTooWide, std::nullopt},
      {std::nullopt, &kOtaNoAppDescription, std::nullopt},
  };
  for (const Case& c : kCases) {
    config.secure_version[1] = c.running_version;
    const OtaOutcome outcome = MarkAppValidCancelRollback(&otadata, layout, config, 1);
    EXPECT_EQ(Describe(outcome.status), Describe(c.status ? *c.status : OkStatus()));
    EXPECT_EQ(outcome.secure_version_raise, c.raise);
    // The VALID write stands in every case: ESP-IDF raises the eFuse after writing.
    EXPECT_EQ(outcome.otadata.kind, OtadataAction::Kind::kRewriteSector);
  }
}

TEST(MarkAppInvalidRollback, NoRollbackTarget_FailsWithoutWriting) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s0_seq1_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const OtaOutcome outcome =
      MarkAppInvalidRollback(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images);
  EXPECT_EQ(outcome.status, kOtaRollbackFailed);
  EXPECT_EQ(outcome.otadata.kind, OtadataAction::Kind::kNone);
  EXPECT_STREQ(EspErrorOf(outcome.status).name, "ESP_ERR_OTA_ROLLBACK_FAILED");
  EXPECT_EQ(EspErrorOf(outcome.status).code, 0x1505);
  // With a factory app to fall back to, it is possible.
  const OtaOutcome with_factory =
      MarkAppInvalidRollback(&otadata, ContiguousSlotLayout(2, true), Rollback(true), images);
  ASSERT_TRUE(with_factory.status.ok());
  EXPECT_EQ(with_factory.otadata.entry, MakeOtaSelectEntry(1, OtaState::kInvalid));
  EXPECT_EQ(
      MarkAppInvalidRollback(nullptr, ContiguousSlotLayout(2, true), Rollback(true), images).status,
      kOtaNoOtadata);
}

TEST(EraseLastBootAppPartition, Table) {
  struct Case {
    const char* file;
    int running;
    const Status* status;  // nullptr: OK (erase ota_{1-running} and the inactive sector)
    int sector;
  };
  const Case kCases[] = {
      {"s1_seq2_valid.bin", 1, nullptr, 0},
      {"s1_seq2_valid.bin", 0, &kOtaInactiveIsRunning, 0},
      {"slot1_aborted_seq2.bin", 0, nullptr, 1},  // any state counts
      {"s0_seq1_valid.bin", 0, &kOtaNoInactiveEntry, 0},
      {"bad_crc_sector1.bin", 0, &kOtaNoInactiveEntry, 0},
      {"blank.bin", 0, &kOtaNoActiveEntry, 0},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.file);
    const Otadata otadata = ParseImage(ReadOtadataVector(c.file));
    const SlotLayout layout = ContiguousSlotLayout(2, false);
    const OtaOutcome erase = EraseLastBootAppPartition(&otadata, layout, c.running);
    const OtaOutcome invalidate = InvalidateInactiveOtaDataSlot(&otadata, layout, c.running);
    if (c.status != nullptr) {
      EXPECT_EQ(Describe(erase.status), Describe(*c.status));
      EXPECT_EQ(Describe(invalidate.status), Describe(*c.status));
      EXPECT_STREQ(EspErrorOf(erase.status).name, "ESP_FAIL");
      EXPECT_EQ(erase.otadata.kind, OtadataAction::Kind::kNone);
      EXPECT_EQ(erase.erase_app_partition, kNone);
      continue;
    }
    ASSERT_TRUE(erase.status.ok());
    EXPECT_EQ(erase.erase_app_partition, 1 - c.running);
    EXPECT_EQ(erase.otadata, (OtadataAction{OtadataAction::Kind::kEraseSector, c.sector, {}}));
    ASSERT_TRUE(invalidate.status.ok());
    EXPECT_EQ(invalidate.erase_app_partition, kNone);
    EXPECT_EQ(invalidate.otadata, erase.otadata);
  }
  EXPECT_EQ(EraseLastBootAppPartition(nullptr, ContiguousSlotLayout(2, false), 0).status,
            kOtaNoOtadataFail);
}

TEST(OtaBegin, Checks) {
  const Otadata pending = ParseImage(ReadOtadataVector("slot1_pending_seq2.bin"));
  const SlotLayout layout = ContiguousSlotLayout(2, true);
  EXPECT_EQ(OtaBegin(&pending, layout, Rollback(true), 1, 1).status, kOtaPartitionConflict);
  EXPECT_EQ(OtaBegin(&pending, layout, Rollback(true), kFactoryIndex, 1).status, kOtaNotOtaSlot);
  EXPECT_EQ(OtaBegin(&pending, layout, Rollback(true), 4, 1).status, kOtaNoSuchPartition);
  // The running ota_1 is still PENDING_VERIFY: it must confirm first.
  const OtaOutcome refused = OtaBegin(&pending, layout, Rollback(true), 0, 1);
  EXPECT_EQ(refused.status, kOtaRollbackInvalidState);
  EXPECT_EQ(EspErrorOf(refused.status).code, 0x1506);
  // Without rollback, no state check and no invalidation.
  const OtaOutcome plain = OtaBegin(&pending, layout, Rollback(false), 0, 1);
  EXPECT_TRUE(plain.status.ok());
  EXPECT_EQ(plain.otadata.kind, OtadataAction::Kind::kNone);
  // From factory: nothing to invalidate (no active entry), begin still succeeds.
  const Otadata blank = ParseImage(ReadOtadataVector("blank.bin"));
  const OtaOutcome from_factory = OtaBegin(&blank, layout, Rollback(true), 0, kFactoryIndex);
  EXPECT_TRUE(from_factory.status.ok());
  EXPECT_EQ(from_factory.otadata.kind, OtadataAction::Kind::kNone);
}

TEST(EspErrorOf, Mapping) {
  struct Case {
    const Status* status;
    const char* name;
    int32_t code;
  };
  const Case kCases[] = {
      {&kOtaPartitionConflict, "ESP_ERR_OTA_PARTITION_CONFLICT", 0x1501},
      {&kOtaValidateFailed, "ESP_ERR_OTA_VALIDATE_FAILED", 0x1503},
      {&kOtaSmallSecureVersion, "ESP_ERR_OTA_SMALL_SEC_VER", 0x1504},
      {&kOtaRollbackFailed, "ESP_ERR_OTA_ROLLBACK_FAILED", 0x1505},
      {&kOtaRollbackInvalidState, "ESP_ERR_OTA_ROLLBACK_INVALID_STATE", 0x1506},
      {&kOtaNoOtadata, "ESP_ERR_NOT_FOUND", 0x105},
      {&kOtaStateNeedsOtaSlot, "ESP_ERR_NOT_SUPPORTED", 0x106},
      {&kOtaSlotBeyondCount, "ESP_ERR_INVALID_ARG", 0x102},
      {&kOtaNoActiveEntry, "ESP_FAIL", -1},
      {&kOtaSeqOverflow, "unknown", -1},
  };
  for (const Case& c : kCases) {
    EXPECT_STREQ(EspErrorOf(*c.status).name, c.name);
    EXPECT_EQ(EspErrorOf(*c.status).code, c.code);
  }
  EXPECT_STREQ(EspErrorOf(OkStatus()).name, "ESP_OK");
  EXPECT_EQ(kOtaRollbackFailed.code(), Status::Code::kFailedPrecondition);
  EXPECT_STREQ(kOtaRollbackFailed.reason(), "ota: rollback is not possible");
}

// ---------------------------------------------------------------------------------------------
// Apply.

TEST(ApplyOtadataAction, Flash_EachKindTouchesOnlyItsSectors) {
  constexpr uint32_t kOffset = 0xD000;
  MemoryFlash flash(0x10000);
  const Image start = ReadOtadataVector("s1_seq2_valid.bin");
  flash.Store(kOffset, start);

  ASSERT_TRUE(ApplyOtadataAction(flash, kOffset, OtadataAction{}).ok());
  EXPECT_TRUE(flash.ops().empty());

  const OtaOutcome set_boot = SetBoot(start, 2, true, 0);
  ASSERT_TRUE(ApplyOtadataAction(flash, kOffset, set_boot.otadata).ok());
  EXPECT_EQ(flash.Slice(kOffset, kOtadataSize),
            ReadOtadataVector("s1_seq2_valid.set_boot_ota_0.rollback.bin"));

  ASSERT_TRUE(ApplyOtadataAction(flash, kOffset, {OtadataAction::Kind::kEraseSector, 1, {}}).ok());
  EXPECT_EQ(ParseImage(flash.Slice(kOffset, kOtadataSize)).entries[1], OtaSelectEntry{});

  ASSERT_TRUE(ApplyOtadataAction(flash, kOffset, {OtadataAction::Kind::kEraseAll, 0, {}}).ok());
  EXPECT_EQ(flash.Slice(kOffset, kOtadataSize), ReadOtadataVector("blank.bin"));
  EXPECT_EQ(
      flash.ops(),
      (std::vector<MemoryFlash::Op>{
          {'E', 0xD000, 0x1000}, {'W', 0xD000, 32}, {'E', 0xE000, 0x1000}, {'E', 0xD000, 0x2000}}));
}

TEST(ApplyOtadataAction, MemoryWrongSize_InvalidArgument) {
  Image small(0x1000, std::byte{0xFF});
  EXPECT_EQ(Describe(ApplyOtadataAction(OtadataAction{}, small)),
            "invalid_argument: otadata: partition buffer is not 0x2000 bytes [4096]");
}

TEST(OtaOps, DecisionsAndInMemoryApply_DoNotAllocate) {
  Image image = ReadOtadataVector("slot1_pending_seq2.bin");
  const Otadata otadata = ParseImage(image);
  const SlotLayout layout = ContiguousSlotLayout(2, true);
  const BootConfig config = Rollback(true);
  ImageVerdicts images = ImageVerdicts::AllVerify();
  ::aloft::testing::AllocationGuard guard;
  const BootDecision boot = DecideBoot(&otadata, layout, config, images);
  const OtaOutcome set_boot = SetBootPartition(&otadata, layout, config, 0, images);
  const OtaOutcome valid = MarkAppValidCancelRollback(&otadata, layout, config, 1);
  const OtaOutcome begin = OtaBegin(&otadata, layout, config, 0, 1);
  EXPECT_TRUE(ApplyOtadataAction(valid.otadata, image).ok());
  EXPECT_EQ(boot.booted, 0);
  EXPECT_TRUE(set_boot.status.ok());
  EXPECT_EQ(begin.status, kOtaRollbackInvalidState);
}

// ---------------------------------------------------------------------------------------------
// Rollback end to end on pure data (spec §3.4): set_boot → boot → (confirm | nothing | reject).

struct Device {
  Image otadata;
  SlotLayout layout = ContiguousSlotLayout(2, false);
  BootConfig config = Rollback(true);
  ImageVerdicts images = ImageVerdicts::AllVerify();

  Otadata Decoded() const { return ParseImage(otadata); }
  std::optional<int> Boot() {
    const Otadata decoded = Decoded();
    const BootDecision decision = DecideBoot(&decoded, layout, config, images);
    otadata = testing::ApplyWrites(otadata, decision.writes.view());
    return decision.booted;
  }
  Status Do(const OtaOutcome& outcome) {
    if (outcome.status.ok()) {
      EXPECT_TRUE(ApplyOtadataAction(outcome.otadata, otadata).ok());
    }
    return outcome.status;
  }
};

TEST(Rollback, UnconfirmedUpdate_AbortedOnSecondBootAndOldSlotRuns) {
  Device device{ReadOtadataVector("s0_seq1_valid.bin")};
  ASSERT_EQ(device.Boot(), 0);
  Otadata decoded = device.Decoded();
  ASSERT_TRUE(device.Do(OtaBegin(&decoded, device.layout, device.config, 1, 0)).ok());
  decoded = device.Decoded();
  ASSERT_TRUE(
      device.Do(SetBootPartition(&decoded, device.layout, device.config, 1, device.images)).ok());
  EXPECT_EQ(device.otadata, ReadOtadataVector("s0_seq1_valid.set_boot_ota_1.rollback.bin"));

  EXPECT_EQ(device.Boot(), 1);  // NEW → PENDING_VERIFY
  decoded = device.Decoded();
  EXPECT_EQ(*GetStatePartition(&decoded, device.layout, 1), OtaState::kPendingVerify);
  EXPECT_EQ(OtaBegin(&decoded, device.layout, device.config, 0, 1).status,
            kOtaRollbackInvalidState);

  EXPECT_EQ(device.Boot(), 0);  // reset without confirming: ABORTED, back to ota_0
  EXPECT_EQ(device.otadata, ReadOtadataVector("slot1_pending_seq2.after_boot_rollback.bin"));
  decoded = device.Decoded();
  EXPECT_EQ(GetLastInvalidPartition(&decoded, device.layout, device.images), 1);
  EXPECT_EQ(GetBootPartition(&decoded, device.layout), 0);

  const Image settled = device.otadata;
  EXPECT_EQ(device.Boot(), 0);
  EXPECT_EQ(device.otadata, settled);
}

TEST(Rollback, ConfirmedUpdate_StaysOnNewSlot) {
  Device device{ReadOtadataVector("s0_seq1_valid.bin")};
  Otadata decoded = device.Decoded();
  ASSERT_TRUE(
      device.Do(SetBootPartition(&decoded, device.layout, device.config, 1, device.images)).ok());
  EXPECT_EQ(device.Boot(), 1);
  decoded = device.Decoded();
  ASSERT_TRUE(
      device.Do(MarkAppValidCancelRollback(&decoded, device.layout, device.config, 1)).ok());
  EXPECT_EQ(device.otadata, ReadOtadataVector("slot1_pending_seq2.after_mark_valid.bin"));
  for (int reboot = 0; reboot < 3; ++reboot) {
    EXPECT_EQ(device.Boot(), 1);
  }
  EXPECT_EQ(device.otadata, ReadOtadataVector("slot1_pending_seq2.after_mark_valid.bin"));
}

TEST(Rollback, RejectedUpdate_InvalidThenOldSlot) {
  Device device{ReadOtadataVector("s0_seq1_valid.bin")};
  Otadata decoded = device.Decoded();
  ASSERT_TRUE(
      device.Do(SetBootPartition(&decoded, device.layout, device.config, 1, device.images)).ok());
  EXPECT_EQ(device.Boot(), 1);
  decoded = device.Decoded();
  ASSERT_TRUE(
      device.Do(MarkAppInvalidRollback(&decoded, device.layout, device.config, device.images))
          .ok());
  EXPECT_EQ(device.otadata, ReadOtadataVector("slot1_pending_seq2.after_mark_invalid.bin"));
  EXPECT_EQ(device.Boot(), 0);
}

TEST(Rollback, Disabled_NoStatesWrittenAndUpdateSticks) {
  Device device{ReadOtadataVector("s0_seq1_valid.bin")};
  device.config = Rollback(false);
  Otadata decoded = device.Decoded();
  ASSERT_TRUE(
      device.Do(SetBootPartition(&decoded, device.layout, device.config, 1, device.images)).ok());
  EXPECT_EQ(device.otadata, ReadOtadataVector("s0_seq1_valid.set_boot_ota_1.norollback.bin"));
  EXPECT_EQ(device.Boot(), 1);
  EXPECT_EQ(device.Boot(), 1);
  EXPECT_EQ(device.otadata, ReadOtadataVector("s0_seq1_valid.set_boot_ota_1.norollback.bin"));
}

}  // namespace
}  // namespace aloft::core
