// `aloft partition gen|show|check` end to end: the real binary on the partition-table vectors.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "support/run_command.h"
#include "support/vectors.h"

namespace aloft {
namespace {

using testing::CommandOutput;
using testing::ReadBinary;
using testing::ReadText;
using testing::RunAloft;
using testing::TempDir;
using testing::VectorPath;

const std::vector<std::string> kAcceptedVectors = {
    "data_subtypes_numeric", "explicit_offsets",       "flags_encrypted_readonly",
    "idf_factory_two_ota",   "idf_singleapp",          "ota16_slots",
    "size_suffixes_mixed",   "tutorial_blank_offsets",
};

std::string Vector(const std::string& file) {
  return VectorPath("partition-table/" + file).string();
}

void WriteFile(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  EXPECT_FALSE(error) << text;
  return value;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// ---- gen ----

TEST(PartitionGen, AcceptedVectors_WriteTheToolsBinary) {
  TempDir dir;
  for (const std::string& name : kAcceptedVectors) {
    SCOPED_TRACE(name);
    const auto out = dir / (name + ".bin");
    CommandOutput result = RunAloft(
        {"partition", "gen", Vector(name + ".csv"), "-o", out.string(), "--flash-size", "4MB"});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(result.err, "");
    EXPECT_EQ(ReadBinary(out), ReadBinary(Vector(name + ".bin")));
  }
}

TEST(PartitionGen, RoundtripCsvsAndBinaries_GiveTheSameBinary) {
  TempDir dir;
  for (const std::string& name : kAcceptedVectors) {
    SCOPED_TRACE(name);
    for (const std::string& input : {name + ".roundtrip.csv", name + ".bin"}) {
      const auto out = dir / "out.bin";
      CommandOutput result = RunAloft({"partition", "gen", Vector(input), "-o", out.string()});
      EXPECT_EQ(result.exit_code, 0) << result.err;
      EXPECT_EQ(ReadBinary(out), ReadBinary(Vector(name + ".bin")));
    }
  }
}

TEST(PartitionGen, RejectedVectors_Exit1NameTheLineAndLeaveTheOutputAlone) {
  struct Case {
    const char* name;
    std::vector<std::string> expected;  // parts of stderr
  };
  const std::vector<Case> cases = {
      {"err_app_misaligned",
       {"err_app_misaligned.csv:4: ",
        "partition ota_1 invalid: offset 0x118000 is not aligned to 0x10000",
        "  | ota_1,    app,  ota_1, 0x118000, 1M,"}},
      {"err_bad_number",
       {"err_bad_number.csv:3: ", "size: invalid field value '1.5'",
        "  | ota_0,    app,  ota_0, , 1.5M,"}},
      {"err_bad_subtype",
       {"err_bad_subtype.csv:4: ",
        "subtype: value 'ota_16' is not valid. Known keywords: factory, test, ota_0, ota_1, ota_2, "
        "ota_3, ota_4, ota_5, ota_6, ota_7, ota_8, ota_9, ota_10, ota_11, ota_12, ota_13, ota_14, "
        "ota_15, tee_0, tee_1"}},
      {"err_duplicate_name",
       {"err_duplicate_name.csv:4: ", "partition names must be unique: 'app'", "(line 3, line 4)"}},
      {"err_empty_size", {"err_empty_size.csv:2: ", "size field can't be empty"}},
      {"err_offset_in_table_sector",
       {"err_offset_in_table_sector.csv:1: ", "partition sets offset 0x8000",
        "occupies the whole sector 0x8000", "use a free offset 0x9000 or higher"}},
      {"err_otadata_size",
       {"err_otadata_size.csv:2: ",
        "otadata partition otadata must have size = 0x2000, not 0x1000"}},
      {"err_overlap_explicit",
       {"err_overlap_explicit.csv:2: ", "partition sets offset 0xe000",
        "previous partition ends at 0xf000"}},
      {"err_readonly_otadata",
       {"err_readonly_otadata.csv:2: ",
        "partition otadata invalid: 'otadata' partition of type 1 and subtype 0 is always "
        "read-write and cannot be read-only"}},
      {"err_small_rw_nvs",
       {"err_small_rw_nvs.csv:1: ",
        "'nvs' partition of type 1 and subtype 2 of this size (0x2000) must be flagged as "
        "'readonly' (the size of read/write NVS has to be at least 0x3000)"}},
      {"err_too_big_for_4mb",
       {"err_too_big_for_4mb.csv:5: ", "partition table occupies 4.1MB of flash (4259840 bytes",
        "does not fit in the configured flash size 4MB"}},
      {"err_unknown_flag",
       {"err_unknown_flag.csv:3: ", "flags: CSV flag column contains unknown flag 'signed'"}},
  };
  TempDir dir;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const auto out = dir / "out.bin";
    WriteFile(out, "old contents");
    CommandOutput result = RunAloft({"partition", "gen", Vector(std::string(c.name) + ".csv"), "-o",
                                     out.string(), "--flash-size", "4MB"});
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_TRUE(result.err.rfind("aloft: ", 0) == 0) << result.err;
    for (const std::string& part : c.expected) {
      EXPECT_TRUE(Contains(result.err, part)) << "missing: " << part << "\nin: " << result.err;
    }
    EXPECT_EQ(ReadText(out), "old contents");
    EXPECT_EQ(result.out, "");
  }
}

TEST(PartitionGen, Failure_CreatesNoOutputFile) {
  TempDir dir;
  CommandOutput result = RunAloft(
      {"partition", "gen", Vector("err_empty_size.csv"), "-o", (dir / "new.bin").string()});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir / "new.bin"));
  EXPECT_TRUE(std::filesystem::is_empty(dir.path()));
}

