#include "core/format/otadata.h"

#include <gtest/gtest.h>

#include <array>
#include <cstddef>
#include <string>
#include <vector>

#include "support/vectors.h"

namespace aloft::core {
namespace {

using testing::ReadBinary;
using testing::VectorFiles;
using testing::VectorPath;

// Status equality compares reason pointers, and identical literals in two translation units
// need not share one: compare the text.
std::string Describe(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + ": " + status.reason();
  if (status.has_context()) {
    text += " [" + std::to_string(status.context()) + "]";
  }
  return text;
}

constexpr uint32_t kCrcOk = 1;
constexpr uint32_t kCrcBad = 0;

std::vector<std::byte> ReadOtadata(const std::string& name) {
  return ReadBinary(VectorPath("otadata/" + name));
}

Otadata ParseVector(const std::string& name) {
  const std::vector<std::byte> bytes = ReadOtadata(name);
  Result<Otadata> otadata = ParseOtadata(bytes);
  EXPECT_TRUE(otadata.ok()) << name;
  return otadata.ok() ? *otadata : Otadata{};
}

TEST(OtaSeqCrc, KnownValues_MatchVectorReadme) {
  struct Case {
    uint32_t seq;
    uint32_t crc;
  };
  constexpr Case kCases[] = {
      {0, 0xFFFFFFFF}, {1, 0x4743989A}, {2, 0x55F63774},          {3, 0xED4A5011},
      {4, 0x709D68A8}, {5, 0xC8210FCD}, {0xFFFFFFFE, 0x99F8B879}, {0xFFFFFFFF, 0x2144DF1C},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(OtaSeqCrc(c.seq), c.crc) << "seq " << c.seq;
  }
}

// Every vector decodes to the entries its README describes.
TEST(ParseOtadata, EveryVector_DecodesDocumentedEntries) {
  struct Side {
    uint32_t seq;
    OtaState state;
    uint32_t crc_ok;
  };
  struct Case {
    const char* file;
    Side sector0;
    Side sector1;
  };
  constexpr Side kBlank = {0xFFFFFFFF, OtaState::kUndefined, kCrcBad};
  const Case kCases[] = {
      {"blank.bin", kBlank, kBlank},
      {"blank.after_boot_no_factory.bin", {1, OtaState::kValid, kCrcOk}, kBlank},
      {"blank.set_boot_ota_0.rollback.bin", {1, OtaState::kNew, kCrcOk}, kBlank},
      {"blank.set_boot_ota_0.norollback.bin", {1, OtaState::kUndefined, kCrcOk}, kBlank},
      {"blank.set_boot_ota_1.norollback.bin", {2, OtaState::kUndefined, kCrcOk}, kBlank},
      {"bad_crc_sector1.bin", {1, OtaState::kValid, kCrcOk}, {2, OtaState::kUndefined, kCrcBad}},
      {"both_invalid.bin", {1, OtaState::kInvalid, kCrcOk}, {2, OtaState::kAborted, kCrcOk}},
      {"s0_seq1_valid.bin", {1, OtaState::kValid, kCrcOk}, kBlank},
      {"s0_seq1_valid.set_boot_ota_1.rollback.bin",
       {1, OtaState::kValid, kCrcOk},
       {2, OtaState::kNew, kCrcOk}},
      {"s0_seq1_valid.set_boot_ota_1.norollback.bin",
       {1, OtaState::kValid, kCrcOk},
       {2, OtaState::kUndefined, kCrcOk}},
      {"s1_seq2_valid.bin", {1, OtaState::kValid, kCrcOk}, {2, OtaState::kValid, kCrcOk}},
      {"s1_seq2_valid.set_boot_ota_0.rollback.bin",
       {3, OtaState::kNew, kCrcOk},
       {2, OtaState::kValid, kCrcOk}},
      {"s1_seq2_valid.set_boot_ota_0.norollback.bin",
       {3, OtaState::kUndefined, kCrcOk},
       {2, OtaState::kValid, kCrcOk}},
      {"seq_near_max.bin",
       {0xFFFFFFFE, OtaState::kValid, kCrcOk},
       {0xFFFFFFFD, OtaState::kValid, kCrcOk}},
      {"seq_near_max.set_boot_ota_0.norollback.bin",
       {0xFFFFFFFE, OtaState::kValid, kCrcOk},
       {0xFFFFFFFF, OtaState::kUndefined, kCrcOk}},
      {"seq_unsigned_compare.bin",
       {0x7FFFFFFF, OtaState::kValid, kCrcOk},
       {0x80000000, OtaState::kValid, kCrcOk}},
      {"seq_zero_crc_ff.bin", {0, OtaState::kUndefined, kCrcOk}, kBlank},
      {"sixteen_slots_seq16.bin", {16, OtaState::kValid, kCrcOk}, kBlank},
      {"sixteen_slots_seq16.set_boot_ota_0.norollback.bin",
       {16, OtaState::kValid, kCrcOk},
       {17, OtaState::kUndefined, kCrcOk}},
      {"slot0_new_seq1.bin", {1, OtaState::kNew, kCrcOk}, kBlank},
      {"slot0_new_seq1.after_boot_rollback.bin", {1, OtaState::kPendingVerify, kCrcOk}, kBlank},
      {"slot1_aborted_seq2.bin", {1, OtaState::kValid, kCrcOk}, {2, OtaState::kAborted, kCrcOk}},
      {"slot1_pending_seq2.bin",
       {1, OtaState::kValid, kCrcOk},
       {2, OtaState::kPendingVerify, kCrcOk}},
      {"slot1_pending_seq2.after_boot_rollback.bin",
       {1, OtaState::kValid, kCrcOk},
       {2, OtaState::kAborted, kCrcOk}},
      {"slot1_pending_seq2.after_mark_invalid.bin",
       {1, OtaState::kValid, kCrcOk},
       {2, OtaState::kInvalid, kCrcOk}},
      {"slot1_pending_seq2.after_mark_valid.bin",
       {1, OtaState::kValid, kCrcOk},
       {2, OtaState::kValid, kCrcOk}},
      {"three_slots_seq5.bin", {5, OtaState::kValid, kCrcOk}, kBlank},
      {"three_slots_seq5.set_boot_ota_0.norollback.bin",
       {5, OtaState::kValid, kCrcOk},
       {7, OtaState::kUndefined, kCrcOk}},
      {"tie_equal_seq.bin", {1, OtaState::kValid, kCrcOk}, {1, OtaState::kNew, kCrcOk}},
  };
  // Every vector file is covered above.
  EXPECT_EQ(VectorFiles("otadata", ".bin").size(), std::size(kCases));
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.file);
    const Otadata otadata = ParseVector(c.file);
    const Side sides[] = {c.sector0, c.sector1};
    for (int sector = 0; sector < 2; ++sector) {
      const OtaSelectEntry& entry = otadata.entries[sector];
      EXPECT_EQ(entry.seq, sides[sector].seq) << "sector " << sector;
      EXPECT_EQ(entry.state, sides[sector].state) << "sector " << sector;
      EXPECT_EQ(HasValidCrc(entry), sides[sector].crc_ok == kCrcOk) << "sector " << sector;
      EXPECT_EQ(entry.label, kErasedSeqLabel) << "sector " << sector;
    }
  }
  // The one bad CRC is off by one bit, as the README says.
  const Otadata bad = ParseVector("bad_crc_sector1.bin");
  EXPECT_EQ(bad.entries[1].crc ^ OtaSeqCrc(2), 1u);
}

