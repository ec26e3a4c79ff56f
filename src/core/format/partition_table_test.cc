#include "core/format/partition_table.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "ports/host/openssl_crypto.h"
#include "support/allocation_counter.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

using testing::AllocationGuard;
using testing::ReadBinary;
using testing::VectorFiles;
using testing::VectorPath;

// The accepted vectors (NAME.csv + NAME.bin + NAME.roundtrip.csv), tests/vectors/partition-table.
const std::vector<std::string> kAcceptedVectors = {
    "data_subtypes_numeric", "explicit_offsets",       "flags_encrypted_readonly",
    "idf_factory_two_ota",   "idf_singleapp",          "ota16_slots",
    "size_suffixes_mixed",   "tutorial_blank_offsets",
};

Partition Make(std::string_view name, uint8_t type, uint8_t subtype, uint32_t offset, uint32_t size,
               uint32_t flags = 0) {
  Partition p;
  p.set_name(name);
  p.type = type;
  p.subtype = subtype;
  p.offset = offset;
  p.size = size;
  p.flags = flags;
  return p;
}

PartitionTable MakeTable(std::initializer_list<Partition> rows) {
  PartitionTable table;
  for (const Partition& p : rows) {
    EXPECT_TRUE(table.Add(p).ok());
  }
  return table;
}

// The tutorial's table (tests/vectors/partition-table/tutorial_blank_offsets.roundtrip.csv).
PartitionTable Tutorial() {
  return MakeTable({
      Make("nvs", kPartitionTypeData, kDataSubtypeNvs, 0x9000, 0x4000),
      Make("otadata", kPartitionTypeData, kDataSubtypeOta, 0xD000, 0x2000),
      Make("phy_init", kPartitionTypeData, kDataSubtypePhy, 0xF000, 0x1000),
      Make("app0", kPartitionTypeApp, 0x10, 0x10000, 0x180000),
      Make("app1", kPartitionTypeApp, 0x11, 0x190000, 0x180000),
  });
}

std::vector<std::byte> Serialize(const PartitionTable& table) {
  host::OpensslCrypto crypto;
  std::vector<std::byte> out(kPartitionTableBinarySize);
  EXPECT_TRUE(SerializePartitionTableBinary(table, crypto, out).ok());
  return out;
}

Result<PartitionTable> Parse(const std::vector<std::byte>& bytes,
                             PartitionDiagnostic* diagnostic = nullptr) {
  host::OpensslCrypto crypto;
  return ParsePartitionTableBinary(bytes, crypto, diagnostic);
}

void ExpectSameEntries(const PartitionTable& a, const PartitionTable& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].name(), b[i].name()) << i;
    EXPECT_EQ(a[i].type, b[i].type) << i;
    EXPECT_EQ(a[i].subtype, b[i].subtype) << i;
    EXPECT_EQ(a[i].offset, b[i].offset) << i;
    EXPECT_EQ(a[i].size, b[i].size) << i;
    EXPECT_EQ(a[i].flags, b[i].flags) << i;
  }
}

// "code: reason @context", so statuses compare by content (reason literals from different
// translation units need not share an address).
std::string Text(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + ": " + status.reason();
  if (status.has_context()) {
    text += " @" + std::to_string(status.context());
  }
  return text;
}

std::string Hex(const std::vector<std::byte>& bytes, size_t offset, size_t size) {
  std::string text;
  for (size_t i = offset; i < offset + size; ++i) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", static_cast<unsigned>(bytes[i]));
    text += pair;
  }
  return text;
}

// ---- Keywords and constants ----

TEST(PartitionKeywords, TypeKeywords_AreInTheToolsOrder) {
  std::vector<std::string> names;
  for (const PartitionKeyword& k : PartitionTypeKeywords()) {
    names.emplace_back(k.name);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"bootloader", "partition_table", "app", "data"}));
}

TEST(PartitionKeywords, AppSubtypes_ListFactoryTestOtaThenTee) {
  std::span<const PartitionKeyword> app = PartitionSubtypeKeywords(kPartitionTypeApp);
  ASSERT_EQ(app.size(), 20u);
  EXPECT_EQ(app[0].name, "factory");
  EXPECT_EQ(app[1].name, "test");
  EXPECT_EQ(app[1].value, 0x20u);
  for (uint32_t k = 0; k < 16; ++k) {
    EXPECT_EQ(app[2 + k].name, "ota_" + std::to_string(k));
    EXPECT_EQ(app[2 + k].value, 0x10 + k);
  }
  EXPECT_EQ(app[18].name, "tee_0");
  EXPECT_EQ(app[18].value, 0x30u);
  EXPECT_EQ(app[19].name, "tee_1");
}

TEST(PartitionKeywords, DataSubtypes_MatchSpecTable) {
  struct Case {
    const char* name;
    uint8_t value;
  };
  constexpr Case kCases[] = {{"ota", 0x00},       {"phy", 0x01},      {"nvs", 0x02},
                             {"coredump", 0x03},  {"nvs_keys", 0x04}, {"efuse", 0x05},
                             {"undefined", 0x06}, {"esphttpd", 0x80}, {"fat", 0x81},
                             {"spiffs", 0x82},    {"littlefs", 0x83}, {"tee_ota", 0x90}};
  std::span<const PartitionKeyword> data = PartitionSubtypeKeywords(kPartitionTypeData);
  ASSERT_EQ(data.size(), std::size(kCases));
  for (size_t i = 0; i < data.size(); ++i) {
    EXPECT_EQ(data[i].name, kCases[i].name);
    EXPECT_EQ(data[i].value, kCases[i].value);
  }
}

