#include "core/boot/boot_selection.h"

#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <string>
#include <vector>

#include "core/boot/otadata_test_support.h"
#include "core/crc32.h"

namespace aloft::core {
namespace {

using testing::ApplyWrites;
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

std::vector<int> ToVector(const LoadOrderList& list) { return {list.begin(), list.end()}; }

// ---------------------------------------------------------------------------------------------
// tests/vectors/otadata/README.md, "Boot decision": every row, rollback enabled and disabled.

struct BootRow {
  const char* file;
  SlotLayout layout;
  bool rollback;
  std::optional<int> booted;
  const char* after;  // the whole image after the bootloader's writes; nullptr: unchanged
};

TEST(DecideBoot, ReadmeBootTable_BootsAndWritesAsDocumented) {
  const SlotLayout two = ContiguousSlotLayout(2, /*has_factory=*/false);
  const SlotLayout two_factory = ContiguousSlotLayout(2, /*has_factory=*/true);
  const SlotLayout three = ContiguousSlotLayout(3, /*has_factory=*/false);
  const BootRow kRows[] = {
      {"blank.bin", two, true, 0, "blank.after_boot_no_factory.bin"},
      {"blank.bin", two, false, 0, "blank.after_boot_no_factory.bin"},
      {"blank.bin", two_factory, true, kFactoryIndex, nullptr},
      {"blank.bin", two_factory, false, kFactoryIndex, nullptr},
      {"slot0_new_seq1.bin", two, true, 0, "slot0_new_seq1.after_boot_rollback.bin"},
      {"slot0_new_seq1.bin", two, false, 0, nullptr},
      {"slot1_pending_seq2.bin", two, true, 0, "slot1_pending_seq2.after_boot_rollback.bin"},
      {"slot1_pending_seq2.bin", two, false, 1, nullptr},
      {"bad_crc_sector1.bin", two, true, 0, nullptr},
      {"bad_crc_sector1.bin", two, false, 0, nullptr},
      {"slot1_aborted_seq2.bin", two, true, 0, nullptr},
      {"slot1_aborted_seq2.bin", two, false, 0, nullptr},
      {"both_invalid.bin", two, true, 0, nullptr},
      {"both_invalid.bin", two, false, 0, nullptr},
      {"both_invalid.bin", two_factory, true, kFactoryIndex, nullptr},
      {"both_invalid.bin", two_factory, false, kFactoryIndex, nullptr},
      {"tie_equal_seq.bin", two, true, 0, nullptr},
      {"tie_equal_seq.bin", two, false, 0, nullptr},
      {"seq_unsigned_compare.bin", two, true, 1, nullptr},
      {"seq_unsigned_compare.bin", two, false, 1, nullptr},
      {"seq_near_max.bin", two, true, 1, nullptr},
      {"seq_near_max.bin", two, false, 1, nullptr},
      {"seq_near_max.set_boot_ota_0.norollback.bin", two, true, 1, nullptr},
      {"seq_near_max.set_boot_ota_0.norollback.bin", two, false, 1, nullptr},
      {"seq_zero_crc_ff.bin", two, true, 1, nullptr},
      {"seq_zero_crc_ff.bin", two, false, 1, nullptr},
      {"seq_zero_crc_ff.bin", three, true, 0, nullptr},
      {"seq_zero_crc_ff.bin", three, false, 0, nullptr},
  };
  for (const BootRow& row : kRows) {
    SCOPED_TRACE(::testing::Message()
                 << row.file << " rollback " << row.rollback << " factory "
                 << row.layout.has_factory << " slots " << int{row.layout.bootloader_ota_count});
    const Image before = ReadOtadataVector(row.file);
    const Otadata otadata = ParseImage(before);
    ImageVerdicts images = ImageVerdicts::AllVerify();
    const BootDecision decision = DecideBoot(&otadata, row.layout, Rollback(row.rollback), images);
    EXPECT_EQ(Describe(decision.booted), Describe(row.booted));
    const Image expected = row.after != nullptr ? ReadOtadataVector(row.after) : before;
    EXPECT_EQ(ApplyWrites(before, decision.writes.view()), expected);
    EXPECT_EQ(decision.writes.empty(), row.after == nullptr);
  }
}

// The README's notes and the "after" files of its app-side table, booted once more: each
// set_boot result boots its target (rollback: NEW becomes PENDING_VERIFY first).
TEST(DecideBoot, SetBootResults_BootTheirTarget) {
  struct Row {
    const char* file;
    int slots;
    bool rollback;
    int booted;
    std::optional<OtadataWrite> write;
  };
  const Row kRows[] = {
      {"blank.set_boot_ota_0.rollback.bin", 2, true, 0,
       OtadataWrite{0, MakeOtaSelectEntry(1, OtaState::kPendingVerify)}},
      {"blank.set_boot_ota_0.norollback.bin", 2, false, 0, std::nullopt},
      {"blank.set_boot_ota_1.norollback.bin", 2, false, 1, std::nullopt},
      {"s0_seq1_valid.set_boot_ota_1.rollback.bin", 2, true, 1,
       OtadataWrite{1, MakeOtaSelectEntry(2, OtaState::kPendingVerify)}},
      {"s0_seq1_valid.set_boot_ota_1.norollback.bin", 2, false, 1, std::nullopt},
      {"s1_seq2_valid.set_boot_ota_0.rollback.bin", 2, true, 0,
       OtadataWrite{0, MakeOtaSelectEntry(3, OtaState::kPendingVerify)}},
      {"s1_seq2_valid.set_boot_ota_0.norollback.bin", 2, false, 0, std::nullopt},
      {"three_slots_seq5.bin", 3, false, 1, std::nullopt},  // "running ota_1"
      {"three_slots_seq5.set_boot_ota_0.norollback.bin", 3, false, 0, std::nullopt},
      {"sixteen_slots_seq16.bin", 16, false, 15, std::nullopt},  // "running ota_15"
      {"sixteen_slots_seq16.set_boot_ota_0.norollback.bin", 16, false, 0, std::nullopt},
      {"slot1_pending_seq2.after_mark_valid.bin", 2, true, 1, std::nullopt},
      {"slot1_pending_seq2.after_mark_invalid.bin", 2, true, 0, std::nullopt},
      {"blank.after_boot_no_factory.bin", 2, true, 0, std::nullopt},
      {"slot0_new_seq1.after_boot_rollback.bin", 2, false, 0, std::nullopt},
  };
  for (const Row& row : kRows) {
    SCOPED_TRACE(::testing::Message() << row.file << " rollback " << row.rollback);
    const Otadata otadata = ParseImage(ReadOtadataVector(row.file));
    ImageVerdicts images = ImageVerdicts::AllVerify();
    const BootDecision decision = DecideBoot(&otadata, ContiguousSlotLayout(row.slots, false),
                                             Rollback(row.rollback), images);
    EXPECT_EQ(Describe(decision.booted), Describe(row.booted));
    ASSERT_EQ(decision.writes.size(), row.write.has_value() ? 1u : 0u);
    if (row.write.has_value()) {
      EXPECT_EQ(decision.writes[0], *row.write);
    }
  }
}

// README note: "If ota_0 failed verification and ota_1 loaded, sector 0 would get seq 2".
TEST(DecideBoot, BlankOta0Corrupt_BootsOta1AndWritesSeq2Valid) {
  const Image before = ReadOtadataVector("blank.bin");
  const Otadata otadata = ParseImage(before);
  ImageVerdicts images = ImageVerdicts::AllVerify();
  images.verifies[0] = false;
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images);
  EXPECT_EQ(decision.booted, 1);
  ASSERT_EQ(decision.writes.size(), 1u);
  EXPECT_EQ(decision.writes[0], (OtadataWrite{0, MakeOtaSelectEntry(2, OtaState::kValid)}));
  const Image after = ApplyWrites(before, decision.writes.view());
  // seq 2 (02 00 00 00), label FF×20, VALID (02 00 00 00), crc(2) = 0x55F63774.
  const uint8_t expected[32] = {0x02, 0,    0,    0,    0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                0xFF, 0xFF, 0x02, 0,    0,    0,    0x74, 0x37, 0xF6, 0x55};
  for (size_t i = 0; i < after.size(); ++i) {
    ASSERT_EQ(static_cast<uint8_t>(after[i]), i < 32 ? expected[i] : 0xFF) << "byte " << i;
  }
  // Booting that result again goes straight to ota_1 and writes nothing.
  const Otadata again = ParseImage(after);
  const BootDecision second =
      DecideBoot(&again, ContiguousSlotLayout(2, false), Rollback(true), images);
  EXPECT_EQ(second.booted, 1);
  EXPECT_TRUE(second.writes.empty());
}

// README note: the fallback after ABORTED is what the *other* sector selects.
TEST(DecideBoot, PendingAbortedWithCorruptOtherImage_FallsBackDownThenUp) {
  const Otadata otadata = ParseImage(ReadOtadataVector("slot1_pending_seq2.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  images.verifies[0] = false;  // the slot the other sector selects is corrupt
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images);
  EXPECT_EQ(decision.selection.index, 0);
  // Then up from 1: the aborted slot's image still loads, as ESP-IDF does (no otadata write
  // points back at it).
  EXPECT_EQ(decision.booted, 1);
  ASSERT_EQ(decision.attempts.size(), 2u);
  EXPECT_EQ(decision.attempts[0].index, 0);
  EXPECT_EQ(decision.attempts[0].result, LoadResult::kImageInvalid);
  EXPECT_EQ(decision.attempts[1].index, 1);
  EXPECT_EQ(decision.attempts[1].result, LoadResult::kLoaded);
  ASSERT_EQ(decision.writes.size(), 1u);
  EXPECT_EQ(decision.writes[0].entry.state, OtaState::kAborted);
}

// §3.3.5: nothing else writes otadata during a fallback.
TEST(DecideBoot, ActiveImageCorrupt_LowerSlotBootsAndOtadataStillPointsAtIt) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  images.verifies[1] = false;
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images);
  EXPECT_EQ(decision.selection.index, 1);
  EXPECT_EQ(decision.booted, 0);
  EXPECT_TRUE(decision.writes.empty());
}

