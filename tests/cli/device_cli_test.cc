// `aloft flash build|inspect` and `aloft device boot|install|confirm|reject` end to end: the
// real binary on real files (the tutorial's partition table, real ESP-IDF firmware, esptool
// images), as a user would watch an update, a rollback and a power cut.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "support/run_command.h"
#include "support/vectors.h"

namespace aloft {
namespace {

using testing::CommandOutput;
using testing::ReadBinary;
using testing::RunAloft;
using testing::TempDir;
using testing::VectorPath;

std::string Vector(const std::string& file) { return VectorPath(file).string(); }
const std::string kTutorial = "partition-table/tutorial_blank_offsets.csv";
const std::string kEsp32Hello = "real-firmware/erisdar_esp32_hello_world.bin";
const std::string kEsp32App = "app-image/images/esp32_app.bin";  // version 1.0.0

boost::json::value Json(const CommandOutput& output) {
  boost::system::error_code error;
  boost::json::value value = boost::json::parse(output.out, error);
  EXPECT_FALSE(error) << output.out << output.err;
  return value;
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string Str(const boost::json::value& value, const char* key) {
  const boost::json::value* field = value.as_object().if_contains(key);
  return field != nullptr && field->is_string() ? std::string(field->as_string()) : "<none>";
}

void Patch(const std::filesystem::path& path, size_t offset, std::byte value) {
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(offset));
  const char c = static_cast<char>(value);
  file.write(&c, 1);
}

class DeviceCli : public ::testing::Test {
 protected:
  // A tutorial-table flash with the real esp32 hello_world in ota_0, booted once.
  std::string Flash(const std::string& app = kEsp32Hello, bool boot = true) {
    const std::string flash = (dir_ / "flash.bin").string();
    CommandOutput built = RunAloft(
        {"flash", "build", "-o", flash, "--table", Vector(kTutorial), "--app", Vector(app)});
    EXPECT_EQ(built.exit_code, 0) << built.err;
    if (boot) {
      CommandOutput booted = RunAloft({"device", "boot", "--flash", flash});
      EXPECT_EQ(booted.exit_code, 0) << booted.err;
    }
    return flash;
  }
  boost::json::value Boot(const std::string& flash) {
    CommandOutput output = RunAloft({"device", "boot", "--flash", flash, "--json"});
    EXPECT_EQ(output.exit_code, 0) << output.err;
    return Json(output);
  }
  boost::json::value Inspect(const std::string& flash, int expected_exit = 0) {
    CommandOutput output = RunAloft({"flash", "inspect", flash, "--json"});
    EXPECT_EQ(output.exit_code, expected_exit) << output.err;
    return Json(output);
  }
  std::string Diagnosis(const std::string& flash, int expected_exit = 0) {
    const boost::json::value inspect = Inspect(flash, expected_exit);
    std::string text;
    for (const boost::json::value& line : inspect.at("diagnosis").as_array()) {
      text += std::string(line.as_string()) + "\n";
    }
    return text;
  }