TEST(PartitionKeywords, BootloaderAndTableSubtypes_AreKnown) {
  EXPECT_EQ(PartitionSubtypeKeyword(kPartitionTypeBootloader, 2), "recovery");
  EXPECT_EQ(PartitionSubtypeKeyword(kPartitionTypePartitionTable, 1), "ota");
  EXPECT_EQ(PartitionSubtypeKeyword(kPartitionTypePartitionTable, 2), std::nullopt);
  EXPECT_TRUE(PartitionSubtypeKeywords(0x40).empty());
}

TEST(PartitionKeywords, Names_FallBackToDecimal) {
  EXPECT_EQ(PartitionTypeName(0).view(), "app");
  EXPECT_EQ(PartitionTypeName(3).view(), "partition_table");
  EXPECT_EQ(PartitionTypeName(64).view(), "64");
  EXPECT_EQ(PartitionTypeName(255).view(), "255");
  EXPECT_EQ(PartitionSubtypeName(0, 0x1F).view(), "ota_15");
  EXPECT_EQ(PartitionSubtypeName(1, 0x99).view(), "153");
  EXPECT_EQ(PartitionSubtypeName(0x40, 1).view(), "1");
  EXPECT_EQ(PartitionSubtypeName(0, 0x21).view(), "33");
  EXPECT_EQ(PartitionSubtypeName(1, 0).view(), "ota");
}

TEST(PartitionAlignment, OffsetAndSize_FollowTypeAndSecureMode) {
  EXPECT_EQ(PartitionOffsetAlignment(kPartitionTypeApp), 0x10000u);
  EXPECT_EQ(PartitionOffsetAlignment(kPartitionTypeData), 0x1000u);
  EXPECT_EQ(PartitionOffsetAlignment(kPartitionTypeBootloader), 0x1000u);
  EXPECT_EQ(PartitionOffsetAlignment(0x40), 0x1000u);
  EXPECT_EQ(PartitionSizeAlignment(kPartitionTypeApp, SecureBootMode::kNone), 0x1000u);
  EXPECT_EQ(PartitionSizeAlignment(kPartitionTypeApp, SecureBootMode::kV1), 0x10000u);
  EXPECT_EQ(PartitionSizeAlignment(kPartitionTypeApp, SecureBootMode::kV2), 0x1000u);
  EXPECT_EQ(PartitionSizeAlignment(kPartitionTypeData, SecureBootMode::kV1), 1u);
}

TEST(PartitionTable, Add_96thEntry_IsResourceExhausted) {
  PartitionTable table;
  for (size_t i = 0; i < kMaxPartitionEntries; ++i) {
    ASSERT_TRUE(table.Add(Partition{}).ok());
  }
  const Status status = table.Add(Partition{});
  EXPECT_EQ(status.code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(table.size(), 95u);
}

TEST(PartitionTable, Label_IsTheFirst16BytesOfTheName) {
  Partition p;
  p.set_name("a_name_longer_than_sixteen");
  EXPECT_EQ(p.name(), "a_name_longer_than_sixteen");
  EXPECT_EQ(p.label(), "a_name_longer_th");
}

// ---- Binary: vectors ----

TEST(PartitionBinary, AcceptedVectors_ReserializeByteForByte) {
  for (const std::string& name : kAcceptedVectors) {
    SCOPED_TRACE(name);
    const std::vector<std::byte> bytes = ReadBinary(VectorPath("partition-table/" + name + ".bin"));
    ASSERT_EQ(bytes.size(), kPartitionTableBinarySize);
    Result<PartitionTable> table = Parse(bytes);
    ASSERT_TRUE(table.ok()) << table.status().reason();
    EXPECT_EQ(Serialize(*table), bytes);
    for (const Partition& p : table->entries()) {
      EXPECT_EQ(p.line, 0u);
      EXPECT_EQ(p.dropped_flags, 0u);
    }
  }
}

TEST(PartitionBinary, Tutorial_ParsesToKnownEntries) {
  Result<PartitionTable> table =
      Parse(ReadBinary(VectorPath("partition-table/tutorial_blank_offsets.bin")));
  ASSERT_TRUE(table.ok());
  ExpectSameEntries(*table, Tutorial());
}

TEST(PartitionBinary, SerializeTutorial_EqualsVector) {
  EXPECT_EQ(Serialize(Tutorial()),
            ReadBinary(VectorPath("partition-table/tutorial_blank_offsets.bin")));
}

TEST(PartitionBinary, BadMd5Vector_IsDataLossAtTheMd5Row) {
  PartitionDiagnostic diagnostic;
  Result<PartitionTable> table =
      Parse(ReadBinary(VectorPath("partition-table/bin_bad_md5.bin")), &diagnostic);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(Text(table.status()), Text(DataLoss("partition table: md5 mismatch", 5)));
  EXPECT_EQ(diagnostic.rule, PartitionRule::kBinaryMd5Mismatch);
  EXPECT_EQ(diagnostic.index, 5u);
  // bin_bad_md5.error.txt: "computed: 0xb0ecdc2f5ad6b35f066fb60bf4b54c84".
  EXPECT_EQ(diagnostic.text(), "b0ecdc2f5ad6b35f066fb60bf4b54c84");
}

TEST(PartitionBinary, NoEndMarkerVector_IsDataLossAfterTheLastRow) {
  const std::vector<std::byte> bytes =
      ReadBinary(VectorPath("partition-table/bin_no_end_marker.bin"));
  ASSERT_EQ(bytes.size(), 192u);
  PartitionDiagnostic diagnostic;
  Result<PartitionTable> table = Parse(bytes, &diagnostic);
  EXPECT_EQ(Text(table.status()),
            Text(DataLoss("partition table: missing end-of-table marker", 6)));
  EXPECT_EQ(diagnostic.rule, PartitionRule::kBinaryNoEndMarker);
}

TEST(PartitionBinary, NoMd5RowVector_IsAcceptedAsTheTutorial) {
  Result<PartitionTable> table =
      Parse(ReadBinary(VectorPath("partition-table/bin_no_md5_row.bin")));
  ASSERT_TRUE(table.ok());
  ExpectSameEntries(*table, Tutorial());
}

TEST(PartitionBinary, WholeFlashSector_ReadsLikeTheTable) {
  std::vector<std::byte> sector = ReadBinary(VectorPath("partition-table/ota16_slots.bin"));
  sector.resize(0x1000, std::byte{0xFF});
  Result<PartitionTable> table = Parse(sector);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->size(), 19u);
  EXPECT_EQ(Serialize(*table), ReadBinary(VectorPath("partition-table/ota16_slots.bin")));
}