TEST(SerializeOtadata, EveryVector_RoundTripsByteExact) {
  for (const auto& path : VectorFiles("otadata", ".bin")) {
    SCOPED_TRACE(path.filename().string());
    const std::vector<std::byte> bytes = ReadBinary(path);
    ASSERT_EQ(bytes.size(), kOtadataSize);
    Result<Otadata> otadata = ParseOtadata(bytes);
    ASSERT_TRUE(otadata.ok());
    std::vector<std::byte> out(kOtadataSize, std::byte{0});
    ASSERT_TRUE(SerializeOtadata(*otadata, out).ok());
    EXPECT_EQ(out, bytes);
  }
}

TEST(ParseOtadata, ShorterThan0x2000_IsOutOfRangeWithSize) {
  for (size_t size :
       {size_t{0}, size_t{31}, size_t{32}, size_t{0x1000}, size_t{0x1020}, size_t{0x1FFF}}) {
    const std::vector<std::byte> bytes(size, std::byte{0xFF});
    Result<Otadata> otadata = ParseOtadata(bytes);
    ASSERT_FALSE(otadata.ok()) << size;
    EXPECT_EQ(Describe(otadata.status()), "out_of_range: otadata: partition smaller than 0x2000 [" +
                                              std::to_string(size) + "]");
  }
}