  TempDir dir_;
};

// ---- flash build ----

TEST_F(DeviceCli, FlashBuild_TutorialTable_TableAppAndErasedEverythingElse) {
  const std::string flash = Flash(kEsp32Hello, /*boot=*/false);
  const std::vector<std::byte> bytes = ReadBinary(flash);
  ASSERT_EQ(bytes.size(), 0x400000u);
  const std::vector<std::byte> table =
      ReadBinary(VectorPath("partition-table/tutorial_blank_offsets.bin"));
  EXPECT_TRUE(std::equal(table.begin(), table.end(), bytes.begin() + 0x8000));
  const std::vector<std::byte> app = ReadBinary(VectorPath(kEsp32Hello));
  EXPECT_TRUE(std::equal(app.begin(), app.end(), bytes.begin() + 0x10000));
  const auto erased = [&](size_t from, size_t to) {
    return std::all_of(bytes.begin() + static_cast<std::ptrdiff_t>(from),
                       bytes.begin() + static_cast<std::ptrdiff_t>(to),
                       [](std::byte b) { return b == std::byte{0xFF}; });
  };
  EXPECT_TRUE(erased(0, 0x8000));
  EXPECT_TRUE(erased(0x8000 + table.size(), 0x10000));  // otadata at 0xd000 is blank
  EXPECT_TRUE(erased(0x10000 + app.size(), bytes.size()));
  EXPECT_FALSE(std::filesystem::exists(flash + ".device.json"));
}

TEST_F(DeviceCli, FlashBuild_FactoryTable_AppGoesToFactory) {
  const std::string flash = (dir_ / "f.bin").string();
  CommandOutput built =
      RunAloft({"flash", "build", "-o", flash, "--table",
                Vector("partition-table/idf_factory_two_ota.bin"), "--app", Vector(kEsp32App)});
  ASSERT_EQ(built.exit_code, 0) << built.err;
  EXPECT_TRUE(Contains(built.out, "in factory (factory) at 0x10000")) << built.out;
  const boost::json::value inspect = Inspect(flash);
  EXPECT_EQ(Str(inspect.at("boot").at("rollback"), "slot"), "factory");
  EXPECT_EQ(inspect.at("slots").as_array().size(), 3u);
}

TEST_F(DeviceCli, FlashBuild_Refusals_Exit1NamingTheProblem) {
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::string out = (dir_ / "x.bin").string();
  const std::vector<Case> cases = {
      {{"--table", Vector("partition-table/ota16_slots.csv"), "--app",
        Vector("real-firmware/gimhan_s3_tml.bin")},
       "does not fit ota_0 (ota_0): the image needs 237280 bytes, the slot has 196608"},
      {{"--table", Vector(kTutorial), "--app", Vector("app-image/images/esp32_app.bad_magic.bin")},
       "app image: invalid magic byte"},
      {{"--table", Vector(kTutorial), "--app",
        Vector("app-image/images/esp32_app.flip_segment_byte.bin")},
       "app image: checksum mismatch"},
      {{"--table", Vector("partition-table/err_overlap_explicit.csv"), "--app", Vector(kEsp32App)},
       "err_overlap_explicit.csv"},
      {{"--table", Vector(kTutorial), "--app", Vector(kEsp32App), "--flash-size", "1MB"},
       "partition app1: partition table: does not fit in the flash size"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"flash", "build", "-o", out};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CommandOutput result = RunAloft(args);
    SCOPED_TRACE(result.err);
    EXPECT_EQ(result.exit_code, 1);
    EXPECT_TRUE(Contains(result.err, c.message));
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1);
    EXPECT_FALSE(std::filesystem::exists(out));
  }
}

TEST_F(DeviceCli, FlashInspect_RealFirmware_ChipProjectVersionAndFirstBoot) {
  struct Case {
    std::string file;
    std::string chip;
    std::string project;
    std::string version;
  };
  const Case cases[] = {
      {"real-firmware/erisdar_esp32_hello_world.bin", "esp32", "hello_world", "6970792-dirty"},
      {"real-firmware/qgb_c3_hello_world.bin", "esp32c3", "hello_world", ""},
      {"real-firmware/gimhan_s3_tml.bin", "esp32s3", "tml_esp32s3", ""},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.file);
    const std::string flash = Flash(c.file, /*boot=*/false);
    const boost::json::value inspect = Inspect(flash);
    const boost::json::value& slot0 = inspect.at("slots").at(0);
    EXPECT_EQ(Str(slot0, "slot"), "ota_0");
    EXPECT_EQ(Str(slot0, "label"), "app0");
    EXPECT_TRUE(slot0.at("valid").as_bool());
    EXPECT_EQ(Str(slot0, "chip"), c.chip);
    EXPECT_EQ(Str(slot0, "project"), c.project);
    if (!c.version.empty()) {
      EXPECT_EQ(Str(slot0, "version"), c.version);
    }
    EXPECT_TRUE(inspect.at("slots").at(1).at("empty").as_bool());
    EXPECT_EQ(Str(inspect.at("boot").at("rollback"), "slot"), "ota_0");
    EXPECT_EQ(Str(inspect.at("boot").at("no_rollback"), "slot"), "ota_0");
    EXPECT_EQ(inspect.at("otadata").at("entries").at(0).at("erased").as_bool(), true);
    EXPECT_TRUE(Contains(Diagnosis(flash), "otadata is blank"));
    // Booting the device learns its chip from the image.
    const boost::json::value boot = Boot(flash);
    EXPECT_EQ(Str(boot, "chip"), c.chip);
    EXPECT_EQ(Str(boot, "slot"), "ota_0");
    EXPECT_EQ(Str(boot, "state"), "valid");
    EXPECT_TRUE(Contains(Diagnosis(flash), "healthy: the device boots ota_0 (valid)"));
  }
}