// ---- Binary: reader edge cases (spec §1.7) ----

TEST(PartitionBinary, Empty_IsMissingEndMarker) {
  EXPECT_EQ(Text(Parse({}).status()),
            Text(DataLoss("partition table: missing end-of-table marker", 0)));
}

TEST(PartitionBinary, AllErased_IsAnEmptyTable) {
  Result<PartitionTable> table = Parse(std::vector<std::byte>(0xC00, std::byte{0xFF}));
  ASSERT_TRUE(table.ok());
  EXPECT_TRUE(table->empty());
}

TEST(PartitionBinary, ShortTailBeforeEndMarker_IsLengthError) {
  std::vector<std::byte> bytes = Serialize(Tutorial());
  bytes.resize(5 * 32 + 7);
  PartitionDiagnostic diagnostic;
  EXPECT_EQ(Text(Parse(bytes, &diagnostic).status()),
            Text(DataLoss("partition table: length is not a multiple of 32 bytes", 5)));
  EXPECT_EQ(diagnostic.rule, PartitionRule::kBinaryLength);
}

TEST(PartitionBinary, ShortTailAfterEndMarker_IsIgnoredAsTheToolDoes) {
  std::vector<std::byte> bytes = Serialize(Tutorial());
  bytes.resize(7 * 32 + 5);  // 5 entries, MD5 row, end marker, 5 stray bytes
  EXPECT_TRUE(Parse(bytes).ok());
}

TEST(PartitionBinary, InvalidMagic_NamesTheRowAndMagic) {
  std::vector<std::byte> bytes = Serialize(Tutorial());
  bytes[2 * 32] = std::byte{0x12};
  bytes[2 * 32 + 1] = std::byte{0x34};
  PartitionDiagnostic diagnostic;
  EXPECT_EQ(Text(Parse(bytes, &diagnostic).status()),
            Text(DataLoss("partition table: invalid magic bytes", 2)));
  EXPECT_EQ(diagnostic.rule, PartitionRule::kBinaryBadMagic);
  EXPECT_EQ(diagnostic.value, 0x3412);
}

TEST(PartitionBinary, LabelNotUtf8_IsDataLoss) {
  PartitionTable table = MakeTable({Make("nvs", 1, 2, 0x9000, 0x4000)});
  std::vector<std::byte> bytes = Serialize(table);
  bytes[kPartitionLabelOffset] = std::byte{0xC3};  // a lead byte followed by 'v'
  PartitionDiagnostic diagnostic;
  EXPECT_EQ(Text(Parse(bytes, &diagnostic).status()),
            Text(DataLoss("partition table: label is not valid UTF-8", 0)));
  EXPECT_EQ(diagnostic.rule, PartitionRule::kBinaryLabelNotUtf8);
}

TEST(PartitionBinary, LabelWithNul_IsCutThere) {
  PartitionTable table = MakeTable({Make(std::string_view("x\0yz", 4), 1, 2, 0x9000, 0x4000)});
  Result<PartitionTable> parsed = Parse(Serialize(table));
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)[0].name(), "x");
}