TEST(ParseOtadata, LongerThan0x2000_ReadsTheTwoSectors) {
  std::vector<std::byte> bytes = ReadOtadata("s1_seq2_valid.bin");
  bytes.resize(0x4000, std::byte{0x00});
  Result<Otadata> otadata = ParseOtadata(bytes);
  ASSERT_TRUE(otadata.ok());
  EXPECT_EQ(otadata->entries[0].seq, 1u);
  EXPECT_EQ(otadata->entries[1].seq, 2u);
}

TEST(ParseOtaSelectEntry, Truncated_IsOutOfRange) {
  const std::array<std::byte, 31> bytes{};
  Result<OtaSelectEntry> entry = ParseOtaSelectEntry(bytes);
  ASSERT_FALSE(entry.ok());
  EXPECT_EQ(Describe(entry.status()), "out_of_range: otadata: entry truncated [31]");
}

TEST(SerializeOtaSelectEntry, SmallBuffer_IsOutOfRange) {
  std::array<std::byte, 16> out{};
  EXPECT_EQ(Describe(SerializeOtaSelectEntry(OtaSelectEntry{}, out)),
            "out_of_range: otadata: entry buffer too small [16]");
}

TEST(SerializeOtadataSector, WrongSize_IsInvalidArgument) {
  std::vector<std::byte> out(0x2000);
  EXPECT_EQ(Describe(SerializeOtadataSector(OtaSelectEntry{}, out)),
            "invalid_argument: otadata: sector buffer is not 0x1000 bytes [8192]");
  EXPECT_EQ(Describe(SerializeOtadata(Otadata{}, std::span(out).first(0x1000))),
            "invalid_argument: otadata: partition buffer is not 0x2000 bytes [4096]");
}

TEST(SerializeOtadataSector, Entry_IsFollowedByErasedBytes) {
  std::vector<std::byte> sector(kOtadataSectorSize, std::byte{0x00});
  OtaSelectEntry entry = MakeOtaSelectEntry(2, OtaState::kNew);
  entry.label[0] = std::byte{'a'};
  ASSERT_TRUE(SerializeOtadataSector(entry, sector).ok());
  const std::array<uint8_t, 32> expected = {0x02, 0x00, 0x00, 0x00, 'a',  0xFF, 0xFF, 0xFF,
                                            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
                                            0x00, 0x00, 0x00, 0x00, 0x74, 0x37, 0xF6, 0x55};
  for (size_t i = 0; i < sector.size(); ++i) {
    const uint8_t want = i < expected.size() ? expected[i] : 0xFF;
    ASSERT_EQ(static_cast<uint8_t>(sector[i]), want) << "byte " << i;
  }
}

TEST(OtaSelectEntry, RoundTrip_KeepsUnknownStateAndLabel) {
  OtaSelectEntry entry;
  entry.seq = 0x12345678;
  for (size_t i = 0; i < entry.label.size(); ++i) {
    entry.label[i] = static_cast<std::byte>(i * 7);
  }
  entry.state = static_cast<OtaState>(0xDEADBEEF);
  entry.crc = 0x0BADF00D;
  std::array<std::byte, kOtaSelectEntrySize> bytes{};
  ASSERT_TRUE(SerializeOtaSelectEntry(entry, bytes).ok());
  Result<OtaSelectEntry> parsed = ParseOtaSelectEntry(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, entry);
  EXPECT_EQ(static_cast<uint32_t>(parsed->state), 0xDEADBEEFu);
}

TEST(OtaSelectEntry, Default_IsAllErased) {
  std::array<std::byte, kOtaSelectEntrySize> bytes{};
  ASSERT_TRUE(SerializeOtaSelectEntry(OtaSelectEntry{}, bytes).ok());
  for (std::byte b : bytes) {
    EXPECT_EQ(b, std::byte{0xFF});
  }
  EXPECT_TRUE(IsEntryInvalid(OtaSelectEntry{}));
  EXPECT_TRUE(IsEntryUnset(OtaSelectEntry{}));
}

