#include "core/format/partition_csv.h"

#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "ports/host/openssl_crypto.h"
#include "support/allocation_counter.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

using testing::AllocationGuard;
using testing::ReadBinary;
using testing::ReadText;
using testing::VectorFiles;
using testing::VectorPath;

const std::vector<std::string> kAcceptedVectors = {
    "data_subtypes_numeric", "explicit_offsets",       "flags_encrypted_readonly",
    "idf_factory_two_ota",   "idf_singleapp",          "ota16_slots",
    "size_suffixes_mixed",   "tutorial_blank_offsets",
};

class MapVariables final : public PartitionCsvVariables {
 public:
  explicit MapVariables(std::map<std::string, std::string> values) : values_(std::move(values)) {}
  std::optional<std::string_view> Lookup(std::string_view name) const override {
    auto found = values_.find(std::string(name));
    if (found == values_.end()) {
      return std::nullopt;
    }
    return std::string_view(found->second);
  }

 private:
  std::map<std::string, std::string> values_;
};

class StringSink final : public PartitionCsvSink {
 public:
  Status Write(std::string_view text) override {
    text_.append(text);
    return OkStatus();
  }
  std::string text_;
};

// A sink over a fixed buffer: no heap, so writing can run under an AllocationGuard.
class BufferSink final : public PartitionCsvSink {
 public:
  Status Write(std::string_view text) override {
    if (buffer_.size() - used_ < text.size()) {
      return ResourceExhausted("test sink: full");
    }
    std::copy(text.begin(), text.end(), buffer_.begin() + static_cast<ptrdiff_t>(used_));
    used_ += text.size();
    return OkStatus();
  }
  std::string_view text() const { return {buffer_.data(), used_}; }

 private:
  std::array<char, 4096> buffer_{};
  size_t used_ = 0;
};

Result<PartitionTable> ParseCsv(std::string_view text, const PartitionCsvOptions& options = {},
                                PartitionDiagnostic* diagnostic = nullptr) {
  return ParsePartitionCsv(text, options, diagnostic);
}

std::vector<std::byte> Serialize(const PartitionTable& table) {
  host::OpensslCrypto crypto;
  std::vector<std::byte> out(kPartitionTableBinarySize);
  EXPECT_TRUE(SerializePartitionTableBinary(table, crypto, out).ok());
  return out;
}

std::string WriteCsv(const PartitionTable& table) {
  StringSink sink;
  EXPECT_TRUE(WritePartitionCsv(table, sink).ok());
  return sink.text_;
}

std::string Text(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + ": " + status.reason();
  if (status.has_context()) {
    text += " @" + std::to_string(status.context());
  }
  return text;
}

// A failing parse: its rule, line, field and text.
struct Failure {
  PartitionRule rule;
  uint32_t line;
  PartitionField field = PartitionField::kNone;
  std::string text = {};
};

void ExpectFailure(std::string_view csv, const Failure& expected,
                   const PartitionCsvOptions& options = {}) {
  SCOPED_TRACE(std::string(csv));
  PartitionDiagnostic d;
  Result<PartitionTable> table = ParseCsv(csv, options, &d);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(PartitionRuleId(d.rule), std::string(PartitionRuleId(expected.rule)));
  EXPECT_EQ(d.line, expected.line);
  EXPECT_EQ(d.field, expected.field);
  EXPECT_EQ(d.text(), expected.text);
  if (expected.line != 0) {
    EXPECT_EQ(table.status().context(), expected.line);
  }
}

PartitionTable ParseOk(std::string_view csv, const PartitionCsvOptions& options = {}) {
  PartitionDiagnostic d;
  Result<PartitionTable> table = ParseCsv(csv, options, &d);
  EXPECT_TRUE(table.ok()) << csv << " -> " << table.status().reason() << " "
                          << PartitionRuleId(d.rule) << " line " << d.line;
  return table.ok() ? *table : PartitionTable{};
}

// ---- The vectors ----

TEST(PartitionCsv, AcceptedVectors_GiveTheToolsBinaryByteForByte) {
  for (const std::string& name : kAcceptedVectors) {
    SCOPED_TRACE(name);
    const PartitionTable table = ParseOk(ReadText(VectorPath("partition-table/" + name + ".csv")));
    EXPECT_EQ(Serialize(table), ReadBinary(VectorPath("partition-table/" + name + ".bin")));
    PartitionValidationOptions options;
    options.flash_size = 4 * 1024 * 1024;
    EXPECT_TRUE(ValidatePartitionTable(table, options).ok());
  }
}

TEST(PartitionCsv, AcceptedVectors_BinaryToCsvEqualsTheRoundtripText) {
  host::OpensslCrypto crypto;
  for (const std::string& name : kAcceptedVectors) {
    SCOPED_TRACE(name);
    Result<PartitionTable> table = ParsePartitionTableBinary(
        ReadBinary(VectorPath("partition-table/" + name + ".bin")), crypto);
    ASSERT_TRUE(table.ok());
    EXPECT_EQ(WriteCsv(*table), ReadText(VectorPath("partition-table/" + name + ".roundtrip.csv")));
  }
}

TEST(PartitionCsv, RoundtripCsvs_GiveTheSameBinaryAgain) {
  for (const auto& path : VectorFiles("partition-table", ".roundtrip.csv")) {
    SCOPED_TRACE(path.filename().string());
    std::string stem = path.filename().string();
    stem.resize(stem.size() - std::string(".roundtrip.csv").size());
    const std::string bin = stem == "bin_no_md5_row" ? "tutorial_blank_offsets" : stem;
    EXPECT_EQ(Serialize(ParseOk(ReadText(path))),
              ReadBinary(VectorPath("partition-table/" + bin + ".bin")));
  }
}