TEST(PartitionBinary, SixteenByteLabel_HasNoTerminator) {
  PartitionTable table = MakeTable({Make("exactly16bytes!!", 1, 2, 0x9000, 0x4000)});
  const std::vector<std::byte> bytes = Serialize(table);
  EXPECT_EQ(bytes[kPartitionLabelOffset + 15], std::byte{'!'});
  Result<PartitionTable> parsed = Parse(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ((*parsed)[0].name(), "exactly16bytes!!");
}

TEST(PartitionBinary, UnknownFlagBits_AreDroppedAndKeptForTheWarning) {
  std::vector<std::byte> bytes = Serialize(MakeTable({Make("nvs", 1, 2, 0x9000, 0x4000)}));
  StoreLe32(bytes, kPartitionFlagsOffset, 0x80000006);
  // Without an MD5 row the changed flags are accepted (the tool would warn).
  for (size_t i = 32; i < 64; ++i) {
    bytes[i] = std::byte{0xFF};
  }
  Result<PartitionTable> table = Parse(bytes);
  ASSERT_TRUE(table.ok());
  EXPECT_EQ((*table)[0].flags, kPartitionFlagReadonly);
  EXPECT_EQ((*table)[0].dropped_flags, 0x80000004u);
  const std::vector<std::byte> again = Serialize(*table);
  EXPECT_EQ(LoadLe32(again, kPartitionFlagsOffset), kPartitionFlagReadonly);
}

TEST(PartitionBinary, EntriesAfterMatchingMd5Row_AreReadAndCoveredByTheNextMd5) {
  // gen_esp32part.py keeps reading after a matching MD5 row; a second MD5 row must cover
  // every entry row before it.
  PartitionTable first = MakeTable({Make("nvs", 1, 2, 0x9000, 0x4000)});
  PartitionTable both =
      MakeTable({Make("nvs", 1, 2, 0x9000, 0x4000), Make("phy", 1, 1, 0xD000, 0x1000)});
  const std::vector<std::byte> one = Serialize(first);
  const std::vector<std::byte> two = Serialize(both);
  std::vector<std::byte> bytes(one.begin(), one.begin() + 64);    // nvs, MD5(nvs)
  bytes.insert(bytes.end(), two.begin() + 32, two.begin() + 96);  // phy, MD5(nvs, phy)
  bytes.insert(bytes.end(), 32, std::byte{0xFF});
  Result<PartitionTable> table = Parse(bytes);
  ASSERT_TRUE(table.ok()) << table.status().reason();
  ExpectSameEntries(*table, both);

  bytes[3 * 32 + 20] ^= std::byte{1};
  EXPECT_EQ(Text(Parse(bytes).status()), Text(DataLoss("partition table: md5 mismatch", 3)));
}

TEST(PartitionBinary, Md5RowMiddleBytes_AreNotChecked) {
  std::vector<std::byte> bytes = Serialize(Tutorial());
  bytes[5 * 32 + 2] = std::byte{0x00};  // EB EB 00 FF ...: only the magic is compared
  EXPECT_TRUE(Parse(bytes).ok());
}

TEST(PartitionBinary, MoreThan95EntriesInASector_IsResourceExhausted) {
  std::vector<std::byte> bytes(0x1000, std::byte{0xFF});
  for (uint32_t i = 0; i < 96; ++i) {
    PartitionTable one = MakeTable({Make("p", 1, 0x81, 0x10000 + i * 0x1000, 0x1000)});
    const std::vector<std::byte> row = Serialize(one);
    std::copy(row.begin(), row.begin() + 32, bytes.begin() + i * 32);
  }
  PartitionDiagnostic diagnostic;
  EXPECT_EQ(Text(Parse(bytes, &diagnostic).status()),
            Text(ResourceExhausted("partition table: more than 95 entries", 95)));
  EXPECT_EQ(diagnostic.rule, PartitionRule::kTooManyEntries);
}

// ---- Binary: serializer (§1.1, E) ----

TEST(PartitionBinary, SerializeEmptyTable_IsMd5OfNothingThenErased) {
  const std::vector<std::byte> bytes = Serialize(PartitionTable{});
  EXPECT_EQ(Hex(bytes, 0, 16), "ebebffffffffffffffffffffffffffff");
  EXPECT_EQ(Hex(bytes, 16, 16), "d41d8cd98f00b204e9800998ecf8427e");
  for (size_t i = 32; i < bytes.size(); ++i) {
    ASSERT_EQ(bytes[i], std::byte{0xFF}) << i;
  }
}

TEST(PartitionBinary, Serialize94Entries_FitsWithMd5AndEndMarker) {
  PartitionTable table;
  for (uint32_t i = 0; i < kMaxPartitionEntriesWithMd5; ++i) {
    ASSERT_TRUE(
        table.Add(Make("p" + std::to_string(i), 1, 0x81, 0x10000 + i * 0x1000, 0x1000)).ok());
  }
  const std::vector<std::byte> bytes = Serialize(table);
  EXPECT_EQ(LoadLe16(bytes, 94 * 32), kPartitionMd5Magic);
  for (size_t i = 95 * 32; i < bytes.size(); ++i) {
    ASSERT_EQ(bytes[i], std::byte{0xFF});
  }
  Result<PartitionTable> parsed = Parse(bytes);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->size(), 94u);
}

TEST(PartitionBinary, Serialize95Entries_IsRuleE) {
  PartitionTable table;
  for (uint32_t i = 0; i < kMaxPartitionEntries; ++i) {
    ASSERT_TRUE(table.Add(Make("p", 1, 0x81, 0x10000 + i * 0x1000, 0x1000)).ok());
  }
  host::OpensslCrypto crypto;
  std::vector<std::byte> out(kPartitionTableBinarySize);
  EXPECT_EQ(Text(SerializePartitionTableBinary(table, crypto, out)),
            Text(ResourceExhausted("partition table: binary length reaches 0xC00 bytes", 95)));
}

TEST(PartitionBinary, SerializeIntoSmallBuffer_IsOutOfRange) {
  host::OpensslCrypto crypto;
  std::vector<std::byte> out(0xBFF);
  EXPECT_EQ(SerializePartitionTableBinary(Tutorial(), crypto, out).code(),
            Status::Code::kOutOfRange);
}

TEST(PartitionBinary, SerializeLongName_TruncatesTheLabelSilently) {
  const std::vector<std::byte> bytes =
      Serialize(MakeTable({Make("seventeen_chars_x", 1, 2, 0x9000, 0x4000)}));
  EXPECT_EQ(LoadFixedText(bytes, kPartitionLabelOffset, kPartitionLabelSize), "seventeen_chars_");
}

TEST(PartitionBinary, ParseAndSerialize_DoNotAllocate) {
  const std::vector<std::byte> bytes =
      ReadBinary(VectorPath("partition-table/flags_encrypted_readonly.bin"));
  host::OpensslCrypto crypto;
  std::array<std::byte, kPartitionTableBinarySize> out{};
  AllocationGuard guard;
  Result<PartitionTable> table = ParsePartitionTableBinary(bytes, crypto);
  ASSERT_TRUE(table.ok());
  EXPECT_TRUE(SerializePartitionTableBinary(*table, crypto, out).ok());
  EXPECT_TRUE(ValidatePartitionTable(*table, {}).ok());
}

// ---- Robustness ----