TEST_F(DeviceCli, FlashInspect_TextOutput_ShowsEverySection) {
  const std::string flash = Flash();
  CommandOutput output = RunAloft({"flash", "inspect", flash});
  ASSERT_EQ(output.exit_code, 0) << output.err;
  for (const char* part : {"partitions:", "app0", "otadata: at 0xd000",
                           "sector 0: seq 1, state valid, crc ok, selects ota_0 (active)",
                           "sector 1: erased", "esp32 hello_world 6970792-dirty, valid",
                           "boot (rollback enabled):  ota_0 (app0)", "diagnosis:"}) {
    EXPECT_TRUE(Contains(output.out, part)) << part << "\n" << output.out;
  }
}

// ---- device ----

TEST_F(DeviceCli, InstallBootBootWithoutConfirm_RollsBack) {
  const std::string flash = Flash();
  CommandOutput install = RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App)});
  ASSERT_EQ(install.exit_code, 0) << install.err;
  EXPECT_TRUE(Contains(install.out, "installed 1.0.0 into ota_1 (app1), otadata state new"));
  EXPECT_TRUE(Contains(install.out, "ops: 40")) << install.out;

  const boost::json::value first = Boot(flash);
  EXPECT_EQ(Str(first, "slot"), "ota_1");
  EXPECT_EQ(Str(first, "label"), "app1");
  EXPECT_EQ(Str(first, "state"), "pending_verify");
  EXPECT_EQ(Str(first, "version"), "1.0.0");
  EXPECT_FALSE(first.at("rolled_back").as_bool());
  EXPECT_TRUE(Contains(Diagnosis(flash),
                       "ota_1 is PENDING_VERIFY: the new firmware has not "
                       "confirmed itself; the next reset rolls back to ota_0"));

  const boost::json::value second = Boot(flash);
  EXPECT_EQ(Str(second, "slot"), "ota_0");
  EXPECT_EQ(Str(second, "version"), "6970792-dirty");
  EXPECT_TRUE(second.at("rolled_back").as_bool());
  EXPECT_TRUE(Contains(Diagnosis(flash), "ota_1 was abandoned (ABORTED"));
}

TEST_F(DeviceCli, InstallBootConfirm_NewFirmwareStays) {
  const std::string flash = Flash();
  ASSERT_EQ(RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App)}).exit_code, 0);
  EXPECT_EQ(Str(Boot(flash), "state"), "pending_verify");
  CommandOutput confirm = RunAloft({"device", "confirm", "--flash", flash});
  ASSERT_EQ(confirm.exit_code, 0) << confirm.err;
  EXPECT_TRUE(Contains(confirm.out, "confirmed ota_1 (app1): state valid"));
  for (int i = 0; i < 2; ++i) {
    const boost::json::value boot = Boot(flash);
    EXPECT_EQ(Str(boot, "slot"), "ota_1");
    EXPECT_EQ(Str(boot, "state"), "valid");
    EXPECT_EQ(Str(boot, "version"), "1.0.0");
    EXPECT_FALSE(boot.at("rolled_back").as_bool());
  }
}

TEST_F(DeviceCli, Reject_NextBootRollsBack) {
  const std::string flash = Flash();
  ASSERT_EQ(RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App)}).exit_code, 0);
  Boot(flash);
  CommandOutput reject = RunAloft({"device", "reject", "--flash", flash});
  ASSERT_EQ(reject.exit_code, 0) << reject.err;
  EXPECT_TRUE(Contains(Diagnosis(flash), "ota_1 was rejected by its firmware (INVALID)"));
  const boost::json::value boot = Boot(flash);
  EXPECT_EQ(Str(boot, "slot"), "ota_0");
  EXPECT_TRUE(boot.at("rolled_back").as_bool());
}