TEST(DecideBoot, NothingVerifies_NoBootAndEveryCandidateTried) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  ImageVerdicts images;  // nothing verifies
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, true, true), Rollback(false), images);
  EXPECT_EQ(decision.booted, kNone);
  std::vector<int> tried;
  for (const LoadAttempt& attempt : decision.attempts) {
    EXPECT_EQ(attempt.result, LoadResult::kImageInvalid);
    tried.push_back(attempt.index);
  }
  EXPECT_EQ(tried, (std::vector<int>{1, 0, kFactoryIndex, kTestIndex}));
}

// ---------------------------------------------------------------------------------------------
// SelectBootIndex edge cases (spec §3.2, bootloader_utility.c).

TEST(SelectBootIndex, NoOtadataPartition_FactoryWithoutLooking) {
  SlotLayout layout = ContiguousSlotLayout(2, false);
  layout.has_otadata = false;
  const BootSelection selection = SelectBootIndex(nullptr, layout, Rollback(true));
  EXPECT_EQ(selection.index, kFactoryIndex);
  EXPECT_TRUE(selection.writes.empty());
  // Without a factory app the loader goes on from ota_0.
  ImageVerdicts images = ImageVerdicts::AllVerify();
  EXPECT_EQ(DecideBoot(nullptr, layout, Rollback(true), images).booted, 0);
}