TEST(PartitionBinary, EveryTruncationOfEveryVector_IsACleanVerdict) {
  for (const auto& path : VectorFiles("partition-table", ".bin")) {
    SCOPED_TRACE(path.filename().string());
    const std::vector<std::byte> full = ReadBinary(path);
    Result<PartitionTable> whole = Parse(full);
    for (size_t length = 0; length <= full.size(); ++length) {
      const std::vector<std::byte> cut(full.begin(), full.begin() + length);
      Result<PartitionTable> table = Parse(cut);
      if (table.ok()) {
        // Accepted only once the end marker is inside: then it is the whole table.
        ASSERT_TRUE(whole.ok()) << length;
        ExpectSameEntries(*table, *whole);
        continue;
      }
      EXPECT_EQ(table.status().code(), Status::Code::kDataLoss)
          << length << " " << table.status().reason();
    }
  }
}

TEST(PartitionBinary, TruncationsOfTutorial_GiveTheExpectedError) {
  const std::vector<std::byte> full = Serialize(Tutorial());
  for (size_t length = 0; length <= full.size(); ++length) {
    const std::vector<std::byte> cut(full.begin(), full.begin() + length);
    const Status status = Parse(cut).status();
    if (length >= 7 * 32) {
      EXPECT_TRUE(status.ok()) << length;  // entries, MD5 row and end marker are all present
    } else if (length % 32 != 0) {
      EXPECT_EQ(Text(status), Text(DataLoss("partition table: length is not a multiple of 32 bytes",
                                            static_cast<uint32_t>(length / 32))))
          << length;
    } else {
      EXPECT_EQ(Text(status), Text(DataLoss("partition table: missing end-of-table marker",
                                            static_cast<uint32_t>(length / 32))))
          << length;
    }
  }
}

TEST(PartitionBinary, EverySingleByteCorruption_IsDetectedOrHarmless) {
  // Tutorial: rows 0-4 entries, row 5 MD5, row 6 the end marker, then padding.
  const std::vector<std::byte> good = Serialize(Tutorial());
  for (size_t at = 0; at < good.size(); ++at) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::vector<std::byte> bad = good;
      bad[at] ^= std::byte{mask};
      Result<PartitionTable> table = Parse(bad);
      const size_t row = at / 32;
      const size_t column = at % 32;
      if (row < 5 || (row == 5 && (column < 2 || column >= 16)) || row == 6) {
        // An entry (its MD5 no longer matches, or its magic breaks), the MD5 row's magic or
        // digest, or the end marker (now an entry with a bad magic).
        ASSERT_FALSE(table.ok()) << at << " ^ " << int{mask};
        EXPECT_EQ(table.status().code(), Status::Code::kDataLoss) << at;
      } else {
        // The MD5 row's unchecked middle bytes, or padding after the end marker.
        ASSERT_TRUE(table.ok()) << at << " ^ " << int{mask};
        ExpectSameEntries(*table, Tutorial());
      }
    }
  }
}

// ---- Validation (§1.6 B, C, D) ----

struct ValidationCase {
  const char* what;
  PartitionTable table;
  PartitionValidationOptions options;
  PartitionRule rule;
  uint32_t index;
};

void ExpectRule(const ValidationCase& c) {
  SCOPED_TRACE(c.what);
  PartitionDiagnostic diagnostic;
  const Status status = ValidatePartitionTable(c.table, c.options, &diagnostic);
  if (c.rule == PartitionRule::kNone) {
    EXPECT_TRUE(status.ok()) << status.reason() << " " << PartitionRuleId(diagnostic.rule);
    return;
  }
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(PartitionRuleId(diagnostic.rule), std::string(PartitionRuleId(c.rule)));
  EXPECT_EQ(diagnostic.index, c.index);
  EXPECT_EQ(status.context(), c.index);
}

PartitionValidationOptions FlashMb(uint32_t megabytes) {
  PartitionValidationOptions options;
  options.flash_size = megabytes * 1024 * 1024;
  return options;
}

PartitionValidationOptions Secure(SecureBootMode mode) {
  PartitionValidationOptions options;
  options.secure = mode;
  return options;
}