TEST(PartitionCsv, TutorialBlankOffsets_AreAssignedAsTheTutorialSays) {
  const PartitionTable table =
      ParseOk(ReadText(VectorPath("partition-table/tutorial_blank_offsets.csv")));
  struct Row {
    const char* name;
    uint32_t offset;
    uint32_t size;
    uint32_t line;
  };
  constexpr Row kRows[] = {{"nvs", 0x9000, 0x4000, 2},
                           {"otadata", 0xD000, 0x2000, 3},
                           {"phy_init", 0xF000, 0x1000, 4},
                           {"app0", 0x10000, 0x180000, 5},
                           {"app1", 0x190000, 0x180000, 6}};
  ASSERT_EQ(table.size(), std::size(kRows));
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ(table[i].name(), kRows[i].name);
    EXPECT_EQ(table[i].offset, kRows[i].offset) << kRows[i].name;
    EXPECT_EQ(table[i].size, kRows[i].size) << kRows[i].name;
    EXPECT_EQ(table[i].line, kRows[i].line) << kRows[i].name;
  }
}

TEST(PartitionCsv, RejectedVectors_FireTheirRuleOnTheToolsLine) {
  struct Case {
    const char* name;
    PartitionRule rule;
    uint32_t line;  // CSV rules: the diagnostic line; table rules: the offending entry's line
    PartitionField field;
    const char* text;
  };
  const Case kCases[] = {
      {"err_overlap_explicit", PartitionRule::kOverlapInFileOrder, 2, PartitionField::kOffset, ""},
      {"err_offset_in_table_sector", PartitionRule::kOffsetInTableSector, 1,
       PartitionField::kOffset, ""},
      {"err_bad_subtype", PartitionRule::kSubtypeInvalid, 4, PartitionField::kSubtype, "ota_16"},
      {"err_unknown_flag", PartitionRule::kFlagUnknown, 3, PartitionField::kFlags, "signed"},
      {"err_empty_size", PartitionRule::kSizeEmpty, 2, PartitionField::kSize, ""},
      {"err_bad_number", PartitionRule::kNumberInvalid, 3, PartitionField::kSize, "1.5"},
      {"err_app_misaligned", PartitionRule::kOffsetMisaligned, 4, PartitionField::kNone, ""},
      {"err_duplicate_name", PartitionRule::kDuplicateName, 4, PartitionField::kNone, ""},
      {"err_too_big_for_4mb", PartitionRule::kFlashTooSmall, 5, PartitionField::kNone, ""},
      {"err_otadata_size", PartitionRule::kOtadataWrongSize, 2, PartitionField::kNone, ""},
      {"err_readonly_otadata", PartitionRule::kReadonlyNotAllowed, 2, PartitionField::kNone, ""},
      {"err_small_rw_nvs", PartitionRule::kNvsTooSmall, 1, PartitionField::kNone, ""},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.name);
    const std::string csv = ReadText(VectorPath(std::string("partition-table/") + c.name + ".csv"));
    const std::string tool =
        ReadText(VectorPath(std::string("partition-table/") + c.name + ".error.txt"));
    PartitionDiagnostic d;
    Result<PartitionTable> table = ParseCsv(csv, {}, &d);
    if (table.ok()) {
      PartitionValidationOptions options;
      options.flash_size = 4 * 1024 * 1024;  // as the vectors were made
      const Status status = ValidatePartitionTable(*table, options, &d);
      ASSERT_FALSE(status.ok());
      EXPECT_EQ(status.code(), c.rule == PartitionRule::kFlashTooSmall
                                   ? Status::Code::kOutOfRange
                                   : Status::Code::kInvalidArgument);
      EXPECT_EQ((*table)[d.index].line, c.line);
    } else {
      EXPECT_EQ(d.line, c.line);
      EXPECT_EQ(d.field, c.field);
      EXPECT_EQ(d.text(), c.text);
      // The tool's own message names the same line.
      const size_t at = tool.find("at line ");
      ASSERT_NE(at, std::string::npos);
      EXPECT_EQ(std::stoul(tool.substr(at + 8)), c.line);
    }
    EXPECT_EQ(PartitionRuleId(d.rule), std::string(PartitionRuleId(c.rule)));
  }
}

TEST(PartitionCsv, OverlapVectors_CarryTheToolsNumbers) {
  PartitionDiagnostic d;
  EXPECT_FALSE(
      ParseCsv(ReadText(VectorPath("partition-table/err_overlap_explicit.csv")), {}, &d).ok());
  EXPECT_EQ(d.value, 0xE000);
  EXPECT_EQ(d.limit, 0xF000);
  EXPECT_FALSE(
      ParseCsv(ReadText(VectorPath("partition-table/err_offset_in_table_sector.csv")), {}, &d)
          .ok());
  EXPECT_EQ(d.value, 0x8000);
  EXPECT_EQ(d.limit, 0x9000);
}

// ---- Number grammar (§1.4.11) ----