TEST_F(DeviceCli, CutPowerAtEveryFewOps_Exit3AndTheNextBootWorks) {
  for (const bool tear : {false, true}) {
    for (int op = 1; op <= 40; op += 3) {
      SCOPED_TRACE(std::to_string(op) + (tear ? " torn" : " clean"));
      const std::string flash = Flash();
      std::vector<std::string> args = {
          "device",          "install",        "--flash",          flash,
          Vector(kEsp32App), "--cut-power-at", std::to_string(op), "--json"};
      if (tear) {
        args.push_back("--tear");
      }
      CommandOutput cut = RunAloft(args);
      EXPECT_EQ(cut.exit_code, 3) << cut.err;
      EXPECT_EQ(Json(cut).at("ops").as_int64(), op);
      const boost::json::value boot = Boot(flash);
      EXPECT_TRUE(Str(boot, "slot") == "ota_0" || Str(boot, "version") == "1.0.0");
      // The device can still be updated.
      CommandOutput retry = RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App)});
      EXPECT_EQ(retry.exit_code, Str(boot, "state") == "pending_verify" ? 1 : 0) << retry.err;
    }
  }
}

TEST_F(DeviceCli, CutPowerDuringTheImage_InspectSaysTruncated) {
  const std::string flash = Flash();
  CommandOutput cut =
      RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App), "--cut-power-at", "12"});
  ASSERT_EQ(cut.exit_code, 3);
  EXPECT_TRUE(Contains(cut.out, "power cut before op 12"));
  EXPECT_TRUE(Contains(Diagnosis(flash), "ota_1 image truncated at 0x5000"));
  EXPECT_EQ(Str(Boot(flash), "slot"), "ota_0");
}

TEST_F(DeviceCli, InspectDiagnoses_BadCrcAndBrickedDevice) {
  const std::string flash = Flash();
  ASSERT_EQ(RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App)}).exit_code, 0);
  // Corrupt the seq of sector 1 (the new entry): as if its write had been torn.
  Patch(flash, 0xE000, std::byte{0x00});
  EXPECT_TRUE(Contains(Diagnosis(flash),
                       "otadata sector 1 has a bad CRC: a write was interrupted; the device "
                       "boots ota_0"));
  // Erase both images' headers: nothing can boot.
  Patch(flash, 0x10000, std::byte{0x00});
  Patch(flash, 0x190000, std::byte{0x00});
  EXPECT_TRUE(
      Contains(Diagnosis(flash, /*expected_exit=*/1), "no bootable image: the device is bricked"));
  CommandOutput boot = RunAloft({"device", "boot", "--flash", flash});
  EXPECT_EQ(boot.exit_code, 1);
  EXPECT_TRUE(Contains(boot.err, "no bootable image: the device is bricked"));
}

TEST_F(DeviceCli, InstallRefusals_Exit1AndOldFirmwareBoots) {
  const std::string fresh = Flash(kEsp32Hello, /*boot=*/false);
  CommandOutput unbooted = RunAloft({"device", "install", "--flash", fresh, Vector(kEsp32App)});
  EXPECT_EQ(unbooted.exit_code, 1);
  EXPECT_TRUE(Contains(unbooted.err, "the device is not running any firmware yet"));

  const std::string flash = Flash();
  CommandOutput wrong_chip = RunAloft(
      {"device", "install", "--flash", flash, Vector("real-firmware/qgb_c3_hello_world.bin")});
  EXPECT_EQ(wrong_chip.exit_code, 1);
  EXPECT_TRUE(Contains(wrong_chip.err, "built for esp32c3, but the device runs an esp32 image"))
      << wrong_chip.err;
  CommandOutput corrupt = RunAloft({"device", "install", "--flash", flash,
                                    Vector("app-image/images/esp32_app.flip_stored_sha256.bin")});
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_TRUE(Contains(corrupt.err, "app image: sha256 mismatch")) << corrupt.err;
  const boost::json::value boot = Boot(flash);
  EXPECT_EQ(Str(boot, "slot"), "ota_0");
  EXPECT_FALSE(boot.at("rolled_back").as_bool());
}