TEST(SelectBootIndex, OtadataUnreadable_InvalidIndexAndNoLoad) {
  const Image short_image(0x1000, std::byte{0xFF});
  EXPECT_FALSE(ParseOtadata(short_image).ok());
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision decision =
      DecideBoot(nullptr, ContiguousSlotLayout(2, true), Rollback(true), images);
  EXPECT_EQ(decision.selection.index, kInvalidIndex);
  EXPECT_EQ(decision.booted, kNone);
  EXPECT_TRUE(decision.attempts.empty());
  EXPECT_TRUE(decision.writes.empty());
}

TEST(SelectBootIndex, TestAppRequested_TestAfterTheRewrites) {
  const Otadata otadata = ParseImage(ReadOtadataVector("slot1_pending_seq2.bin"));
  BootConfig config = Rollback(true);
  config.test_app_requested = true;
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision with_test =
      DecideBoot(&otadata, ContiguousSlotLayout(2, true, true), config, images);
  EXPECT_EQ(with_test.selection.index, kTestIndex);
  EXPECT_EQ(with_test.booted, kTestIndex);
  EXPECT_EQ(with_test.writes.size(), 1u);  // PENDING_VERIFY → ABORTED happened first
  const BootDecision without_test =
      DecideBoot(&otadata, ContiguousSlotLayout(2, true, false), config, images);
  EXPECT_EQ(without_test.selection.index, kInvalidIndex);
  EXPECT_EQ(without_test.booted, kNone);
  // The test app failing means a reset: nothing else is tried.
  images.verifies.test = false;
  const BootDecision failing =
      DecideBoot(&otadata, ContiguousSlotLayout(2, true, true), config, images);
  EXPECT_EQ(failing.booted, kNone);
  EXPECT_EQ(failing.attempts.size(), 1u);
}

TEST(SelectBootIndex, NoOtaSlots_FactoryOrIndexZero) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  EXPECT_EQ(SelectBootIndex(&otadata, MakeSlotLayout(0, true), Rollback(false)).index,
            kFactoryIndex);
  const BootSelection no_factory =
      SelectBootIndex(&otadata, MakeSlotLayout(0, false, true), Rollback(false));
  EXPECT_EQ(no_factory.index, 0);
  EXPECT_FALSE(no_factory.initial);  // the entries are CRC-valid
  ImageVerdicts images = ImageVerdicts::AllVerify();
  EXPECT_EQ(DecideBoot(&otadata, MakeSlotLayout(0, false, true), Rollback(false), images).booted,
            kTestIndex);
}

TEST(SelectBootIndex, BothCrcBadButNotInvalid_FactoryIndexAndNoInitialWrite) {
  Otadata otadata;
  otadata.entries[0] = MakeOtaSelectEntry(1, OtaState::kValid);
  otadata.entries[1] = MakeOtaSelectEntry(2, OtaState::kValid);
  otadata.entries[0].crc ^= 1;
  otadata.entries[1].crc ^= 1;
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images);
  EXPECT_EQ(decision.selection.index, kFactoryIndex);
  EXPECT_FALSE(decision.selection.initial);
  EXPECT_EQ(decision.booted, 0);
  EXPECT_TRUE(decision.writes.empty());
}

TEST(SelectBootIndex, BothCrcBadAndInvalid_InitialWriteAfterLoad) {
  Otadata otadata;
  otadata.entries[0] = MakeOtaSelectEntry(1, OtaState::kInvalid);
  otadata.entries[1] = MakeOtaSelectEntry(2, OtaState::kAborted);
  otadata.entries[0].crc = 0;
  otadata.entries[1].crc = 0;
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(false), images);
  EXPECT_EQ(decision.selection.index, 0);
  EXPECT_TRUE(decision.selection.initial);
  EXPECT_EQ(decision.booted, 0);
  ASSERT_EQ(decision.writes.size(), 1u);
  EXPECT_EQ(decision.writes[0], (OtadataWrite{0, MakeOtaSelectEntry(1, OtaState::kValid)}));
}