TEST(PartitionCsvNumber, Accepted) {
  struct Case {
    const char* text;
    int64_t value;
  };
  const Case kCases[] = {
      {"0x1000", 0x1000},
      {"4096", 4096},
      {"4K", 4096},
      {"4k", 4096},
      {"1M", 0x100000},
      {"1m", 0x100000},
      {"1kk", 0x100000},
      {"1mk", 0x40000000},
      {"0x10_000", 0x10000},
      {"1_000", 1000},
      {"0x_10", 16},
      {"0o17", 15},
      {"0O17", 15},
      {"0b101", 5},
      {"0B1", 1},
      {"0X1F", 31},
      {"-0x1000", -4096},
      {"+16", 16},
      {"00", 0},
      {"0_0", 0},
      {"0", 0},
      {"-0", 0},
      {" 7 ", 7},
      {"7 k", 7168},
      {"0kkkkkkkkkkkkkkkk", 0},
      {"\t12\t", 12},
      {"1\xC2\xA0", 1},
      {"3\xE2\x84\xAA", 3072},
      {"9223372036854775807", std::numeric_limits<int64_t>::max()},
  };
  for (const Case& c : kCases) {
    Result<int64_t> value = ParsePartitionCsvNumber(c.text);
    ASSERT_TRUE(value.ok()) << c.text;
    EXPECT_EQ(*value, c.value) << c.text;
  }
}

TEST(PartitionCsvNumber, Rejected) {
  const char* kSyntax[] = {
      "010", "1.5", "",    "k",   "0x",   "1__0", "_1", "1_",  "0x__1", "0b2",
      "0o8", "- 1", "abc", "1e3", "0x1g", "1K2",  "0_", "--1", "0x-1",  "\xEF\xBC\x91\xEF\xBC\x92",
      "\xFF"};
  for (const char* text : kSyntax) {
    EXPECT_EQ(Text(ParsePartitionCsvNumber(text).status()), "invalid_argument: csv: not a number")
        << text;
  }
  for (const char* text : {"9223372036854775808", "1kkkkkkk", "0x1_0000_0000_0000_0000"}) {
    EXPECT_EQ(Text(ParsePartitionCsvNumber(text).status()),
              "out_of_range: csv: number beyond 64 bits")
        << text;
  }
}

// ---- Text: lines, BOMs, UTF-8, comments, fields ----

TEST(PartitionCsv, LineBreaks_AreThoseOfPythonSplitlines) {
  // Rows on lines 1-7 separated by \r, \r\n, \v, \f, \x1c, U+2028, U+0085; the error on line 8.
  const std::string csv =
      "a,data,fat,,4K\rb,data,fat,,4K\r\nc,data,fat,,4K\vd,data,fat,,4K\fe,data,fat,,4K\x1c"
      "f,data,fat,,4K\xE2\x80\xA8g,data,fat,,4K\xC2\x85h,bogus,fat,,4K";
  ExpectFailure(csv, {PartitionRule::kTypeInvalid, 8, PartitionField::kType, "bogus"});
  const PartitionTable table = ParseOk(csv.substr(0, csv.find("\xC2\x85h")));
  ASSERT_EQ(table.size(), 7u);
  EXPECT_EQ(table[6].name(), "g");
  EXPECT_EQ(table[6].line, 7u);
  EXPECT_EQ(table[6].offset, 0xF000u);
}

TEST(PartitionCsv, UnitSeparator_IsWhitespaceButNotALineBreak) {
  const PartitionTable table = ParseOk(
      "\x1f"
      "a\x1f,data,fat,,4K\x1f\n");
  ASSERT_EQ(table.size(), 1u);
  EXPECT_EQ(table[0].name(), "a");
}

TEST(PartitionCsv, Utf8Bom_IsSkipped) {
  const PartitionTable table = ParseOk("\xEF\xBB\xBFnvs,data,nvs,,0x3000\n");
  ASSERT_EQ(table.size(), 1u);
  EXPECT_EQ(table[0].name(), "nvs");
  EXPECT_EQ(table[0].line, 1u);
}

TEST(PartitionCsv, Utf16And32Boms_AreUnimplementedInCore) {
  for (std::string_view text :
       {std::string_view("\xFF\xFEn\0", 4), std::string_view("\xFE\xFF\0n", 4),
        std::string_view("\0\0\xFE\xFF\0\0\0n", 8)}) {
    PartitionDiagnostic d;
    Result<PartitionTable> table = ParseCsv(text, {}, &d);
    EXPECT_EQ(Text(table.status()),
              "unimplemented: csv: UTF-16/32 text is not supported, save as UTF-8");
    EXPECT_EQ(d.rule, PartitionRule::kTextEncodingUnsupported);
  }
}

TEST(PartitionCsv, InvalidUtf8_IsReportedOnItsLineBeforeAnythingElse) {
  ExpectFailure("x,bogus\nnvs,data,nvs,,0x3000\r\nbad\xFF,data\n",
                {PartitionRule::kTextNotUtf8, 3});
  ExpectFailure("\xC0\x80", {PartitionRule::kTextNotUtf8, 1});
  ExpectFailure("a\r\xED\xA0\x80", {PartitionRule::kTextNotUtf8, 2});  // a surrogate
}

TEST(PartitionCsv, Comments_OnlyAtTheStartOfTheTrimmedLine) {
  const PartitionTable table = ParseOk("# c\n   # also a comment\n\nnvs#,data,nvs,,0x3000\n");
  ASSERT_EQ(table.size(), 1u);
  EXPECT_EQ(table[0].name(), "nvs#");
  EXPECT_EQ(table[0].line, 4u);
  ExpectFailure("nvs,data,nvs,,0x3000 # trailing\n",
                {PartitionRule::kNumberInvalid, 1, PartitionField::kSize, "0x3000 # trailing"});
}