// Corrupting any byte of a valid entry: seq bytes break the crc (or make the seq erased),
// label bytes change nothing, state bytes make it invalid only as INVALID or ABORTED, crc
// bytes break the crc.
TEST(OtaSelectEntry, CorruptEachByte_ValidityFollowsTheField) {
  const OtaSelectEntry good = MakeOtaSelectEntry(1, OtaState::kValid);
  std::array<std::byte, kOtaSelectEntrySize> pristine{};
  ASSERT_TRUE(SerializeOtaSelectEntry(good, pristine).ok());
  int checked = 0;
  for (size_t offset = 0; offset < kOtaSelectEntrySize; ++offset) {
    for (int replacement = 0; replacement < 256; ++replacement) {
      if (static_cast<std::byte>(replacement) == pristine[offset]) {
        continue;
      }
      std::array<std::byte, kOtaSelectEntrySize> bytes = pristine;
      bytes[offset] = static_cast<std::byte>(replacement);
      Result<OtaSelectEntry> entry = ParseOtaSelectEntry(bytes);
      ASSERT_TRUE(entry.ok());
      SCOPED_TRACE(::testing::Message() << "offset " << offset << " byte " << replacement);
      ++checked;
      if (offset < 4) {
        EXPECT_FALSE(HasValidCrc(*entry));
        EXPECT_FALSE(IsEntryValid(*entry));
        EXPECT_TRUE(IsEntryUnset(*entry));
        EXPECT_FALSE(IsEntryInvalid(*entry));  // the state is still VALID and seq not erased
      } else if (offset < 24) {
        EXPECT_TRUE(IsEntryValid(*entry));
        EXPECT_EQ(entry->seq, 1u);
      } else if (offset < 28) {
        EXPECT_TRUE(HasValidCrc(*entry));
        const bool rejected =
            entry->state == OtaState::kInvalid || entry->state == OtaState::kAborted;
        EXPECT_EQ(IsEntryInvalid(*entry), rejected);
        EXPECT_EQ(IsEntryValid(*entry), !rejected);
      } else {
        EXPECT_FALSE(HasValidCrc(*entry));
        EXPECT_FALSE(IsEntryValid(*entry));
      }
    }
  }
  EXPECT_EQ(checked, 32 * 255);
}

TEST(IsEntryInvalid, StatesAndErasedSeq_AsBootloaderCommon) {
  struct Case {
    uint32_t seq;
    uint32_t state;
    bool invalid;
  };
  constexpr Case kCases[] = {
      {1, 0, false},         {1, 1, false},          {1, 2, false}, {1, 3, true},
      {1, 4, true},          {1, 0xFFFFFFFF, false}, {1, 5, false}, {1, 0x80000000, false},
      {0xFFFFFFFF, 2, true}, {0xFFFFFFFE, 2, false}, {0, 2, false},
  };
  for (const Case& c : kCases) {
    OtaSelectEntry entry = MakeOtaSelectEntry(c.seq, static_cast<OtaState>(c.state));
    EXPECT_EQ(IsEntryInvalid(entry), c.invalid) << c.seq << " " << c.state;
    // With the right crc, valid is exactly not invalid.
    EXPECT_EQ(IsEntryValid(entry), !c.invalid) << c.seq << " " << c.state;
    entry.crc ^= 1;
    EXPECT_FALSE(IsEntryValid(entry));
    EXPECT_EQ(IsEntryInvalid(entry), c.invalid);  // no CRC look
  }
}

TEST(IsEntryUnset, ErasedSeqOrBadCrc) {
  EXPECT_TRUE(IsEntryUnset(MakeOtaSelectEntry(0xFFFFFFFF, OtaState::kValid)));
  EXPECT_FALSE(IsEntryUnset(MakeOtaSelectEntry(1, OtaState::kInvalid)));
  EXPECT_FALSE(IsEntryUnset(MakeOtaSelectEntry(0, OtaState::kUndefined)));
  OtaSelectEntry bad = MakeOtaSelectEntry(2, OtaState::kValid);
  bad.crc = 0;
  EXPECT_TRUE(IsEntryUnset(bad));
}