TEST(PartitionGen, TableOffsetOption_MovesAutomaticOffsets) {
  TempDir dir;
  const auto out = dir / "t.bin";
  ASSERT_EQ(RunAloft({"partition", "gen", Vector("tutorial_blank_offsets.csv"), "-o", out.string(),
                      "--offset", "0x10000"})
                .exit_code,
            0);
  CommandOutput shown = RunAloft({"partition", "show", out.string(), "--offset", "65536"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_TRUE(Contains(shown.out, "nvs,data,nvs,0x11000,16K,\n")) << shown.out;
  EXPECT_TRUE(Contains(shown.out, "app0,app,ota_0,0x20000,1536K,\n")) << shown.out;
  // Read with the default offset, the table overlaps nothing, so it is still valid.
  EXPECT_EQ(RunAloft({"partition", "show", out.string()}).exit_code, 0);
}

TEST(PartitionGen, Warnings_GoToStderrAndDoNotFail) {
  TempDir dir;
  WriteFile(dir / "w.csv",
            "app,data,nvs,,0x3000\nota,data,fat,,4K\nthis_name_is_too_long,data,fat,,4K\n");
  CommandOutput result =
      RunAloft({"partition", "gen", (dir / "w.csv").string(), "-o", (dir / "w.bin").string()});
  EXPECT_EQ(result.exit_code, 0) << result.err;
  EXPECT_TRUE(Contains(result.err, "warning: " + (dir / "w.csv").string() +
                                       ":1: partition app: the name is a partition type"))
      << result.err;
  EXPECT_TRUE(Contains(result.err, ":2: partition ota: the name is a partition subtype"))
      << result.err;
  EXPECT_TRUE(Contains(result.err, "keeps only the first 16 ('this_name_is_too')")) << result.err;
  EXPECT_EQ(ReadBinary(dir / "w.bin").size(), 0xC00u);
}

TEST(PartitionGen, Utf16Text_IsDecodedAsTheToolDoes) {
  const std::string text = ReadText(Vector("tutorial_blank_offsets.csv"));
  std::string little = "\xFF\xFE";
  std::string big = "\xFE\xFF";
  for (char c : text) {
    little += c;
    little += '\0';
    big += '\0';
    big += c;
  }
  TempDir dir;
  for (const auto& [name, bytes] : {std::pair{"le.csv", little}, std::pair{"be.csv", big}}) {
    SCOPED_TRACE(name);
    WriteFile(dir / name, bytes);
    const auto out = dir / "out.bin";
    CommandOutput result =
        RunAloft({"partition", "gen", (dir / name).string(), "-o", out.string()});
    EXPECT_EQ(result.exit_code, 0) << result.err;
    EXPECT_EQ(ReadBinary(out), ReadBinary(Vector("tutorial_blank_offsets.bin")));
  }
  WriteFile(dir / "odd.csv", little + "x");
  CommandOutput odd =
      RunAloft({"partition", "gen", (dir / "odd.csv").string(), "-o", (dir / "o.bin").string()});
  EXPECT_EQ(odd.exit_code, 1);
  EXPECT_TRUE(Contains(odd.err, "UTF-16 text has an odd number of bytes")) << odd.err;
}

TEST(PartitionGen, EnvironmentVariables_AreExpanded) {
  ASSERT_EQ(setenv("ALOFT_TEST_NVS_SIZE", "0x4000", 1), 0);
  TempDir dir;
  WriteFile(dir / "v.csv",
            "nvs,data,nvs,,$ALOFT_TEST_NVS_SIZE\notadata,data,ota,,0x2000\nphy_init,data,phy,,"
            "0x1000\napp0,app,ota_0,,${ALOFT_TEST_APP_SIZE_UNSET}\n");
  CommandOutput unknown =
      RunAloft({"partition", "gen", (dir / "v.csv").string(), "-o", (dir / "v.bin").string()});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_TRUE(Contains(unknown.err, ":4: size: invalid field value '${ALOFT_TEST_APP_SIZE_UNSET}'"))
      << unknown.err;
  ASSERT_EQ(setenv("ALOFT_TEST_APP_SIZE_UNSET", "1536K", 1), 0);
  CommandOutput known =
      RunAloft({"partition", "gen", (dir / "v.csv").string(), "-o", (dir / "v.bin").string()});
  EXPECT_EQ(known.exit_code, 0) << known.err;
  unsetenv("ALOFT_TEST_APP_SIZE_UNSET");
  WriteFile(dir / "a0.csv", "$ALOFT_TEST_SURELY_UNDEFINED,data,fat,,4K\n");
  CommandOutput a0 =
      RunAloft({"partition", "gen", (dir / "a0.csv").string(), "-o", (dir / "a0.bin").string()});
  EXPECT_EQ(a0.exit_code, 1);
  EXPECT_TRUE(Contains(a0.err, "a0.csv:1: unknown variable 'ALOFT_TEST_SURELY_UNDEFINED'"))
      << a0.err;
}

// ---- show ----

TEST(PartitionShow, AcceptedVectors_PrintTheToolsCsv) {
  for (const std::string& name : kAcceptedVectors) {
    SCOPED_TRACE(name);
    const std::string expected = ReadText(Vector(name + ".roundtrip.csv"));
    for (const std::string& input : {name + ".bin", name + ".csv"}) {
      CommandOutput result = RunAloft({"partition", "show", Vector(input)});
      EXPECT_EQ(result.exit_code, 0) << result.err;
      EXPECT_EQ(result.out, expected);
    }
  }
}

TEST(PartitionShow, BinaryVectors_HaveTheirVerdicts) {
  CommandOutput bad_md5 = RunAloft({"partition", "show", Vector("bin_bad_md5.bin")});
  EXPECT_EQ(bad_md5.exit_code, 1);
  EXPECT_TRUE(Contains(bad_md5.err, "bin_bad_md5.bin: MD5 checksums don't match at row 5"));
  EXPECT_TRUE(Contains(bad_md5.err, "computed: 0xb0ecdc2f5ad6b35f066fb60bf4b54c84"));
  EXPECT_TRUE(Contains(bad_md5.err, "stored: 0xb1ecdc2f5ad6b35f066fb60bf4b54c84")) << bad_md5.err;

  CommandOutput no_end = RunAloft({"partition", "show", Vector("bin_no_end_marker.bin")});
  EXPECT_EQ(no_end.exit_code, 1);
  EXPECT_TRUE(Contains(no_end.err, "partition table is missing an end-of-table marker"))
      << no_end.err;

  CommandOutput no_md5 = RunAloft({"partition", "show", Vector("bin_no_md5_row.bin")});
  EXPECT_EQ(no_md5.exit_code, 0) << no_md5.err;
  EXPECT_EQ(no_md5.out, ReadText(Vector("bin_no_md5_row.roundtrip.csv")));
}

TEST(PartitionShow, Json_ListsEveryPartition) {
  CommandOutput result =
      RunAloft({"partition", "show", Vector("flags_encrypted_readonly.bin"), "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::value json = ParseJson(result.out);
  const boost::json::array& rows = json.as_array();
  ASSERT_EQ(rows.size(), 8u);
  const boost::json::object& nvs = rows[0].as_object();
  EXPECT_EQ(nvs.at("name").as_string(), "nvs");
  EXPECT_EQ(nvs.at("type").as_string(), "data");
  EXPECT_EQ(nvs.at("subtype").as_string(), "nvs");
  EXPECT_EQ(nvs.at("offset").to_number<int64_t>(), 0x9000);
  EXPECT_EQ(nvs.at("size").to_number<int64_t>(), 0x6000);
  EXPECT_TRUE(nvs.at("flags").as_array().empty());
  const boost::json::object& assets = rows[6].as_object();
  EXPECT_EQ(assets.at("name").as_string(), "assets");
  ASSERT_EQ(assets.at("flags").as_array().size(), 2u);
  EXPECT_EQ(assets.at("flags").as_array()[0].as_string(), "encrypted");
  EXPECT_EQ(assets.at("flags").as_array()[1].as_string(), "readonly");
  const boost::json::object& secrets = rows[7].as_object();
  EXPECT_EQ(secrets.at("subtype").to_number<int64_t>(), 0x40);  // no keyword: a number
}

TEST(PartitionShow, Json_CustomTypesAreNumbers) {
  CommandOutput result =
      RunAloft({"partition", "show", Vector("data_subtypes_numeric.csv"), "--json"});
  ASSERT_EQ(result.exit_code, 0) << result.err;
  const boost::json::value json = ParseJson(result.out);
  const boost::json::array& rows = json.as_array();
  ASSERT_EQ(rows.size(), 16u);
  EXPECT_EQ(rows[14].as_object().at("name").as_string(), "custom");
  EXPECT_EQ(rows[14].as_object().at("type").to_number<int64_t>(), 64);
  EXPECT_EQ(rows[14].as_object().at("subtype").to_number<int64_t>(), 1);
  EXPECT_EQ(rows[15].as_object().at("type").as_string(), "data");
  EXPECT_EQ(rows[15].as_object().at("subtype").to_number<int64_t>(), 153);
  EXPECT_EQ(rows[13].as_object().at("subtype").as_string(), "ota_0");
}

TEST(PartitionShow, InvalidTable_FailsUnlessNoVerify) {
  CommandOutput strict = RunAloft({"partition", "show", Vector("err_small_rw_nvs.csv")});
  EXPECT_EQ(strict.exit_code, 1);
  CommandOutput loose =
      RunAloft({"partition", "show", Vector("err_small_rw_nvs.csv"), "--no-verify"});
  EXPECT_EQ(loose.exit_code, 0) << loose.err;
  EXPECT_TRUE(Contains(loose.out, "nvs,data,nvs,0x9000,8K,\n")) << loose.out;
}

// ---- check ----

TEST(PartitionCheck, OtaReadyVectors_Pass) {
  for (const std::string name :
       {"idf_factory_two_ota.csv", "tutorial_blank_offsets.bin", "ota16_slots.csv"}) {
    SCOPED_TRACE(name);
    CommandOutput result = RunAloft({"partition", "check", Vector(name), "--flash-size", "4MB"});
    EXPECT_EQ(result.exit_code, 0) << result.out << result.err;
    EXPECT_TRUE(Contains(result.out, ": ok (0 errors, 0 warnings)\n")) << result.out;
  }
}

TEST(PartitionCheck, SingleApp_FailsTheOtaChecks) {
  CommandOutput result = RunAloft({"partition", "check", Vector("idf_singleapp.csv")});
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_TRUE(Contains(result.out, "error: " + Vector("idf_singleapp.csv") +
                                       ": OTA updates need at least two OTA app slots (ota_0, "
                                       "ota_1); this table has 0\n"))
      << result.out;
  EXPECT_TRUE(Contains(result.out, "no otadata partition")) << result.out;
  EXPECT_TRUE(Contains(result.out, ": FAILED (2 errors, 0 warnings)\n")) << result.out;
}

TEST(PartitionCheck, RejectedVector_ReportsTheRuleAndTheOtaFindings) {
  CommandOutput result = RunAloft(
      {"partition", "check", Vector("err_app_misaligned.csv"), "--flash-size", "4MB", "--json"});
  EXPECT_EQ(result.exit_code, 1);
  const boost::json::object json = ParseJson(result.out).as_object();
  EXPECT_EQ(json.at("ok").as_bool(), false);
  EXPECT_EQ(json.at("errors").to_number<int64_t>(), 1);
  const boost::json::array& findings = json.at("findings").as_array();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].as_object().at("rule").as_string(), "B1");
  EXPECT_EQ(findings[0].as_object().at("partition").as_string(), "ota_1");
  EXPECT_EQ(findings[0].as_object().at("line").to_number<int64_t>(), 4);
}

TEST(PartitionCheck, ParseFailure_IsOneFinding) {
  CommandOutput result = RunAloft({"partition", "check", Vector("err_bad_subtype.csv"), "--json"});
  EXPECT_EQ(result.exit_code, 1);
  const boost::json::object json = ParseJson(result.out).as_object();
  const boost::json::array& findings = json.at("findings").as_array();
  ASSERT_EQ(findings.size(), 1u);
  EXPECT_EQ(findings[0].as_object().at("rule").as_string(), "A6");
  EXPECT_EQ(findings[0].as_object().at("line").to_number<int64_t>(), 4);
  EXPECT_FALSE(json.contains("partitions"));
}

TEST(PartitionCheck, OtaLayoutProblems_AreErrors) {
  TempDir dir;
  WriteFile(dir / "gap.csv",
            "otadata,data,ota,,0x2000\na,app,ota_0,,1M\nb,app,ota_1,,1M\nc,app,ota_3,,1M\n");
  WriteFile(dir / "sizes.csv", "otadata,data,ota,,0x2000\na,app,ota_0,,1M\nb,app,ota_1,,2M\n");
  WriteFile(dir / "dup.csv",
            "otadata,data,ota,,0x2000\na,app,ota_0,,1M\nb,app,ota_1,,1M\nc,app,ota_0,,1M\n");
  struct Case {
    const char* file;
    const char* rule;
    const char* message;
  };
  const Case kCases[] = {
      {"gap.csv", "ota-contiguous",
       "ota_2 is missing, so the app sees 2 slot(s) while the bootloader counts 3; c (ota_3) is "
       "unreachable"},
      {"sizes.csv", "ota-slot-size", "a (ota_0) is 0x100000, b (ota_1) is 0x200000"},
      {"dup.csv", "ota-duplicate", "two partitions are ota_0 (a and c)"},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(c.file);
    CommandOutput result = RunAloft({"partition", "check", (dir / c.file).string(), "--json"});
    EXPECT_EQ(result.exit_code, 1) << result.out;
    const boost::json::object json = ParseJson(result.out).as_object();
    const boost::json::array& findings = json.at("findings").as_array();
    ASSERT_EQ(findings.size(), 1u) << result.out;
    EXPECT_EQ(findings[0].as_object().at("rule").as_string(), c.rule);
    EXPECT_TRUE(Contains(std::string(findings[0].as_object().at("message").as_string()), c.message))
        << result.out;
  }
}

TEST(PartitionCheck, AppSizes_FitWarnOrFail) {
  TempDir dir;
  const auto small = dir / "small.bin";
  const auto tight = dir / "tight.bin";
  const auto big = dir / "big.bin";
  WriteFile(small, std::string(0x80000, 'a'));  // 50% of a 1M slot free
  WriteFile(tight, std::string(0xF0000, 'a'));  // 6.25% free
  WriteFile(big, std::string(0x100001, 'a'));   // one byte too many
  const std::string table = Vector("idf_factory_two_ota.csv");

  CommandOutput ok = RunAloft({"partition", "check", table, "--app", small.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out;

  CommandOutput warn = RunAloft({"partition", "check", table, "--app", tight.string()});
  EXPECT_EQ(warn.exit_code, 0) << warn.out;
  EXPECT_TRUE(Contains(warn.out, "warning: " + table + ":7: " + tight.string() +
                                     " (983040 bytes) leaves only 6.2% of ota_0 (1048576 "
                                     "bytes) free, less than the 20% headroom\n"))
      << warn.out;
  EXPECT_TRUE(Contains(warn.out, ": ok (0 errors, 3 warnings)\n")) << warn.out;
  CommandOutput relaxed =
      RunAloft({"partition", "check", table, "--app", tight.string(), "--headroom", "5"});
  EXPECT_TRUE(Contains(relaxed.out, ": ok (0 errors, 0 warnings)\n")) << relaxed.out;

  CommandOutput fail = RunAloft(
      {"partition", "check", table, "--app", big.string(), "--app", small.string(), "--json"});
  EXPECT_EQ(fail.exit_code, 1);
  const boost::json::object json = ParseJson(fail.out).as_object();
  EXPECT_EQ(json.at("errors").to_number<int64_t>(), 3);  // factory, ota_0, ota_1
  const boost::json::array& apps = json.at("apps").as_array();
  ASSERT_EQ(apps.size(), 2u);
  const boost::json::object& first = apps[0].as_object();
  EXPECT_EQ(first.at("size").to_number<int64_t>(), 0x100001);
  const boost::json::array& fits = first.at("partitions").as_array();
  ASSERT_EQ(fits.size(), 3u);
  EXPECT_EQ(fits[0].as_object().at("partition").as_string(), "factory");
  EXPECT_EQ(fits[0].as_object().at("free").to_number<int64_t>(), -1);
  EXPECT_EQ(apps[1]
                .as_object()
                .at("partitions")
                .as_array()[2]
                .as_object()
                .at("free_percent")
                .to_number<double>(),
            50.0);
  EXPECT_EQ(json.at("ota").as_object().at("app_slots").to_number<int64_t>(), 2);
  EXPECT_EQ(json.at("ota").as_object().at("otadata").as_string(), "otadata");
  EXPECT_EQ(json.at("ota").as_object().at("factory").as_string(), "factory");
  EXPECT_EQ(json.at("partitions").as_array().size(), 6u);
}

TEST(PartitionCheck, Warnings_DoNotFail) {
  TempDir dir;
  WriteFile(dir / "t.csv",
            "nvs,data,nvs,,0x4000\notadata,data,ota,,0x2000\nota_0,app,ota_1,,1M\nota_1,app,ota_0,,"
            "1M\n");
  CommandOutput result = RunAloft({"partition", "check", (dir / "t.csv").string(), "--json"});
  EXPECT_EQ(result.exit_code, 0) << result.out;
  const boost::json::object json = ParseJson(result.out).as_object();
  EXPECT_EQ(json.at("ok").as_bool(), true);
  EXPECT_EQ(json.at("warnings").to_number<int64_t>(), 2);
  EXPECT_EQ(json.at("findings").as_array()[0].as_object().at("rule").as_string(), "B4");
}

// ---- usage and file errors ----

TEST(PartitionCli, MissingInput_Exit1NamingThePath) {
  TempDir dir;
  const std::string missing = (dir / "nope.csv").string();
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"partition", "gen", missing, "-o", (dir / "o").string()},
           {"partition", "show", missing},
           {"partition", "check", missing}}) {
    CommandOutput result = RunAloft(args);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_TRUE(Contains(result.err, "cannot read " + missing)) << result.err;
  }
  CommandOutput app =
      RunAloft({"partition", "check", Vector("idf_factory_two_ota.csv"), "--app", missing});
  EXPECT_EQ(app.exit_code, 1);
  EXPECT_TRUE(Contains(app.err, missing));
}

TEST(PartitionCli, BadFlagValues_AreUsageErrors) {
  TempDir dir;
  const std::string csv = Vector("tutorial_blank_offsets.csv");
  const std::string out = (dir / "o.bin").string();
  CommandOutput flash = RunAloft({"partition", "gen", csv, "-o", out, "--flash-size", "3MB"});
  EXPECT_EQ(flash.exit_code, 2);
  EXPECT_TRUE(Contains(flash.err, "3MB")) << flash.err;
  EXPECT_TRUE(Contains(flash.err, "128MB")) << flash.err;
  EXPECT_EQ(RunAloft({"partition", "gen", csv, "-o", out, "--offset", "zz"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"partition", "gen", csv, "-o", out, "--offset", "0x100000000"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"partition", "gen", csv, "-o", out, "--secure", "v3"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"partition", "gen", csv}).exit_code, 2);
  EXPECT_EQ(RunAloft({"partition", "check", csv, "--headroom", "200"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"partition"}).exit_code, 2);
  EXPECT_FALSE(std::filesystem::exists(out));
}

TEST(PartitionCli, Help_AtEveryLevel) {
  CommandOutput group = RunAloft({"partition", "--help"});
  EXPECT_EQ(group.exit_code, 0);
  for (const char* command : {"gen", "show", "check"}) {
    EXPECT_TRUE(Contains(group.out, command)) << group.out;
    CommandOutput help = RunAloft({"partition", command, "--help"});
    EXPECT_EQ(help.exit_code, 0) << command;
    EXPECT_TRUE(Contains(help.out, "--offset")) << help.out;
    EXPECT_TRUE(Contains(help.out, "--flash-size")) << help.out;
  }
  EXPECT_TRUE(Contains(RunAloft({"partition", "check", "--help"}).out, "--headroom"));
  EXPECT_TRUE(Contains(RunAloft({"partition", "show", "--help"}).out, "--json"));
}

}  // namespace
}  // namespace aloft