TEST(PartitionCsv, Fields_TrimmedMissingEmptyExtraIgnored) {
  const PartitionTable table = ParseOk(
      "\tnvs\t,\tdata\t, nvs ,\t, 0x3000 ,, extra, more\n"
      "\xC2\xA0raw\xE3\x80\x80,data,,,4K\n");
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[0].name(), "nvs");
  EXPECT_EQ(table[0].subtype, kDataSubtypeNvs);
  EXPECT_EQ(table[1].name(), "raw");
  EXPECT_EQ(table[1].subtype, kDataSubtypeUndefined);
  EXPECT_EQ(table[1].offset, 0xC000u);
}

// ---- Variables (§1.4.3, A0) ----

TEST(PartitionCsv, Variables_ExpandDollarNameAndBraces) {
  MapVariables variables({{"NAME", "nvs"}, {"SIZE", "0x3000"}, {"LOOP", "$NAME"}});
  PartitionCsvOptions options;
  options.variables = &variables;
  const PartitionTable table = ParseOk(
      "$NAME,data,nvs,,$SIZE\n${NAME}2,data,nvs,,${SIZE}\nx$UNDEF,data,fat,,4K\n"
      "${UNDEF},data,fat,,4K\n $UNDEF,data,fat,,4K\n$1abc,data,fat,,4K\n${}y,data,fat,,4K\n",
      options);
  ASSERT_EQ(table.size(), 7u);
  EXPECT_EQ(table[0].name(), "nvs");
  EXPECT_EQ(table[0].size, 0x3000u);
  EXPECT_EQ(table[1].name(), "nvs2");
  EXPECT_EQ(table[1].size, 0x3000u);
  EXPECT_EQ(table[2].name(), "x$UNDEF");
  EXPECT_EQ(table[3].name(), "${UNDEF}");
  EXPECT_EQ(table[4].name(), "$UNDEF");
  EXPECT_EQ(table[5].name(), "$1abc");
  EXPECT_EQ(table[6].name(), "${}y");
}

TEST(PartitionCsv, Variables_UnknownAtLineStartIsA0) {
  MapVariables variables(std::map<std::string, std::string>{{"LOOP", "$NAME"}});
  PartitionCsvOptions options;
  options.variables = &variables;
  ExpectFailure("nvs,data,nvs,,0x3000\n$UNDEF_1,data,fat,,4K\n",
                {PartitionRule::kUnknownVariable, 2, PartitionField::kNone, "UNDEF_1"}, options);
  // A value is not expanded again: "$LOOP" becomes "$NAME", which is then unknown.
  ExpectFailure("$LOOP,data,fat,,4K\n",
                {PartitionRule::kUnknownVariable, 1, PartitionField::kNone, "NAME"}, options);
  // Without a lookup nothing is defined.
  ExpectFailure("$HOME,data,fat,,4K\n",
                {PartitionRule::kUnknownVariable, 1, PartitionField::kNone, "HOME"});
}

TEST(PartitionCsv, Variables_ExpansionPast512Bytes_IsLineTooLong) {
  MapVariables variables({{"LONG", std::string(600, 'x')}, {"FITS", std::string(400, 'y')}});
  PartitionCsvOptions options;
  options.variables = &variables;
  ExpectFailure("$LONG,data,fat,,4K\n", {PartitionRule::kLineTooLong, 1}, options);
  // A long line without variables needs no buffer.
  ExpectFailure(std::string(700, 'n') + ",data,fat,,4K\n",
                {PartitionRule::kNameTooLong, 1, PartitionField::kName, std::string(64, 'n')});
  ExpectFailure("$FITS,data,fat,,4K\n",
                {PartitionRule::kNameTooLong, 1, PartitionField::kName, std::string(64, 'y')},
                options);
}

// ---- Row rules A3-A9 and their order ----