TEST(SelectBootIndex, PendingWithBadCrc_AbortedKeepingTheBadCrc) {
  Otadata otadata;
  otadata.entries[0] = MakeOtaSelectEntry(1, OtaState::kValid);
  otadata.entries[1] = MakeOtaSelectEntry(2, OtaState::kPendingVerify);
  otadata.entries[1].crc = 0x12345678;
  const BootSelection selection =
      SelectBootIndex(&otadata, ContiguousSlotLayout(2, false), Rollback(true));
  ASSERT_EQ(selection.writes.size(), 1u);
  OtaSelectEntry expected = otadata.entries[1];
  expected.state = OtaState::kAborted;
  EXPECT_EQ(selection.writes[0], (OtadataWrite{1, expected}));
  EXPECT_EQ(selection.index, 0);
  EXPECT_EQ(selection.active_sector, 0);
}

TEST(SelectBootIndex, BothPendingBlankSeq_TwoAbortsThenInitialWrite) {
  Otadata otadata;
  otadata.entries[0].state = OtaState::kPendingVerify;  // seq 0xFFFFFFFF, crc 0xFFFFFFFF
  otadata.entries[1].state = OtaState::kPendingVerify;
  ImageVerdicts images = ImageVerdicts::AllVerify();
  images.verifies[0] = false;
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images);
  ASSERT_EQ(decision.writes.size(), 3u);
  EXPECT_EQ(decision.writes[0].sector, 0);
  EXPECT_EQ(decision.writes[0].entry.state, OtaState::kAborted);
  EXPECT_EQ(decision.writes[1].sector, 1);
  EXPECT_EQ(decision.writes[1].entry.state, OtaState::kAborted);
  EXPECT_EQ(decision.writes[2], (OtadataWrite{0, MakeOtaSelectEntry(2, OtaState::kValid)}));
  EXPECT_EQ(decision.booted, 1);
}

TEST(SelectBootIndex, GapInOtaRows_CountIsRowsSoOta2IsUnreachable) {
  // ota_0 and ota_2 only: app_count = 2, seq 3 → (3-1) mod 2 = 0.
  const SlotLayout layout = MakeSlotLayout(0b101, false);
  EXPECT_EQ(layout.bootloader_ota_count, 2);
  EXPECT_EQ(layout.app_ota_count, 1);
  Otadata otadata;
  otadata.entries[0] = MakeOtaSelectEntry(2, OtaState::kValid);  // slot 1: no such partition
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision decision = DecideBoot(&otadata, layout, Rollback(false), images);
  EXPECT_EQ(decision.selection.index, 1);
  EXPECT_EQ(decision.booted, 0);
  EXPECT_EQ(ToVector(LoadOrder(1, layout)), (std::vector<int>{0}));
  EXPECT_EQ(ToVector(LoadOrder(kFactoryIndex, layout)), (std::vector<int>{0}));
}

// ---------------------------------------------------------------------------------------------
// Anti-rollback (spec §3.2.5, §5.5).

BootConfig AntiRollback(uint32_t efuse, std::initializer_list<std::optional<uint32_t>> slots) {
  BootConfig config;
  config.rollback_enabled = true;
  config.anti_rollback_enabled = true;
  config.efuse_secure_version = efuse;
  int k = 0;
  for (const std::optional<uint32_t>& version : slots) {
    config.secure_version[k++] = version;
  }
  return config;
}

TEST(AntiRollback, ActiveValid_RaisesBeforeLoadAndLaterCandidatesFaceTheNewValue) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  images.verifies[1] = false;
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), AntiRollback(3, {4, 5}), images);
  EXPECT_EQ(decision.selection.index, 1);
  EXPECT_EQ(decision.secure_version_raise, 5u);
  // ota_1 is corrupt, and ota_0's secure_version 4 is now below the eFuse's 5.
  EXPECT_EQ(decision.booted, kNone);
  ASSERT_EQ(decision.attempts.size(), 2u);
  EXPECT_EQ(decision.attempts[0].result, LoadResult::kImageInvalid);
  EXPECT_EQ(decision.attempts[1].result, LoadResult::kSecureVersionTooLow);
}

TEST(AntiRollback, ActiveSlotBelowEfuse_OtherEntrySelected) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), AntiRollback(2, {2, 1}), images);
  EXPECT_EQ(decision.selection.active_sector, 0);
  EXPECT_EQ(decision.booted, 0);
  EXPECT_EQ(decision.secure_version_raise, kNone);  // 2 is already burnt
}

TEST(AntiRollback, UnknownSecureVersion_NeverAccepted) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s1_seq2_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision decision = DecideBoot(&otadata, ContiguousSlotLayout(2, false),
                                           AntiRollback(0, {std::nullopt, 0}), images);
  EXPECT_EQ(decision.booted, 1);
  const BootDecision neither = DecideBoot(&otadata, ContiguousSlotLayout(2, false),
                                          AntiRollback(0, {std::nullopt, std::nullopt}), images);
  EXPECT_EQ(neither.selection.active_sector, kNoEntry);
  EXPECT_EQ(neither.booted, kNone);
}