TEST(PartitionValidate, Cases) {
  const Partition nvs = Make("nvs", 1, 2, 0x9000, 0x4000);
  const Partition otadata = Make("otadata", 1, 0, 0xD000, 0x2000);
  const std::vector<ValidationCase> cases = {
      {"tutorial", Tutorial(), {}, PartitionRule::kNone, 0},
      {"B1 app at 0x118000",
       MakeTable(
           {nvs, Make("a", 0, 0x10, 0x10000, 0x100000), Make("b", 0, 0x11, 0x118000, 0x1000)}),
       {},
       PartitionRule::kOffsetMisaligned,
       2},
      {"B1 data at 0x9800",
       MakeTable({Make("d", 1, 0x81, 0x9800, 0x1000)}),
       {},
       PartitionRule::kOffsetMisaligned,
       0},
      {"B1 custom type at 0x9800",
       MakeTable({Make("c", 0x40, 0, 0x9800, 0x1000)}),
       {},
       PartitionRule::kOffsetMisaligned,
       0},
      {"B1 custom type 4K aligned",
       MakeTable({Make("c", 0x40, 0, 0xA000, 0x800)}),
       {},
       PartitionRule::kNone,
       0},
      {"B2 app size 0x1800",
       MakeTable({Make("a", 0, 0, 0x10000, 0x1800)}),
       {},
       PartitionRule::kSizeMisaligned,
       0},
      {"B2 app size 0x11000 under v1", MakeTable({Make("a", 0, 0, 0x10000, 0x11000)}),
       Secure(SecureBootMode::kV1), PartitionRule::kSizeMisaligned, 0},
      {"B2 app size 0x11000 under v2", MakeTable({Make("a", 0, 0, 0x10000, 0x11000)}),
       Secure(SecureBootMode::kV2), PartitionRule::kNone, 0},
      {"B2 data size unaligned",
       MakeTable({Make("d", 1, 0x81, 0x9000, 0x123)}),
       {},
       PartitionRule::kNone,
       0},
      {"B1 before B2 in one entry",
       MakeTable({Make("a", 0, 0, 0x18000, 0x1800)}),
       {},
       PartitionRule::kOffsetMisaligned,
       0},
      {"B5 readonly otadata",
       MakeTable({nvs, Make("otadata", 1, 0, 0xD000, 0x2000, kPartitionFlagReadonly)}),
       {},
       PartitionRule::kReadonlyNotAllowed,
       1},
      {"B5 readonly coredump",
       MakeTable({Make("cd", 1, 3, 0x9000, 0x10000, kPartitionFlagReadonly)}),
       {},
       PartitionRule::kReadonlyNotAllowed,
       0},
      {"B5 encrypted otadata is fine",
       MakeTable({Make("otadata", 1, 0, 0x9000, 0x2000, kPartitionFlagEncrypted)}),
       {},
       PartitionRule::kNone,
       0},
      {"B6 rw nvs 0x2000",
       MakeTable({Make("nvs", 1, 2, 0x9000, 0x2000)}),
       {},
       PartitionRule::kNvsTooSmall,
       0},
      {"B6 readonly nvs 0x1000",
       MakeTable({Make("nvs", 1, 2, 0x9000, 0x1000, kPartitionFlagReadonly)}),
       {},
       PartitionRule::kNone,
       0},
      {"B6 rw nvs 0x3000",
       MakeTable({Make("nvs", 1, 2, 0x9000, 0x3000)}),
       {},
       PartitionRule::kNone,
       0},
      {"B before C1",
       MakeTable({Make("x", 1, 0x81, 0x9000, 0x1000), Make("x", 1, 2, 0xA000, 0x2000)}),
       {},
       PartitionRule::kNvsTooSmall,
       1},
      {"C1 duplicate name",
       MakeTable({nvs, Make("app", 0, 0x10, 0x10000, 0x100000),
                  Make("app", 0, 0x11, 0x110000, 0x100000)}),
       {},
       PartitionRule::kDuplicateName,
       2},
      {"C2 offset in the table sector",
       MakeTable({Make("nvs", 1, 2, 0x8000, 0x4000)}),
       {},
       PartitionRule::kBelowTableEnd,
       0},
      {"C2 with --offset 0x10000", MakeTable({Make("nvs", 1, 2, 0x9000, 0x4000)}),
       PartitionValidationOptions{0x10000, std::nullopt, SecureBootMode::kNone},
       PartitionRule::kBelowTableEnd, 0},
      {"C2 primary bootloader and table rows are exempt",
       MakeTable({Make("bl", 2, 0, 0x1000, 0x7000), Make("pt", 3, 0, 0x8000, 0x1000), nvs}),
       {},
       PartitionRule::kNone,
       0},
      {"C2 a bootloader ota row is not exempt",
       MakeTable({Make("bl", 2, 1, 0x1000, 0x7000)}),
       {},
       PartitionRule::kBelowTableEnd,
       0},
      {"C3 overlap, checked by offset",
       MakeTable({Make("b", 1, 0x81, 0xA000, 0x1000), Make("a", 1, 0x81, 0x9000, 0x2000)}),
       {},
       PartitionRule::kOverlap,
       0},
      {"C2 before C3 by offset order",
       MakeTable({Make("b", 1, 0x81, 0xA000, 0x1000), Make("a", 1, 0x81, 0x9000, 0x2000),
                  Make("c", 1, 0x81, 0x7000, 0x1000)}),
       {},
       PartitionRule::kBelowTableEnd,
       2},
      {"C3 touching is fine",
       MakeTable({Make("b", 1, 0x81, 0xA000, 0x1000), Make("a", 1, 0x81, 0x9000, 0x1000)}),
       {},
       PartitionRule::kNone,
       0},
      {"C4 two otadata",
       MakeTable({otadata, Make("otadata2", 1, 0, 0xF000, 0x2000)}),
       {},
       PartitionRule::kMultipleOtadata,
       1},
      {"C5 otadata 0x1000",
       MakeTable({nvs, Make("otadata", 1, 0, 0xD000, 0x1000)}),
       {},
       PartitionRule::kOtadataWrongSize,
       1},
      {"C6 two tee otadata",
       MakeTable({Make("t1", 1, 0x90, 0x9000, 0x2000), Make("t2", 1, 0x90, 0xB000, 0x2000)}),
       {},
       PartitionRule::kMultipleTeeOtadata,
       1},
      {"C7 tee otadata 0x3000",
       MakeTable({Make("t1", 1, 0x90, 0x9000, 0x3000)}),
       {},
       PartitionRule::kTeeOtadataWrongSize,
       0},
      {"C5 before C7",
       MakeTable({Make("t1", 1, 0x90, 0x9000, 0x3000), Make("o", 1, 0, 0xC000, 0x3000)}),
       {},
       PartitionRule::kOtadataWrongSize,
       1},
      {"D end 0x410000 on 4MB",
       MakeTable(
           {nvs, Make("a", 0, 0x10, 0x10000, 0x200000), Make("b", 0, 0x11, 0x210000, 0x200000)}),
       FlashMb(4), PartitionRule::kFlashTooSmall, 2},
      {"D end exactly 4MB", MakeTable({nvs, Make("a", 0, 0x10, 0x10000, 0x3F0000)}), FlashMb(4),
       PartitionRule::kNone, 0},
      {"D without flash size",
       MakeTable({Make("a", 0, 0x10, 0x10000, 0x3F1000)}),
       {},
       PartitionRule::kNone,
       0},
      {"D takes the first of equal highest offsets",
       MakeTable({Make("a", 1, 0x81, 0x3F0000, 0), Make("b", 1, 0x81, 0x3F0000, 0x20000)}),
       FlashMb(4), PartitionRule::kNone, 0},
      {"D flagged on the highest offset",
       MakeTable({Make("a", 1, 0x81, 0x400000, 0x1000), Make("b", 1, 0x81, 0x3F0000, 0x10000)}),
       FlashMb(4), PartitionRule::kFlashTooSmall, 0},
      {"empty table with flash size", PartitionTable{}, FlashMb(1), PartitionRule::kNone, 0},
  };
  for (const ValidationCase& c : cases) {
    ExpectRule(c);
  }
}