TEST(PartitionCsv, RowRules) {
  struct Case {
    const char* csv;
    Failure failure;
  };
  const Case kCases[] = {
      {"nvs\n", {PartitionRule::kTypeEmpty, 1, PartitionField::kType, ""}},
      {"x,,nvs,,0x1000", {PartitionRule::kTypeEmpty, 1, PartitionField::kType, ""}},
      {"x,bogus,nvs,,0x1000", {PartitionRule::kTypeInvalid, 1, PartitionField::kType, "bogus"}},
      {"x,bogusk,nvs,,0x1000", {PartitionRule::kTypeInvalid, 1, PartitionField::kType, "bogus"}},
      {"x,app,,,0x10000", {PartitionRule::kAppSubtypeEmpty, 1, PartitionField::kSubtype, ""}},
      {"x,0,,,0x10000", {PartitionRule::kAppSubtypeEmpty, 1, PartitionField::kSubtype, ""}},
      {"x,data,bogus,,4K", {PartitionRule::kSubtypeInvalid, 1, PartitionField::kSubtype, "bogus"}},
      {"x,app,ota_16,,4K", {PartitionRule::kSubtypeInvalid, 1, PartitionField::kSubtype, "ota_16"}},
      {"x,0x40,bogus,,4K", {PartitionRule::kSubtypeInvalid, 1, PartitionField::kSubtype, "bogus"}},
      {"x,0x40,nvs,,4K", {PartitionRule::kSubtypeInvalid, 1, PartitionField::kSubtype, "nvs"}},
      {"x,data,fat,0x1g,4K", {PartitionRule::kNumberInvalid, 1, PartitionField::kOffset, "0x1g"}},
      {"x,data,fat,,1.5M", {PartitionRule::kNumberInvalid, 1, PartitionField::kSize, "1.5"}},
      {"x,data,fat,,010", {PartitionRule::kNumberInvalid, 1, PartitionField::kSize, "010"}},
      {"x,data,fat,,", {PartitionRule::kSizeEmpty, 1, PartitionField::kSize, ""}},
      {"x,data", {PartitionRule::kSizeEmpty, 1, PartitionField::kSize, ""}},
      {"x,data,fat,,4K,encrypted :readonly",
       {PartitionRule::kFlagUnknown, 1, PartitionField::kFlags, "encrypted "}},
      {"x,data,fat,,4K,Encrypted",
       {PartitionRule::kFlagUnknown, 1, PartitionField::kFlags, "Encrypted"}},
      // Field order: type, subtype, offset, size, flags.
      {"x,,bogus,zz,,bad", {PartitionRule::kTypeEmpty, 1, PartitionField::kType, ""}},
      {"x,app,,zz,,bad", {PartitionRule::kAppSubtypeEmpty, 1, PartitionField::kSubtype, ""}},
      {"x,data,nvs,zz,,bad", {PartitionRule::kNumberInvalid, 1, PartitionField::kOffset, "zz"}},
      {"x,data,nvs,,,bad", {PartitionRule::kSizeEmpty, 1, PartitionField::kSize, ""}},
      // Top to bottom, comment lines counted.
      {"# c\nok,data,fat,,4K\n\nx,data,fat,,4K,signed\ny,,",
       {PartitionRule::kFlagUnknown, 4, PartitionField::kFlags, "signed"}},
      // A row error comes before an unknown variable on a later line.
      {"x,,\n$UNDEF", {PartitionRule::kTypeEmpty, 1, PartitionField::kType, ""}},
  };
  for (const Case& c : kCases) {
    ExpectFailure(c.csv, c.failure);
  }
}

TEST(PartitionCsv, SubtypeInvalid_CarriesTheRowsType) {
  PartitionDiagnostic d;
  EXPECT_FALSE(ParseCsv("x,0x40,bogus,,4K", {}, &d).ok());
  EXPECT_EQ(d.value, 0x40);
  EXPECT_FALSE(ParseCsv("x,data,bogus,,4K", {}, &d).ok());
  EXPECT_EQ(d.value, 1);
}

TEST(PartitionCsv, Keywords_AreCaseInsensitiveFlagsAreNot) {
  const PartitionTable table = ParseOk(
      "a,APP,OTA_0,,1M\nb,Data,NVS,,12K,encrypted:readonly\n"
      "c,data,nvs_\xE2\x84\xAA"
      "eys,,4K,readonly:encrypted\nd,data,fat,,4K,::encrypted:\n");
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table[0].type, kPartitionTypeApp);
  EXPECT_EQ(table[0].subtype, 0x10);
  EXPECT_EQ(table[1].subtype, kDataSubtypeNvs);
  EXPECT_EQ(table[1].flags, 3u);
  EXPECT_EQ(table[2].subtype, kDataSubtypeNvsKeys);  // U+212A KELVIN SIGN lowers to 'k'
  EXPECT_EQ(table[2].flags, 3u);
  EXPECT_EQ(table[3].flags, kPartitionFlagEncrypted);
}

TEST(PartitionCsv, KeywordWithSuffix_IsMultipliedLikeANumber) {
  // parse_int strips k/m before the keyword lookup: "appk" is app (0 x 1024).
  const PartitionTable table = ParseOk("a,appk,ota_0,,1M\n");
  EXPECT_EQ(table[0].type, kPartitionTypeApp);
  // "datak" is 1024: a type with no subtype keywords, so "nvs" is not valid, and a numeric
  // subtype leaves the type out of range.
  ExpectFailure("a,datak,nvs,,4K\n",
                {PartitionRule::kSubtypeInvalid, 1, PartitionField::kSubtype, "nvs"});
  ExpectFailure("a,datak,2,,4K\n", {PartitionRule::kValueOutOfRange, 1, PartitionField::kType, ""});
}

TEST(PartitionCsv, NumericTypesAndSubtypes) {
  const PartitionTable table =
      ParseOk("f,0,0,,1M\nt,app,test,,64K\nc,0x40,0x01,,0x1000\nr,1,0x99,,0x1000\n");
  ASSERT_EQ(table.size(), 4u);
  EXPECT_EQ(table[0].type, kPartitionTypeApp);
  EXPECT_EQ(table[0].offset, 0x10000u);
  EXPECT_EQ(table[1].subtype, kAppSubtypeTest);
  EXPECT_EQ(table[2].type, 0x40);
  EXPECT_EQ(table[2].offset, 0x120000u);  // custom types align to 4K
  EXPECT_EQ(table[3].type, kPartitionTypeData);
  EXPECT_EQ(table[3].subtype, 0x99);
}

// ---- Automatic offsets and A1/A2 (§1.5) ----

TEST(PartitionCsv, AutomaticOffsets_AlignAppTo64KAndOthersTo4K) {
  const PartitionTable table = ParseOk(
      "a,data,fat,,0x1800\nb,data,fat,,4K\nc,app,ota_0,,64K\nd,data,fat,0x30000,4K\ne,app,ota_1,,"
      "64K\n");
  EXPECT_EQ(table[0].offset, 0x9000u);
  EXPECT_EQ(table[1].offset, 0xB000u);  // 0xA800 rounded up to 4K
  EXPECT_EQ(table[2].offset, 0x10000u);
  EXPECT_EQ(table[3].offset, 0x30000u);  // explicit, with a gap before it
  EXPECT_EQ(table[4].offset, 0x40000u);
}