TEST(AntiRollback, BlankOtadata_StartsAtFactoryIndexAsEspIdfDoes) {
  const Otadata otadata = ParseImage(ReadOtadataVector("blank.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  BootConfig config = AntiRollback(1, {3, 3});
  config.secure_version.factory = 1;
  const BootDecision with_factory =
      DecideBoot(&otadata, ContiguousSlotLayout(2, true), config, images);
  EXPECT_EQ(with_factory.selection.index, kFactoryIndex);
  EXPECT_TRUE(with_factory.selection.initial);
  EXPECT_EQ(with_factory.booted, kFactoryIndex);
  EXPECT_TRUE(with_factory.writes.empty());
  EXPECT_EQ(with_factory.secure_version_raise, kNone);

  const BootDecision without = DecideBoot(&otadata, ContiguousSlotLayout(2, false), config, images);
  EXPECT_EQ(without.booted, 0);
  ASSERT_EQ(without.writes.size(), 1u);
  EXPECT_EQ(without.writes[0], (OtadataWrite{0, MakeOtaSelectEntry(1, OtaState::kValid)}));
  EXPECT_EQ(without.secure_version_raise, 3u);  // set_actual_ota_seq raises too
}

TEST(AntiRollback, SecureVersionWiderThanField_NotBurnt) {
  const Otadata otadata = ParseImage(ReadOtadataVector("s0_seq1_valid.bin"));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  BootConfig config = AntiRollback(1, {20, 0});
  config.efuse_secure_version_bits = 16;
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), config, images);
  EXPECT_EQ(decision.booted, 0);
  EXPECT_EQ(decision.secure_version_raise, kNone);
}

// ---------------------------------------------------------------------------------------------
// LoadOrder (spec §3.3).

TEST(LoadOrder, Table) {
  struct Case {
    int start;
    SlotLayout layout;
    std::vector<int> expected;
  };
  const int F = kFactoryIndex;
  const int T = kTestIndex;
  const Case kCases[] = {
      {0, ContiguousSlotLayout(2, false), {0, 1}},
      {1, ContiguousSlotLayout(2, false), {1, 0}},
      {1, ContiguousSlotLayout(2, true, true), {1, 0, F, T}},
      {F, ContiguousSlotLayout(3, true), {F, 0, 1, 2}},
      {F, ContiguousSlotLayout(3, false), {0, 1, 2}},
      {0, ContiguousSlotLayout(3, true), {0, F, 1, 2}},
      {T, ContiguousSlotLayout(2, true, true), {T}},
      {T, ContiguousSlotLayout(2, true, false), {}},
      {kInvalidIndex, ContiguousSlotLayout(2, true, true), {}},
      {5,
       ContiguousSlotLayout(16, true),
       {5, 4, 3, 2, 1, 0, F, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}},
      {15,
       ContiguousSlotLayout(16, false, true),
       {15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, T}},
      {0, MakeSlotLayout(0, true, true), {F, T}},
      {1, MakeSlotLayout(0b1010, false), {1}},  // ota_1, ota_3: count 2, ota_3 unreachable
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(ToVector(LoadOrder(c.start, c.layout)), c.expected)
        << "start " << c.start << " mask " << c.layout.ota_present;
  }
}

// ---------------------------------------------------------------------------------------------
// Exhaustive: every pair of entries from a small alphabet × layout × rollback × image verdicts,
// checked against a straightforward re-statement of spec §3.2–§3.3 and against invariants.

constexpr uint32_t kSeqs[] = {0xFFFFFFFF, 1, 2, 3, 0, 0xFFFFFFFE};
constexpr uint32_t kStates[] = {0, 1, 2, 3, 4, 0xFFFFFFFF, 7};

std::vector<OtaSelectEntry> EntryAlphabet(std::span<const uint32_t> seqs,
                                          std::span<const uint32_t> states) {
  std::vector<OtaSelectEntry> entries;
  for (uint32_t seq : seqs) {
    for (uint32_t state : states) {
      for (bool crc_ok : {true, false}) {
        OtaSelectEntry entry;
        entry.seq = seq;
        entry.state = static_cast<OtaState>(state);
        std::array<std::byte, 4> le;
        StoreLe32(le, 0, seq);
        entry.crc = EspRomCrc32Le(0xFFFFFFFF, le) ^ (crc_ok ? 0u : 0x10u);
        entries.push_back(entry);
      }
    }
  }
  return entries;
}

struct Reference {
  int index;
  std::vector<OtadataWrite> writes;
  std::optional<int> booted;
  uint32_t efuse;
};