TEST(PartitionValidate, Diagnostics_CarryTheNumbersForMessages) {
  PartitionDiagnostic d;
  PartitionTable misaligned = MakeTable({Make("a", 0, 0x10, 0x118000, 0x100000)});
  EXPECT_EQ(Text(ValidatePartitionTable(misaligned, {}, &d)),
            Text(InvalidArgument("partition: offset is not aligned", 0)));
  EXPECT_EQ(d.value, 0x118000);
  EXPECT_EQ(d.limit, 0x10000);

  PartitionTable overlap =
      MakeTable({Make("a", 1, 0x81, 0x9000, 0x3000), Make("b", 1, 0x81, 0xB000, 0x1000)});
  EXPECT_FALSE(ValidatePartitionTable(overlap, {}, &d).ok());
  EXPECT_EQ(d.rule, PartitionRule::kOverlap);
  EXPECT_EQ(d.index, 1u);
  EXPECT_EQ(d.other_index, 0u);
  EXPECT_EQ(d.limit, 0xC000);

  PartitionTable duplicate =
      MakeTable({Make("x", 1, 0x81, 0x9000, 0x1000), Make("y", 1, 0x81, 0xA000, 0x1000),
                 Make("x", 1, 0x81, 0xB000, 0x1000)});
  EXPECT_FALSE(ValidatePartitionTable(duplicate, {}, &d).ok());
  EXPECT_EQ(d.index, 2u);
  EXPECT_EQ(d.other_index, 0u);

  PartitionTable big = MakeTable({Make("a", 0, 0x10, 0x10000, 0x400000)});
  EXPECT_EQ(Text(ValidatePartitionTable(big, FlashMb(4), &d)),
            Text(OutOfRange("partition table: does not fit in the flash size", 0)));
  EXPECT_EQ(d.value, 0x410000);
  EXPECT_EQ(d.limit, 0x400000);
}

TEST(PartitionValidate, RejectedVectorsAsBinaryTables_FireTheirRule) {
  // The rejected CSVs' B/C/D rules, on the tables the CSVs describe (offsets resolved).
  PartitionTable misaligned = MakeTable(
      {Make("nvs", 1, 2, 0x9000, 0x4000), Make("otadata", 1, 0, 0xD000, 0x2000),
       Make("ota_0", 0, 0x10, 0x10000, 0x100000), Make("ota_1", 0, 0x11, 0x118000, 0x100000)});
  ExpectRule({"err_app_misaligned", misaligned, {}, PartitionRule::kOffsetMisaligned, 3});
  PartitionTable big =
      MakeTable({Make("nvs", 1, 2, 0x9000, 0x4000), Make("otadata", 1, 0, 0xD000, 0x2000),
                 Make("phy_init", 1, 1, 0xF000, 0x1000), Make("ota_0", 0, 0x10, 0x10000, 0x200000),
                 Make("ota_1", 0, 0x11, 0x210000, 0x200000)});
  ExpectRule({"err_too_big_for_4mb", big, FlashMb(4), PartitionRule::kFlashTooSmall, 4});
}

// ---- Warnings (B3, B4, truncation, unknown flags) ----

TEST(PartitionWarnings, Cases) {
  struct Case {
    Partition partition;
    std::vector<PartitionWarningKind> expected;
  };
  using K = PartitionWarningKind;
  const std::vector<Case> cases = {
      {Make("app", 1, 2, 0x9000, 0x3000), {K::kNameIsTypeKeyword}},
      {Make("data", 1, 2, 0x9000, 0x3000), {}},
      {Make("App", 1, 2, 0x9000, 0x3000), {}},  // exact, case-sensitive
      {Make("ota", 1, 2, 0x9000, 0x3000), {K::kNameIsSubtypeKeyword}},
      {Make("ota", 1, 0, 0x9000, 0x2000), {}},
      {Make("ota", 2, 1, 0x9000, 0x1000), {}},  // bootloader/ota
      {Make("ota_0", 0, 0x10, 0x10000, 0x1000), {}},
      {Make("ota_0", 0, 0x11, 0x10000, 0x1000), {K::kNameIsSubtypeKeyword}},
      {Make("factory", 1, 0x81, 0x9000, 0x1000), {K::kNameIsSubtypeKeyword}},
      {Make("primary", 1, 2, 0x9000, 0x3000), {K::kNameIsSubtypeKeyword}},
      {Make("data", 0, 0, 0x10000, 0x1000), {K::kNameIsTypeKeyword}},
      {Make("a_name_of_17_byte", 1, 2, 0x9000, 0x3000), {K::kNameTruncated}},
      {Make("sixteen_bytes_ok", 1, 2, 0x9000, 0x3000), {}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.partition.name()));
    PartitionTable table = MakeTable({c.partition});
    std::array<PartitionWarning, 8> out{};
    const size_t count = FindPartitionWarnings(table, out);
    ASSERT_EQ(count, c.expected.size());
    for (size_t i = 0; i < count; ++i) {
      EXPECT_EQ(out[i].kind, c.expected[i]);
      EXPECT_EQ(out[i].index, 0u);
    }
  }
}