TEST(PartitionCsv, AutomaticOffsets_FollowTheTableOffsetOption) {
  PartitionCsvOptions options;
  options.table_offset = 0x10000;
  const PartitionTable table = ParseOk("nvs,data,nvs,,0x4000\napp,app,factory,,1M\n", options);
  EXPECT_EQ(table[0].offset, 0x11000u);
  EXPECT_EQ(table[1].offset, 0x20000u);
}

TEST(PartitionCsv, NegativeSize_MeansEndAt) {
  const PartitionTable table =
      ParseOk("x,data,nvs,,-0x10000\ny,app,ota_0,,-0x200000\nz,0x40,1,,-0x201000\n");
  EXPECT_EQ(table[0].size, 0x7000u);
  EXPECT_EQ(table[1].offset, 0x10000u);
  EXPECT_EQ(table[1].size, 0x1F0000u);
  EXPECT_EQ(table[2].offset, 0x200000u);
  EXPECT_EQ(table[2].size, 0x1000u);
}

TEST(PartitionCsv, OverlapRules) {
  struct Case {
    const char* csv;
    Failure failure;
    int64_t value;
    int64_t limit;
  };
  const Case kCases[] = {
      {"a,data,fat,0x8000,4K",
       {PartitionRule::kOffsetInTableSector, 1, PartitionField::kOffset, ""},
       0x8000,
       0x9000},
      {"a,data,fat,-0x1000,4K",
       {PartitionRule::kOffsetInTableSector, 1, PartitionField::kOffset, ""},
       -0x1000,
       0x9000},
      {"a,data,fat,0x9000,0x3000\nb,data,fat,0x9000,0x3000",
       {PartitionRule::kOverlapInFileOrder, 2, PartitionField::kOffset, ""},
       0x9000,
       0xC000},
      // gen_esp32part.py compares the row with the first one (PartitionDefinition.__eq__): an
      // identical later row gets the first row's message.
      {"a,data,fat,0x9000,0x3000\na,data,fat,0x9000,0x3000",
       {PartitionRule::kOffsetInTableSector, 2, PartitionField::kOffset, ""},
       0x9000,
       0xC000},
      {"a,data,fat,,0x3000\na,data,fat,0x9000,0x3000",
       {PartitionRule::kOffsetInTableSector, 2, PartitionField::kOffset, ""},
       0x9000,
       0xC000},
      {"a,data,fat,0x9000,0x3000\nb,data,fat,0xC000,0x3000\nc,data,fat,0xB000,0x3000",
       {PartitionRule::kOverlapInFileOrder, 3, PartitionField::kOffset, ""},
       0xB000,
       0xF000},
  };
  for (const Case& c : kCases) {
    ExpectFailure(c.csv, c.failure);
    PartitionDiagnostic d;
    EXPECT_FALSE(ParseCsv(c.csv, {}, &d).ok());
    EXPECT_EQ(d.value, c.value) << c.csv;
    EXPECT_EQ(d.limit, c.limit) << c.csv;
  }
}

TEST(PartitionCsv, OverlapIsCheckedAfterEveryRowParsed) {
  ExpectFailure("a,data,fat,0x8000,4K\nb,bogus,fat,,4K\n",
                {PartitionRule::kTypeInvalid, 2, PartitionField::kType, "bogus"});
}

// ---- Bootloader and partition_table rows ----

TEST(PartitionCsv, BootloaderAndTableRows_TakeOffsetsAndSizesFromOptions) {
  PartitionCsvOptions options;
  options.primary_bootloader_offset = 0x1000;
  options.recovery_bootloader_offset = 0x20000;
  const PartitionTable table = ParseOk(
      "bl,bootloader,primary,,\npt,partition_table,primary,0x5,junk\nnvs,data,nvs,,0x3000\n"
      "bl_ota,bootloader,ota,,\npt_ota,partition_table,ota,,\nrec,bootloader,recovery,,\n",
      options);
  ASSERT_EQ(table.size(), 6u);
  EXPECT_EQ(table[0].offset, 0x1000u);
  EXPECT_EQ(table[0].size, 0x7000u);
  EXPECT_EQ(table[1].offset, 0x8000u);
  EXPECT_EQ(table[1].size, 0x1000u);
  EXPECT_EQ(table[2].offset, 0x9000u);  // the primary rows do not move the cursor
  EXPECT_EQ(table[3].offset, 0xC000u);
  EXPECT_EQ(table[3].size, 0x7000u);
  EXPECT_EQ(table[4].offset, 0x13000u);
  EXPECT_EQ(table[4].size, 0x1000u);
  EXPECT_EQ(table[5].offset, 0x20000u);
  EXPECT_TRUE(ValidatePartitionTable(table, {}).ok());
}