// The spec's words, written without the code under test (contiguous ota_0..count-1, no test
// app, no GPIO).
Reference ReferenceBoot(std::array<OtaSelectEntry, 2> e, int count, bool factory,
                        const BootConfig& config, const PerAppPartition<bool>& verifies) {
  Reference ref{kInvalidIndex, {}, std::nullopt, config.efuse_secure_version};
  auto crc_ok = [](const OtaSelectEntry& entry) {
    std::array<std::byte, 4> le;
    StoreLe32(le, 0, entry.seq);
    return entry.crc == EspRomCrc32Le(0xFFFFFFFF, le);
  };
  auto invalid = [](const OtaSelectEntry& entry) {
    const uint32_t state = static_cast<uint32_t>(entry.state);
    return entry.seq == 0xFFFFFFFF || state == 3 || state == 4;
  };
  auto unset = [&](const OtaSelectEntry& entry) {
    return entry.seq == 0xFFFFFFFF || !crc_ok(entry);
  };
  auto sv_ok = [&](int index, uint32_t efuse) {
    const std::optional<uint32_t> version = config.secure_version[index];
    return version.has_value() && *version >= efuse;
  };
  auto exists = [&](int index) { return index == kFactoryIndex ? factory : index < count; };
  // §3.2.3
  if (config.rollback_enabled) {
    for (int i = 0; i < 2; ++i) {
      if (static_cast<uint32_t>(e[i].state) == 1) {
        e[i].state = static_cast<OtaState>(4);
        ref.writes.push_back({i, e[i]});
      }
    }
  }
  bool initial = false;
  bool decided = false;
  bool usable[2] = {!invalid(e[0]) && crc_ok(e[0]), !invalid(e[1]) && crc_ok(e[1])};
  if (!config.anti_rollback_enabled) {  // §3.2.4.1
    if ((invalid(e[0]) && invalid(e[1])) || count == 0) {
      ref.index = factory ? kFactoryIndex : 0;
      initial = !factory && unset(e[0]) && unset(e[1]);
      decided = true;
    }
  } else if (unset(e[0]) && unset(e[1])) {  // §3.2.5.1, as the source has it
    ref.index = kFactoryIndex;
    initial = true;
    decided = true;
  } else {
    for (int i = 0; i < 2; ++i) {
      usable[i] = usable[i] && sv_ok(static_cast<int>((e[i].seq - 1u) % count), ref.efuse);
    }
  }
  if (!decided) {  // §3.2.4.2
    int active = -1;
    if (usable[0] && usable[1]) {
      active = e[0].seq >= e[1].seq ? 0 : 1;
    } else if (usable[0] || usable[1]) {
      active = usable[0] ? 0 : 1;
    }
    if (active < 0) {
      ref.index = kFactoryIndex;
    } else {
      ref.index = static_cast<int>((e[active].seq - 1u) % static_cast<uint32_t>(count));
      if (config.rollback_enabled && static_cast<uint32_t>(e[active].state) == 0) {
        e[active].state = static_cast<OtaState>(1);
        ref.writes.push_back({active, e[active]});
      }
      const std::optional<uint32_t> version = config.secure_version[ref.index];
      if (config.anti_rollback_enabled && static_cast<uint32_t>(e[active].state) == 2 &&
          version.has_value() && *version > ref.efuse && *version <= 32) {
        ref.efuse = *version;
      }
    }
  }
  // §3.3
  std::vector<int> order;
  for (int i = ref.index; i >= kFactoryIndex; --i) {
    if (exists(i)) {
      order.push_back(i);
    }
  }
  for (int i = ref.index + 1; i < count; ++i) {
    order.push_back(i);
  }
  for (int candidate : order) {
    if ((config.anti_rollback_enabled && !sv_ok(candidate, ref.efuse)) || !verifies[candidate]) {
      continue;
    }
    ref.booted = candidate;
    if (candidate >= 0 && initial) {
      ref.writes.push_back(
          {0, MakeOtaSelectEntry(static_cast<uint32_t>(candidate) + 1, static_cast<OtaState>(2))});
      const std::optional<uint32_t> version = config.secure_version[candidate];
      if (config.anti_rollback_enabled && *version > ref.efuse) {
        ref.efuse = *version;
      }
    }
    break;
  }
  return ref;
}

struct Tally {
  int combinations = 0;
  int failures = 0;
  void Fail(const std::string& what) {
    if (++failures <= 10) {
      ADD_FAILURE() << what;
    }
  }
};

