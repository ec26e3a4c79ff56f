// `aloft image info` end to end: the real binary on the golden vectors.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>
#include <vector>

#include "support/run_command.h"
#include "support/vectors.h"

namespace aloft {
namespace {

using ::aloft::testing::RunAloft;
using ::aloft::testing::VectorPath;

boost::json::object ParseObject(const std::string& text) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(text, error);
  EXPECT_FALSE(error) << error.message() << "\n" << text;
  if (const boost::json::object* object = value.if_object()) {
    return *object;
  }
  ADD_FAILURE() << "not a JSON object: " << text;
  return {};
}

std::string Vector(const char* relative) { return VectorPath(relative).string(); }

// A member of a JSON object; a missing one fails the test and reads as null (no throwing at()).
const boost::json::value& Key(const boost::json::value& object, const char* key) {
  static const boost::json::value kNull;
  const boost::json::object* fields = object.if_object();
  const boost::json::value* found = fields != nullptr ? fields->if_contains(key) : nullptr;
  if (found == nullptr) {
    ADD_FAILURE() << "no key " << key;
    return kNull;
  }
  return *found;
}
const boost::json::value& Key(const boost::json::object& object, const char* key) {
  const boost::json::value* found = object.if_contains(key);
  if (found == nullptr) {
    static const boost::json::value kNull;
    ADD_FAILURE() << "no key " << key;
    return kNull;
  }
  return *found;
}
// The array at `value`, or an empty one (failing the test).
const boost::json::array& Array(const boost::json::value& value) {
  static const boost::json::array kEmpty;
  if (const boost::json::array* array = value.if_array()) {
    return *array;
  }
  ADD_FAILURE() << "not an array: " << boost::json::serialize(value);
  return kEmpty;
}

TEST(ImageInfoCli, ValidImage_HumanOutputLikeEsptool) {
  const auto run = RunAloft({"image", "info", Vector("app-image/images/esp32c3_app.bin")});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(run.err, "");
  for (const char* line : {
           "Detected image type: ESP32-C3\n",
           "Chip ID: 5 (ESP32-C3)\n",
           "Minimal chip revision: v0.3, (legacy min_rev = 0)\n",
           "Maximal chip revision: v1.99\n",
           "      1  0x00600  0x3fc8a000  0x00000d00  DRAM, BYTE_ACCESSIBLE\n",
           "      3  0x00010  0x50000000  0x00003710  RTC_IRAM, RTC_DRAM\n",
           "      4  0x0c8e8  0x00000000  0x00003728  PADDING\n",
           "Checksum: 0x7f (valid)\n",
           "Validation hash: 7935b9ac134073b9ff118c324f4646062be58594d5277c5cc432e5e6651f945b "
           "(valid)\n",
           "App version: 2.3.4-rc1\n",
           "Compile time: Mar 14 2025 08:30:15\n",
           "Maximal eFuse block revision: 1.99\n",
           "Secure version: 2\n",
           "Verdict: valid\n",
       }) {
    EXPECT_NE(run.out.find(line), std::string::npos) << "missing: " << line << "in\n" << run.out;
  }
}

TEST(ImageInfoCli, ValidImage_SegmentsAndFooterMatchEsptoolImageInfo) {
  // Our segment table and footer lines are esptool's, byte for byte.
  for (const char* stem :
       {"app-image/images/esp32_app", "app-image/images/esp32c6_app_mmu32k",
        "real-firmware/gimhan_s3_tml", "real-firmware/erisdar_esp32_hello_world"}) {
    SCOPED_TRACE(stem);
    const auto run = RunAloft({"image", "info", Vector((std::string(stem) + ".bin").c_str())});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    const std::string esptool =
        testing::ReadText(VectorPath(std::string(stem) + ".image_info.txt"));
    const auto slice = [](const std::string& text, const std::string& from, const std::string& to) {
      const size_t begin = text.find(from);
      const size_t end = text.find(to, begin);
      return begin == std::string::npos ? std::string() : text.substr(begin, end - begin);
    };
    const std::string segments = slice(esptool, "Segments Information", "\n\n");
    ASSERT_FALSE(segments.empty());
    EXPECT_EQ(slice(run.out, "Segments Information", "\n\n"), segments);
    EXPECT_EQ(slice(run.out, "Checksum:", "\n"), slice(esptool, "Checksum:", "\n"));
    EXPECT_EQ(slice(run.out, "Validation hash:", "\n"), slice(esptool, "Validation hash:", "\n"));
    EXPECT_EQ(slice(run.out, "Project name:", "\nSecure version"),
              slice(esptool, "Project name:", "\nSecure version"));
  }
}

TEST(ImageInfoCli, Json_RequiredKeysAndValues) {
  const auto run =
      RunAloft({"image", "info", "--json", Vector("app-image/images/esp32c3_app.bin")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const boost::json::object json = ParseObject(run.out);
  EXPECT_EQ(Key(json, "valid"), true);
  EXPECT_FALSE(json.contains("error"));
  EXPECT_EQ(Key(json, "chip"), "esp32c3");
  EXPECT_EQ(Key(json, "chip_id"), 5);
  EXPECT_EQ(Key(json, "version"), "2.3.4-rc1");
  EXPECT_EQ(Key(json, "project_name"), "aloft_vec_c3");
  EXPECT_EQ(Key(json, "secure_version"), 2);
  EXPECT_EQ(Key(json, "idf_ver"), "v5.5.5");
  EXPECT_EQ(Key(json, "segments"), 6);
  EXPECT_EQ(Key(json, "checksum_ok"), true);
  EXPECT_EQ(Key(json, "sha256_ok"), true);
  EXPECT_EQ(Key(json, "sha256"),
            "7935b9ac134073b9ff118c324f4646062be58594d5277c5cc432e5e6651f945b");
  EXPECT_EQ(Key(json, "size"), 77904);
  // Documented extras.
  EXPECT_EQ(Key(json, "image_len"), 77904);
  EXPECT_EQ(Key(json, "min_chip_rev_full"), 3);
  EXPECT_EQ(Key(json, "max_chip_rev_full"), 199);
  EXPECT_EQ(Key(json, "hash_appended"), true);
  EXPECT_EQ(Key(json, "date"), "Mar 14 2025");
  EXPECT_EQ(Key(json, "time"), "08:30:15");
  EXPECT_EQ(Key(json, "mmu_page_size"), 65536);
  EXPECT_EQ(Key(json, "app_elf_sha256"),
            "1434e3966fad002690c5a6c3b79d29f56e9e634fbf1be1452fd52f51b5a02e00");
  const boost::json::array& table = Array(Key(json, "segment_table"));
  ASSERT_EQ(table.size(), 6u);
  EXPECT_EQ(Key(table[5], "load_addr"), 0x42000020);
  EXPECT_EQ(Key(table[5], "header_offset"), 0x10018);
  EXPECT_EQ(Key(table[5], "data_len"), 12288);
  ASSERT_EQ(Array(Key(table[5], "memory_types")).size(), 1u);
  EXPECT_EQ(Array(Key(table[5], "memory_types"))[0], "IROM");
}

TEST(ImageInfoCli, Json_SignedFile_SizeIsFileAndTrailingCounted) {
  const auto run = RunAloft(
      {"image", "info", "--json", Vector("app-image/signed/esp32_app.signed_rsa0_4kpad.bin")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const boost::json::object json = ParseObject(run.out);
  EXPECT_EQ(Key(json, "size"), 81920);
  EXPECT_EQ(Key(json, "image_len"), 73808);
  EXPECT_EQ(Key(json, "trailing_len"), 81920 - 73808);
}

TEST(ImageInfoCli, Json_NoDigest_ShaKeysNull) {
  const auto run =
      RunAloft({"image", "info", "--json", Vector("app-image/images/esp32_app_nodigest.bin")});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const boost::json::object json = ParseObject(run.out);
  EXPECT_EQ(Key(json, "valid"), true);
  EXPECT_EQ(Key(json, "hash_appended"), false);
  EXPECT_TRUE(Key(json, "sha256").is_null());
  EXPECT_TRUE(Key(json, "sha256_ok").is_null());
}

struct InvalidCase {
  const char* vector;
  const char* error;
  bool checksum_ok;
  bool sha256_ok;
};

TEST(ImageInfoCli, InvalidImages_Exit1_JsonNamesTheCheck) {
  const InvalidCase kCases[] = {
      {"app-image/images/esp32_app.flip_segment_byte.bin",
       "app image: checksum mismatch (at 73775)", false, false},
      {"app-image/images/esp32_app.flip_stored_sha256.bin", "app image: sha256 mismatch (at 73776)",
       true, false},
      {"app-image/images/esp32c3_app.header_flash_size_changed.bin",
       "app image: sha256 mismatch (at 77872)", true, false},
  };
  for (const InvalidCase& c : kCases) {
    SCOPED_TRACE(c.vector);
    const auto run = RunAloft({"image", "info", "--json", Vector(c.vector)});
    EXPECT_EQ(run.exit_code, 1);
    const boost::json::object json = ParseObject(run.out);
    EXPECT_EQ(Key(json, "valid"), false);
    EXPECT_EQ(Key(json, "error"), c.error);
    EXPECT_EQ(Key(json, "error_code"), "data_loss");
    EXPECT_EQ(Key(json, "checksum_ok"), c.checksum_ok);
    EXPECT_EQ(Key(json, "sha256_ok"), c.sha256_ok);
    EXPECT_EQ(Key(json, "project_name").is_string(), true);  // the info is still printed
    EXPECT_EQ(run.err, "aloft: " + Vector(c.vector) + ": " + c.error + "\n");
  }
}

TEST(ImageInfoCli, BadMagic_Exit1_HeaderStillShown) {
  const std::string path = Vector("app-image/images/esp32_app.bad_magic.bin");
  const auto run = RunAloft({"image", "info", "--json", path});
  EXPECT_EQ(run.exit_code, 1);
  const boost::json::object json = ParseObject(run.out);
  EXPECT_EQ(Key(json, "valid"), false);
  EXPECT_EQ(Key(json, "error"), "app image: invalid magic byte (at 0)");
  EXPECT_EQ(Key(json, "magic"), 0xE8);
  EXPECT_EQ(Key(json, "chip"), "esp32");
  EXPECT_TRUE(Key(json, "segment_table").is_null());
  EXPECT_TRUE(Key(json, "version").is_null());
  EXPECT_EQ(Key(json, "size"), 73808);

  const auto text = RunAloft({"image", "info", path});
  EXPECT_EQ(text.exit_code, 1);
  EXPECT_NE(text.out.find("Magic: 0xe8 (invalid)\n"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Verdict: invalid: app image: invalid magic byte (at 0)\n"),
            std::string::npos);
}

TEST(ImageInfoCli, SegmentCount17_Exit1) {
  const auto run = RunAloft(
      {"image", "info", "--json", Vector("app-image/images/esp32_app.segment_count_17.bin")});
  EXPECT_EQ(run.exit_code, 1);
  const boost::json::object json = ParseObject(run.out);
  EXPECT_EQ(Key(json, "error"), "app image: segment_count exceeds 16 (at 1)");
  EXPECT_EQ(Key(json, "segments"), 17);
}

TEST(ImageInfoCli, EveryValidVector_Exit0) {
  for (const char* folder : {"app-image/images", "real-firmware"}) {
    for (const auto& path : testing::VectorFiles(folder, ".bin")) {
      const std::string name = path.filename().string();
      const bool corrupt = name.find("app.bad_magic") != std::string::npos ||
                           name.find(".flip_") != std::string::npos ||
                           name.find("header_flash_size_changed") != std::string::npos ||
                           name.find("segment_count_17") != std::string::npos;
      EXPECT_EQ(RunAloft({"image", "info", path.string()}).exit_code, corrupt ? 1 : 0) << name;
    }
  }
}

TEST(ImageInfoCli, ChipAndSlotRequirements) {
  const std::string path = Vector("app-image/images/esp32_app.bin");  // 73808 bytes
  const auto wrong_chip = RunAloft({"image", "info", "--chip", "ESP32-C3", path});
  EXPECT_EQ(wrong_chip.exit_code, 1);
  EXPECT_EQ(wrong_chip.err, "aloft: " + path + ": app image: built for another chip (at 12)\n");
  EXPECT_EQ(RunAloft({"image", "info", "--chip", "esp32", path}).exit_code, 0);

  EXPECT_EQ(RunAloft({"image", "info", "--slot-size", "73808", path}).exit_code, 0);
  const auto small = RunAloft({"image", "info", "--slot-size", "0x10000", path});
  EXPECT_EQ(small.exit_code, 1);
  EXPECT_EQ(small.err, "aloft: " + path +
                           ": app image: does not fit the slot: it needs 73808 bytes, the slot "
                           "has 65536\n");
  const auto nodigest = RunAloft(
      {"image", "info", "--require-hash", Vector("app-image/images/esp32_app_nodigest.bin")});
  EXPECT_EQ(nodigest.exit_code, 1);
  EXPECT_NE(nodigest.err.find("app image: no appended sha256"), std::string::npos);
}

TEST(ImageInfoCli, MissingFile_Exit1_NamesPath) {
  const auto run = RunAloft({"image", "info", "/nonexistent/app.bin"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_EQ(run.err, "aloft: cannot read /nonexistent/app.bin: No such file or directory\n");
}

TEST(ImageInfoCli, UsageErrors_Exit2) {
  EXPECT_EQ(RunAloft({"image", "info"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"image"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"image", "info", "--chip", "esp8266", "x.bin"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"image", "info", "--bogus", "x.bin"}).exit_code, 2);
  const auto bad_size = RunAloft({"image", "info", "--slot-size", "lots", "x.bin"});
  EXPECT_EQ(bad_size.exit_code, 2);
  EXPECT_EQ(bad_size.err, "aloft: --slot-size: not a size in bytes: lots\n");
}

TEST(ImageInfoCli, Help_AtEveryLevel) {
  const auto image = RunAloft({"image", "--help"});
  EXPECT_EQ(image.exit_code, 0);
  EXPECT_NE(image.out.find("info"), std::string::npos);
  const auto info = RunAloft({"image", "info", "--help"});
  EXPECT_EQ(info.exit_code, 0);
  for (const char* flag : {"--json", "--chip", "--slot-size", "--require-hash"}) {
    EXPECT_NE(info.out.find(flag), std::string::npos) << flag;
  }
}

}  // namespace
}  // namespace aloft