TEST(PartitionCsv, BootloaderRows_NeedTheBootloaderOffsets) {
  ExpectFailure("bl,bootloader,primary,,\n",
                {PartitionRule::kBootloaderOffsetMissing, 1, PartitionField::kOffset, ""});
  ExpectFailure("bl,bootloader,ota,,\n",
                {PartitionRule::kBootloaderOffsetMissing, 1, PartitionField::kSize, ""});
  PartitionCsvOptions options;
  options.primary_bootloader_offset = 0x1000;
  ExpectFailure("rec,bootloader,recovery,,\n",
                {PartitionRule::kRecoveryOffsetMissing, 1, PartitionField::kOffset, ""}, options);
  options.primary_bootloader_offset = 0x8000;
  ExpectFailure("nvs,data,nvs,,0x3000\n", {PartitionRule::kBootloaderOffsetInvalid, 0}, options);
}

// ---- Values that do not fit the binary (our divergence: the tool crashes when packing) ----

TEST(PartitionCsv, ValuesOutsideTheBinaryFields_AreOutOfRange) {
  struct Case {
    const char* csv;
    uint32_t line;
    PartitionField field;
    int64_t value;
  };
  const Case kCases[] = {
      {"x,256,1,,4K", 1, PartitionField::kType, 256},
      {"x,-1,1,,4K", 1, PartitionField::kType, -1},
      {"x,data,0x100,,4K", 1, PartitionField::kSubtype, 0x100},
      {"x,data,fat,,0x100000000", 1, PartitionField::kSize, 0x100000000},
      {"x,data,fat,0x100000000,4K", 1, PartitionField::kOffset, 0x100000000},
      {"x,data,fat,,-0x8000", 1, PartitionField::kSize, -0x1000},
      {"a,data,fat,0xFFFFF000,0x1000\nb,data,fat,,0x1000", 2, PartitionField::kOffset, 0x100000000},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.csv);
    PartitionDiagnostic d;
    Result<PartitionTable> table = ParseCsv(c.csv, {}, &d);
    ASSERT_FALSE(table.ok());
    EXPECT_EQ(table.status().code(), Status::Code::kOutOfRange);
    EXPECT_EQ(d.rule, PartitionRule::kValueOutOfRange);
    EXPECT_EQ(d.line, c.line);
    EXPECT_EQ(d.field, c.field);
    EXPECT_EQ(d.value, c.value);
  }
  // Beyond 64 bits fails at once, naming the text.
  ExpectFailure(
      "x,data,fat,,0x1_0000_0000_0000_0000\n",
      {PartitionRule::kValueOutOfRange, 1, PartitionField::kSize, "0x1_0000_0000_0000_0000"});
  // A later row's parse error still comes first, as in the tool.
  ExpectFailure("x,data,fat,,0x100000000\ny,data,bogus,,4K\n",
                {PartitionRule::kSubtypeInvalid, 2, PartitionField::kSubtype, "bogus"});
}

// ---- Names ----

TEST(PartitionCsv, Names_UpTo64BytesKeptWhole) {
  const std::string name64(64, 'n');
  const PartitionTable table = ParseOk(name64 + ",data,fat,,4K\n,data,fat,,4K\n");
  EXPECT_EQ(table[0].name(), name64);
  EXPECT_EQ(table[0].label(), std::string(16, 'n'));
  EXPECT_EQ(table[1].name(), "");
  ExpectFailure(std::string(65, 'n') + ",data,fat,,4K\n",
                {PartitionRule::kNameTooLong, 1, PartitionField::kName, std::string(64, 'n')});
  // Every other rule of the row comes first.
  ExpectFailure(std::string(65, 'n') + ",bogus,fat,,4K\n",
                {PartitionRule::kTypeInvalid, 1, PartitionField::kType, "bogus"});
}

// ---- Capacity (E) ----

std::string Rows(int count) {
  std::string csv = "# many rows\n";
  for (int i = 0; i < count; ++i) {
    csv += "p" + std::to_string(i) + ",data,fat,,4K\n";
  }
  return csv;
}

TEST(PartitionCsv, Capacity_95RowsParseAndFailToEncode96RowsFailToParse) {
  const PartitionTable table = ParseOk(Rows(95));
  EXPECT_EQ(table.size(), 95u);
  host::OpensslCrypto crypto;
  std::vector<std::byte> out(kPartitionTableBinarySize);
  EXPECT_EQ(SerializePartitionTableBinary(table, crypto, out).code(),
            Status::Code::kResourceExhausted);
  ExpectFailure(Rows(96), {PartitionRule::kTooManyEntries, 97});
  EXPECT_EQ(ParseOk(Rows(94)).size(), 94u);
  EXPECT_EQ(Serialize(ParseOk(Rows(94))).size(), kPartitionTableBinarySize);
}

// ---- Writing CSV ----

TEST(PartitionCsvWrite, FormatsLikeTheTool) {
  PartitionTable table;
  auto add = [&](std::string_view name, uint8_t type, uint8_t subtype, uint32_t offset,
                 uint32_t size, uint32_t flags) {
    Partition p;
    p.set_name(name);
    p.type = type;
    p.subtype = subtype;
    p.offset = offset;
    p.size = size;
    p.flags = flags;
    ASSERT_TRUE(table.Add(p).ok());
  };
  add("zero", 1, 0x81, 0, 0, 0);
  add("k", 1, 2, 0x9000, 0x1800, kPartitionFlagReadonly);
  add("hex", 0x40, 7, 0xA000, 0x1801, kPartitionFlagEncrypted | kPartitionFlagReadonly);
  add("m", 0, 0x1F, 0x10000, 0x200000, kPartitionFlagEncrypted);
  add("raw", 1, 0x99, 0xFFFFF000, 0xFFFFFFFF, 0);
  add("bl", 2, 2, 0x1000, 0x7000, 0);
  EXPECT_EQ(WriteCsv(table),
            "# ESP-IDF Partition Table\n"
            "# Name, Type, SubType, Offset, Size, Flags\n"
            "zero,data,fat,0x0,0M,\n"
            "k,data,nvs,0x9000,6K,readonly\n"
            "hex,64,7,0xa000,0x1801,encrypted:readonly\n"
            "m,app,ota_15,0x10000,2M,encrypted\n"
            "raw,data,153,0xfffff000,0xffffffff,\n"
            "bl,bootloader,recovery,0x1000,28K,\n");
}