// Checks one combination against the reference and the invariants.
void CheckCombination(const Otadata& otadata, int count, bool factory, const BootConfig& config,
                      const PerAppPartition<bool>& verifies, Tally& tally) {
  ++tally.combinations;
  const SlotLayout layout = ContiguousSlotLayout(count, factory);
  ImageVerdicts images;
  images.verifies = verifies;
  const BootDecision decision = DecideBoot(&otadata, layout, config, images);
  const Reference ref = ReferenceBoot(otadata.entries, count, factory, config, verifies);
  auto where = [&] {
    return ::testing::PrintToString(otadata.entries[0].seq) + "/" +
           std::string(StateName(otadata.entries[0].state).view()) + " crc " +
           std::to_string(HasValidCrc(otadata.entries[0])) + " | " +
           ::testing::PrintToString(otadata.entries[1].seq) + "/" +
           std::string(StateName(otadata.entries[1].state).view()) + " crc " +
           std::to_string(HasValidCrc(otadata.entries[1])) + " | slots " + std::to_string(count) +
           " factory " + std::to_string(factory) + " rollback " +
           std::to_string(config.rollback_enabled) + " anti " +
           std::to_string(config.anti_rollback_enabled);
  };
  const std::vector<OtadataWrite> writes(decision.writes.begin(), decision.writes.end());
  if (decision.selection.index != ref.index || decision.booted != ref.booted ||
      writes != ref.writes ||
      decision.secure_version_raise.value_or(config.efuse_secure_version) != ref.efuse) {
    tally.Fail("differs from reference: " + where() + " got index " +
               std::to_string(decision.selection.index) + " booted " + Describe(decision.booted) +
               " want index " + std::to_string(ref.index) + " booted " + Describe(ref.booted));
    return;
  }
  // The final entries as the next boot will read them.
  Otadata after = otadata;
  for (const OtadataWrite& write : decision.writes) {
    after.entries[write.sector] = write.entry;
  }
  // Never boot through an INVALID or ABORTED entry, nor (rollback on) an unconfirmed one.
  if (decision.selection.active_sector != kNoEntry) {
    const OtaSelectEntry& chosen = otadata.entries[decision.selection.active_sector];
    if (IsEntryInvalid(chosen) || !HasValidCrc(chosen) ||
        (config.rollback_enabled && chosen.state == OtaState::kPendingVerify)) {
      tally.Fail("selected a rejected entry: " + where());
    }
  }
  for (int sector = 0; sector < 2; ++sector) {
    const OtaState before = otadata.entries[sector].state;
    if (config.rollback_enabled && before == OtaState::kPendingVerify) {
      // Its first write makes it ABORTED (the initial write may later replace sector 0 with a
      // VALID entry for the slot that actually loaded), and it never ends PENDING_VERIFY.
      const OtadataWrite* first = nullptr;
      for (const OtadataWrite& write : decision.writes) {
        if (write.sector == sector && first == nullptr) {
          first = &write;
        }
      }
      if (first == nullptr || first->entry.state != OtaState::kAborted ||
          after.entries[sector].state == OtaState::kPendingVerify) {
        tally.Fail("PENDING_VERIFY survived a boot: " + where());
      }
    }
    if (!config.rollback_enabled && after.entries[sector].state != before &&
        !(sector == 0 && decision.selection.initial)) {
      tally.Fail("state changed with rollback disabled: " + where());
    }
  }
  // Something boots whenever some candidate passes both checks.
  const uint32_t efuse = decision.secure_version_raise.value_or(config.efuse_secure_version);
  bool loadable = false;
  for (int index : LoadOrder(kFactoryIndex, layout)) {
    const std::optional<uint32_t> version = config.secure_version[index];
    loadable = loadable || (verifies[index] && (!config.anti_rollback_enabled ||
                                                (version.has_value() && *version >= efuse)));
  }
  if (loadable != decision.booted.has_value()) {
    tally.Fail("bootable image ignored or phantom boot: " + where());
  }
  if (decision.booted.has_value() && !verifies[*decision.booted]) {
    tally.Fail("booted an image that does not verify: " + where());
  }
  // With rollback disabled a boot is a fixed point: the same images boot again, no writes.
  if (!config.rollback_enabled && !config.anti_rollback_enabled) {
    ImageVerdicts again_images;
    again_images.verifies = verifies;
    const BootDecision again = DecideBoot(&after, layout, config, again_images);
    if (again.booted != decision.booted || !again.writes.empty()) {
      tally.Fail("second boot differs: " + where());
    }
  }
}

TEST(DecideBoot, Exhaustive508032Combinations_MatchReferenceAndInvariants) {
  const std::vector<OtaSelectEntry> alphabet = EntryAlphabet(kSeqs, kStates);
  ASSERT_EQ(alphabet.size(), 84u);
  Tally tally;
  for (const OtaSelectEntry& entry0 : alphabet) {
    for (const OtaSelectEntry& entry1 : alphabet) {
      const Otadata otadata{{entry0, entry1}};
      for (int count : {2, 3}) {
        for (bool factory : {false, true}) {
          for (bool rollback : {false, true}) {
            const int apps = count + (factory ? 1 : 0);
            for (uint32_t mask = 0; mask < (1u << apps); ++mask) {
              PerAppPartition<bool> verifies;
              for (int k = 0; k < count; ++k) {
                verifies[k] = ((mask >> k) & 1) != 0;
              }
              verifies.factory = factory && ((mask >> count) & 1) != 0;
              CheckCombination(otadata, count, factory, Rollback(rollback), verifies, tally);
            }
          }
        }
      }
    }
  }
  SCOPED_TRACE(::testing::Message() << tally.combinations << " combinations");
  EXPECT_EQ(tally.combinations, 508032);
  EXPECT_EQ(tally.failures, 0);
}