TEST(PartitionWarnings, UnknownFlagBits_AndSmallOutput_CountEverything) {
  Partition flagged = Make("app", 1, 0x81, 0x9000, 0x1000);
  flagged.dropped_flags = 0x4;
  PartitionTable table = MakeTable({Make("nvs", 1, 2, 0x8000, 0x3000), flagged});
  std::array<PartitionWarning, 1> out{};
  EXPECT_EQ(FindPartitionWarnings(table, out), 2u);
  EXPECT_EQ(out[0].index, 1u);
  EXPECT_EQ(out[0].kind, PartitionWarningKind::kNameIsTypeKeyword);
  std::array<PartitionWarning, 4> all{};
  ASSERT_EQ(FindPartitionWarnings(table, all), 2u);
  EXPECT_EQ(all[1].kind, PartitionWarningKind::kUnknownFlagBits);
}

// ---- Lookups ----

TEST(PartitionLookup, FactoryTwoOta_FindsEveryRole) {
  Result<PartitionTable> table =
      Parse(ReadBinary(VectorPath("partition-table/idf_factory_two_ota.bin")));
  ASSERT_TRUE(table.ok());
  ASSERT_NE(FindPartitionByName(*table, "phy_init"), nullptr);
  EXPECT_EQ(FindPartitionByName(*table, "phy_init")->offset, 0xF000u);
  EXPECT_EQ(FindPartitionByName(*table, "nope"), nullptr);
  ASSERT_NE(FindOtadataPartition(*table), nullptr);
  EXPECT_EQ(FindOtadataPartition(*table)->offset, 0xD000u);
  ASSERT_NE(FindFactoryApp(*table), nullptr);
  EXPECT_EQ(FindFactoryApp(*table)->offset, 0x10000u);
  EXPECT_EQ(FindTestApp(*table), nullptr);
  ASSERT_NE(FindOtaSlot(*table, 1), nullptr);
  EXPECT_EQ(FindOtaSlot(*table, 1)->offset, 0x210000u);
  EXPECT_EQ(FindOtaSlot(*table, 2), nullptr);
  EXPECT_EQ(FindOtaSlot(*table, 16), nullptr);
  EXPECT_EQ(FindPartition(*table, kPartitionTypeData, kDataSubtypeNvs)->name(), "nvs");
  EXPECT_EQ(BootloaderOtaSlotCount(*table), 2u);
  EXPECT_EQ(AppOtaSlotCount(*table), 2u);
}

TEST(PartitionLookup, Ota16_CountsSixteen) {
  Result<PartitionTable> table = Parse(ReadBinary(VectorPath("partition-table/ota16_slots.bin")));
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(BootloaderOtaSlotCount(*table), 16u);
  EXPECT_EQ(AppOtaSlotCount(*table), 16u);
  EXPECT_EQ(FindOtaSlot(*table, 15)->name(), "ota_15");
  EXPECT_EQ(OtaSlotIndex(*FindOtaSlot(*table, 15)), 15u);
  EXPECT_EQ(OtaSlotIndex(*FindOtadataPartition(*table)), std::nullopt);
}

TEST(PartitionLookup, Gap_BootloaderCountsAllRowsAppStopsAtTheGap) {
  PartitionTable table =
      MakeTable({Make("otadata", 1, 0, 0xD000, 0x2000), Make("a", 0, 0x10, 0x10000, 0x100000),
                 Make("c", 0, 0x12, 0x110000, 0x100000)});
  EXPECT_EQ(BootloaderOtaSlotCount(table), 2u);
  EXPECT_EQ(AppOtaSlotCount(table), 1u);
}

TEST(PartitionLookup, Duplicates_FirstInTableOrderWins) {
  PartitionTable table = MakeTable({Make("first", 0, 0x10, 0x10000, 0x100000),
                                    Make("second", 0, 0x10, 0x110000, 0x100000),
                                    Make("t", 0, 0x20, 0x210000, 0x10000)});
  EXPECT_EQ(FindOtaSlot(table, 0)->name(), "first");
  EXPECT_EQ(BootloaderOtaSlotCount(table), 2u);
  EXPECT_EQ(AppOtaSlotCount(table), 1u);
  EXPECT_EQ(FindTestApp(table)->name(), "t");
}

TEST(PartitionLookup, SortByOffset_IsStable) {
  PartitionTable table =
      MakeTable({Make("c", 1, 0x81, 0x30000, 0), Make("a", 1, 0x81, 0x10000, 0),
                 Make("c2", 1, 0x81, 0x30000, 0), Make("b", 1, 0x81, 0x20000, 0)});
  std::array<uint8_t, kMaxPartitionEntries> order{};
  SortPartitionsByOffset(table, order);
  EXPECT_EQ(order[0], 1);
  EXPECT_EQ(order[1], 3);
  EXPECT_EQ(order[2], 0);
  EXPECT_EQ(order[3], 2);
}

TEST(PartitionRuleIds, AreTheSpecLetters) {
  EXPECT_STREQ(PartitionRuleId(PartitionRule::kUnknownVariable), "A0");
  EXPECT_STREQ(PartitionRuleId(PartitionRule::kFlagUnknown), "A9");
  EXPECT_STREQ(PartitionRuleId(PartitionRule::kNvsTooSmall), "B6");
  EXPECT_STREQ(PartitionRuleId(PartitionRule::kTeeOtadataWrongSize), "C7");
  EXPECT_STREQ(PartitionRuleId(PartitionRule::kFlashTooSmall), "D");
  EXPECT_STREQ(PartitionRuleId(PartitionRule::kTooManyEntries), "E");
}

}  // namespace
}  // namespace aloft::core