TEST_F(DeviceCli, NoRollback_NewImageStaysWithoutConfirm) {
  const std::string flash = Flash(kEsp32Hello, /*boot=*/false);
  ASSERT_EQ(RunAloft({"device", "boot", "--flash", flash, "--no-rollback"}).exit_code, 0);
  ASSERT_EQ(RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App)}).exit_code, 0);
  for (int i = 0; i < 2; ++i) {
    const boost::json::value boot = Boot(flash);
    EXPECT_EQ(Str(boot, "slot"), "ota_1");
    EXPECT_EQ(Str(boot, "state"), "undefined");
  }
}

TEST_F(DeviceCli, Esp32c3Device_InstallsAnEsp32c3Image) {
  const std::string flash = Flash("real-firmware/qgb_c3_hello_world.bin");
  CommandOutput install =
      RunAloft({"device", "install", "--flash", flash, Vector("app-image/images/esp32c3_app.bin")});
  ASSERT_EQ(install.exit_code, 0) << install.err;
  const boost::json::value boot = Boot(flash);
  EXPECT_EQ(Str(boot, "chip"), "esp32c3");
  EXPECT_EQ(Str(boot, "version"), "2.3.4-rc1");
}

TEST_F(DeviceCli, SecureBoot_UnsignedInstallRefused) {
  const std::string flash =
      Flash("app-image/signed/esp32_app.signed_rsa0_4kpad.bin", /*boot=*/false);
  const std::string digest =
      "3d2cb6b92fa6f7586827b7a5f35907fac48affeb5b3601a4683b97e9d5229f70";  // rsa3072_key0
  ASSERT_EQ(RunAloft({"device", "boot", "--flash", flash, "--trust-key-digest", digest}).exit_code,
            0);
  CommandOutput unsigned_install =
      RunAloft({"device", "install", "--flash", flash, Vector(kEsp32App)});
  EXPECT_EQ(unsigned_install.exit_code, 1);
  // Its declared size leaves no room for the signature sector a secure-boot device requires.
  EXPECT_TRUE(Contains(unsigned_install.err, "esp32_app.bin: app image: declared size shorter"))
      << unsigned_install.err;
  CommandOutput bad_signature =
      RunAloft({"device", "install", "--flash", flash,
                Vector("app-image/signed/neg_rsa0_sig_byte_flipped_crc_fixed.bin")});
  EXPECT_EQ(bad_signature.exit_code, 1);
  EXPECT_TRUE(Contains(bad_signature.err, "signature: signature does not verify"))
      << bad_signature.err;
  CommandOutput signed_install =
      RunAloft({"device", "install", "--flash", flash,
                Vector("app-image/signed/esp32_app_securepad.signed_rsa0.bin")});
  EXPECT_EQ(signed_install.exit_code, 0) << signed_install.err;
  EXPECT_EQ(Str(Boot(flash), "slot"), "ota_1");
}

TEST_F(DeviceCli, Sidecar_IsDocumentedJsonBesideTheFlash) {
  const std::string flash = Flash();
  const std::string text = testing::ReadText(flash + ".device.json");
  for (const char* part : {"\"format\": 1", "\"chip\": \"esp32\"", "\"running\": \"ota_0\"",
                           "\"rollback\": true", "\"efuse_secure_version\": 0"}) {
    EXPECT_TRUE(Contains(text, part)) << text;
  }
  std::ofstream(flash + ".device.json") << "{\"format\": 9}";
  CommandOutput bad = RunAloft({"device", "boot", "--flash", flash});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(Contains(bad.err, ".device.json: unsupported sidecar format")) << bad.err;
}

TEST_F(DeviceCli, Help_AtEveryLevel) {
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"device", "--help"},
                                             {"device", "boot", "--help"},
                                             {"device", "install", "--help"},
                                             {"device", "confirm", "--help"},
                                             {"device", "reject", "--help"},
                                             {"flash", "--help"},
                                             {"flash", "build", "--help"},
                                             {"flash", "inspect", "--help"}}) {
    CommandOutput help = RunAloft(args);
    EXPECT_EQ(help.exit_code, 0);
    EXPECT_TRUE(Contains(help.out, "--")) << help.out;
  }
  EXPECT_EQ(RunAloft({"device", "boot"}).exit_code, 2);
  EXPECT_EQ(RunAloft({"device", "install", "--flash", "x", "y", "--tear"}).exit_code, 2);
}

}  // namespace
}  // namespace aloft