TEST(DecideBoot, ExhaustiveAntiRollback221184Combinations_MatchReferenceAndInvariants) {
  constexpr uint32_t kAntiSeqs[] = {0xFFFFFFFF, 1, 2};
  constexpr uint32_t kAntiStates[] = {0, 1, 2, 3};
  const std::vector<OtaSelectEntry> alphabet = EntryAlphabet(kAntiSeqs, kAntiStates);
  ASSERT_EQ(alphabet.size(), 24u);
  const std::optional<uint32_t> kVersions[] = {std::nullopt, 1, 2, 3};
  Tally tally;
  for (const OtaSelectEntry& entry0 : alphabet) {
    for (const OtaSelectEntry& entry1 : alphabet) {
      const Otadata otadata{{entry0, entry1}};
      for (const std::optional<uint32_t>& version0 : kVersions) {
        for (const std::optional<uint32_t>& version1 : kVersions) {
          for (bool factory : {false, true}) {
            for (bool rollback : {false, true}) {
              BootConfig config = AntiRollback(2, {version0, version1});
              config.rollback_enabled = rollback;
              config.secure_version.factory = 2;
              const int apps = 2 + (factory ? 1 : 0);
              for (uint32_t mask = 0; mask < (1u << apps); ++mask) {
                PerAppPartition<bool> verifies;
                verifies[0] = (mask & 1) != 0;
                verifies[1] = (mask & 2) != 0;
                verifies.factory = factory && (mask & 4) != 0;
                CheckCombination(otadata, 2, factory, config, verifies, tally);
              }
            }
          }
        }
      }
    }
  }
  SCOPED_TRACE(::testing::Message() << tally.combinations << " combinations");
  EXPECT_EQ(tally.combinations, 221184);
  EXPECT_EQ(tally.failures, 0);
}

// ---------------------------------------------------------------------------------------------
// Apply: RewriteOtadataSector on a strict flash.

constexpr uint32_t kOtadataOffset = 0xD000;

TEST(RewriteOtadataSector, BootWrites_EraseThenWriteAndMatchVectorBytes) {
  MemoryFlash flash(0x10000);
  flash.Store(kOtadataOffset, ReadOtadataVector("slot1_pending_seq2.bin"));
  const Otadata otadata = ParseImage(flash.Slice(kOtadataOffset, kOtadataSize));
  ImageVerdicts images = ImageVerdicts::AllVerify();
  const BootDecision decision =
      DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images);
  for (const OtadataWrite& write : decision.writes) {
    ASSERT_TRUE(RewriteOtadataSector(flash, kOtadataOffset, write.sector, write.entry).ok());
  }
  EXPECT_EQ(flash.Slice(kOtadataOffset, kOtadataSize),
            ReadOtadataVector("slot1_pending_seq2.after_boot_rollback.bin"));
  EXPECT_EQ(flash.ops(), (std::vector<MemoryFlash::Op>{{'E', 0xE000, 0x1000}, {'W', 0xE000, 32}}));
}

TEST(RewriteOtadataSector, InitialWrite_MatchesVector) {
  MemoryFlash flash(0x10000);
  flash.Store(kOtadataOffset, ReadOtadataVector("blank.bin"));
  ASSERT_TRUE(
      RewriteOtadataSector(flash, kOtadataOffset, 0, MakeOtaSelectEntry(1, OtaState::kValid)).ok());
  EXPECT_EQ(flash.Slice(kOtadataOffset, kOtadataSize),
            ReadOtadataVector("blank.after_boot_no_factory.bin"));
}

TEST(RewriteOtadataSector, PowerCutAtErase_NothingWrittenAndOldEntryStillBoots) {
  MemoryFlash flash(0x10000);
  const Image before = ReadOtadataVector("slot0_new_seq1.bin");
  flash.Store(kOtadataOffset, before);
  flash.CutPowerAtOp(1);
  EXPECT_EQ(RewriteOtadataSector(flash, kOtadataOffset, 0,
                                 MakeOtaSelectEntry(1, OtaState::kPendingVerify))
                .code(),
            Status::Code::kAborted);
  EXPECT_EQ(flash.Slice(kOtadataOffset, kOtadataSize), before);
}

TEST(RewriteOtadataSector, PowerCutAtWrite_SectorLeftErasedOtherSectorDecides) {
  MemoryFlash flash(0x10000);
  flash.Store(kOtadataOffset, ReadOtadataVector("slot1_pending_seq2.bin"));
  flash.CutPowerAtOp(2);
  OtaSelectEntry aborted = MakeOtaSelectEntry(2, OtaState::kAborted);
  EXPECT_EQ(RewriteOtadataSector(flash, kOtadataOffset, 1, aborted).code(), Status::Code::kAborted);
  const Otadata otadata = ParseImage(flash.Slice(kOtadataOffset, kOtadataSize));
  EXPECT_EQ(otadata.entries[1], OtaSelectEntry{});
  ImageVerdicts images = ImageVerdicts::AllVerify();
  EXPECT_EQ(DecideBoot(&otadata, ContiguousSlotLayout(2, false), Rollback(true), images).booted, 0);
}

TEST(RewriteOtadataSector, MisalignedOffset_FlashErrorAndNoWrite) {
  MemoryFlash flash(0x10000);
  EXPECT_EQ(RewriteOtadataSector(flash, 0xD100, 0, MakeOtaSelectEntry(1, OtaState::kValid)).code(),
            Status::Code::kInvalidArgument);
  EXPECT_TRUE(flash.ops().empty());
}

}  // namespace
}  // namespace aloft::core