TEST(PartitionCsvWrite, EmptyTable_IsTheTwoHeaderLines) {
  EXPECT_EQ(WriteCsv(PartitionTable{}),
            "# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n");
}

TEST(PartitionCsvWrite, SinkErrors_StopTheWriter) {
  class FailingSink final : public PartitionCsvSink {
   public:
    Status Write(std::string_view) override {
      return ++calls_ == 2 ? Unavailable("sink: gone", 7) : OkStatus();
    }
    int calls_ = 0;
  };
  FailingSink sink;
  const PartitionTable table =
      ParseOk(ReadText(VectorPath("partition-table/tutorial_blank_offsets.csv")));
  EXPECT_EQ(Text(WritePartitionCsv(table, sink)), "unavailable: sink: gone @7");
  EXPECT_EQ(sink.calls_, 2);
}

TEST(PartitionCsvLine, ReturnsThePhysicalLine) {
  const std::string text =
      "\xEF\xBB\xBF"
      "a\r\nb\rc\n\nd";
  EXPECT_EQ(PartitionCsvLine(text, 1), "a");
  EXPECT_EQ(PartitionCsvLine(text, 2), "b");
  EXPECT_EQ(PartitionCsvLine(text, 3), "c");
  EXPECT_EQ(PartitionCsvLine(text, 4), "");
  EXPECT_EQ(PartitionCsvLine(text, 5), "d");
  EXPECT_EQ(PartitionCsvLine(text, 6), "");
  EXPECT_EQ(PartitionCsvLine(text, 0), "");
}

TEST(PartitionCsv, ParseAndWrite_DoNotAllocate) {
  const std::string csv = ReadText(VectorPath("partition-table/data_subtypes_numeric.csv"));
  MapVariables variables(std::map<std::string, std::string>{});
  PartitionCsvOptions options;
  options.variables = &variables;
  BufferSink sink;
  {
    AllocationGuard guard;
    Result<PartitionTable> table = ParsePartitionCsv(csv, options);
    ASSERT_TRUE(table.ok());
    EXPECT_TRUE(WritePartitionCsv(*table, sink).ok());
  }
  EXPECT_EQ(sink.text(),
            ReadText(VectorPath("partition-table/data_subtypes_numeric.roundtrip.csv")));
}

// ---- Robustness ----

bool IsCleanCsvError(const Status& status) {
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kOutOfRange:
    case Status::Code::kResourceExhausted:
    case Status::Code::kUnimplemented:
      return true;
    default:
      return false;
  }
}

// Whatever parses also validates, encodes and reads back to the same rows.
void ExpectConsistent(const PartitionTable& table) {
  (void)ValidatePartitionTable(table, {});
  host::OpensslCrypto crypto;
  std::vector<std::byte> out(kPartitionTableBinarySize);
  if (!SerializePartitionTableBinary(table, crypto, out).ok()) {
    return;
  }
  Result<PartitionTable> again = ParsePartitionTableBinary(out, crypto);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->size(), table.size());
  for (size_t i = 0; i < table.size(); ++i) {
    EXPECT_EQ((*again)[i].offset, table[i].offset);
    EXPECT_EQ((*again)[i].size, table[i].size);
  }
}

TEST(PartitionCsv, EveryTruncationOfEveryVector_IsACleanVerdict) {
  for (const auto& path : VectorFiles("partition-table", ".csv")) {
    SCOPED_TRACE(path.filename().string());
    const std::string full = ReadText(path);
    for (size_t length = 0; length <= full.size(); ++length) {
      Result<PartitionTable> table = ParseCsv(std::string_view(full).substr(0, length));
      if (table.ok()) {
        ExpectConsistent(*table);
      } else {
        EXPECT_TRUE(IsCleanCsvError(table.status())) << length << " " << table.status().reason();
      }
    }
  }
}

TEST(PartitionCsv, EverySingleByteCorruption_IsACleanVerdict) {
  const std::string good = ReadText(VectorPath("partition-table/flags_encrypted_readonly.csv"));
  const char kReplacements[] = {',', '\n', '\r', '#',  '$',    ':',   'x',
                                '0', ' ',  '-',  '\0', '\xFF', '\xC2'};
  size_t accepted = 0;
  size_t rejected = 0;
  for (size_t at = 0; at < good.size(); ++at) {
    for (char c : kReplacements) {
      std::string bad = good;
      bad[at] = c;
      Result<PartitionTable> table = ParseCsv(bad);
      if (table.ok()) {
        ++accepted;
        ExpectConsistent(*table);
      } else {
        ++rejected;
        EXPECT_TRUE(IsCleanCsvError(table.status())) << at << " " << table.status().reason();
      }
    }
  }
  // Both verdicts occur (comment bytes are harmless; a byte in a number usually is not).
  EXPECT_GT(accepted, 100u);
  EXPECT_GT(rejected, 100u);
}

}  // namespace
}  // namespace aloft::core