TEST(SelectEntry, Table_Uint32CompareTieToSectorZero) {
  struct Case {
    uint32_t seq0;
    uint32_t seq1;
    bool flag0;
    bool flag1;
    bool want_max;
    int expected;
  };
  constexpr Case kCases[] = {
      {1, 2, true, true, true, 1},
      {2, 1, true, true, true, 0},
      {1, 1, true, true, true, 0},  // tie → sector 0
      {1, 1, true, true, false, 0},
      {1, 2, true, true, false, 0},
      {2, 1, true, true, false, 1},
      {0x7FFFFFFF, 0x80000000, true, true, true, 1},  // unsigned: 0x80000000 is larger
      {0xFFFFFFFE, 0xFFFFFFFD, true, true, true, 0},
      {0, 0xFFFFFFFE, true, true, true, 1},
      {5, 9, true, false, true, 0},  // one flag: that sector, whatever the seqs
      {9, 5, false, true, true, 1},
      {9, 5, false, true, false, 1},
      {1, 2, false, false, true, kNoEntry},
      {1, 2, false, false, false, kNoEntry},
  };
  for (const Case& c : kCases) {
    Otadata otadata;
    otadata.entries[0].seq = c.seq0;
    otadata.entries[1].seq = c.seq1;
    EXPECT_EQ(SelectEntry(otadata, {c.flag0, c.flag1}, c.want_max), c.expected)
        << c.seq0 << " " << c.seq1 << " " << c.flag0 << c.flag1 << " max " << c.want_max;
  }
}

TEST(ActiveEntry, Vectors_PickTheValidMaxSeq) {
  struct Case {
    const char* file;
    int active;
  };
  constexpr Case kCases[] = {
      {"blank.bin", kNoEntry},       {"s0_seq1_valid.bin", 0},
      {"s1_seq2_valid.bin", 1},      {"bad_crc_sector1.bin", 0},
      {"slot1_aborted_seq2.bin", 0}, {"both_invalid.bin", kNoEntry},
      {"tie_equal_seq.bin", 0},      {"seq_unsigned_compare.bin", 1},
      {"seq_near_max.bin", 0},       {"seq_near_max.set_boot_ota_0.norollback.bin", 0},
      {"seq_zero_crc_ff.bin", 0},    {"slot1_pending_seq2.bin", 1},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(ActiveEntry(ParseVector(c.file)), c.active) << c.file;
  }
}

TEST(SlotOfSeq, Uint32Arithmetic) {
  EXPECT_EQ(SlotOfSeq(1, 2), 0u);
  EXPECT_EQ(SlotOfSeq(2, 2), 1u);
  EXPECT_EQ(SlotOfSeq(3, 2), 0u);
  EXPECT_EQ(SlotOfSeq(0, 2), 1u);  // (0 - 1) wraps to 0xFFFFFFFF
  EXPECT_EQ(SlotOfSeq(0, 3), 0u);  // 0xFFFFFFFF mod 3 == 0
  EXPECT_EQ(SlotOfSeq(0x80000000, 2), 1u);
  EXPECT_EQ(SlotOfSeq(0xFFFFFFFE, 2), 1u);
  EXPECT_EQ(SlotOfSeq(16, 16), 15u);
  EXPECT_EQ(SlotOfSeq(17, 16), 0u);
  EXPECT_EQ(SlotOfSeq(7, 3), 0u);
}

TEST(StateName, KnownAndUnknown) {
  EXPECT_EQ(StateName(OtaState::kNew).view(), "new");
  EXPECT_EQ(StateName(OtaState::kPendingVerify).view(), "pending_verify");
  EXPECT_EQ(StateName(OtaState::kValid).view(), "valid");
  EXPECT_EQ(StateName(OtaState::kInvalid).view(), "invalid");
  EXPECT_EQ(StateName(OtaState::kAborted).view(), "aborted");
  EXPECT_EQ(StateName(OtaState::kUndefined).view(), "undefined");
  EXPECT_EQ(StateName(static_cast<OtaState>(5)).view(), "unknown(5)");
  EXPECT_EQ(StateName(static_cast<OtaState>(0xFFFFFFFE)).view(), "unknown(4294967294)");
  EXPECT_EQ(StateName(static_cast<OtaState>(10)).view(), "unknown(10)");
}

TEST(MakeOtaSelectEntry, ErasedLabelAndSeqCrc) {
  const OtaSelectEntry entry = MakeOtaSelectEntry(3, OtaState::kValid);
  EXPECT_EQ(entry.seq, 3u);
  EXPECT_EQ(entry.state, OtaState::kValid);
  EXPECT_EQ(entry.crc, 0xED4A5011u);
  EXPECT_EQ(entry.label, kErasedSeqLabel);
}

}  // namespace
}  // namespace aloft::core
