// End to end through the real `aloft` binary: `aloft image make-test` makes valid ESP app
// images carrying their self-test marker, and `aloft device run` is one emulated device (the
// flash file of `aloft flash build`) talking to an aloftd started in-process over real TLS:
// it updates and confirms, rolls back when its self-test fails, refuses a server whose
// certificate does not chain to its pinned CA, and says what is missing on usage errors.

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "emulator/test_image.h"
#include "support/aloftd_harness.h"
#include "support/run_command.h"

namespace aloft::cli {
namespace {

using testing::AloftdHarness;
using testing::Backend;
using testing::CommandOutput;
using testing::DeviceCredentials;
using testing::ParseJson;
using testing::RunAloft;
using testing::SignedRelease;
using testing::TempDir;

constexpr const char* kTable =
    "# Name, Type, SubType, Offset, Size\n"
    "nvs, data, nvs, , 0x4000\n"
    "otadata, data, ota, , 0x2000\n"
    "phy_init, data, phy, , 0x1000\n"
    "app0, app, ota_0, , 1536K\n"
    "app1, app, ota_1, , 1536K\n";
constexpr uint32_t kOta1 = 0x190000;

std::string HexOf(ConstByteSpan bytes) {
  static const char* digits = "0123456789abcdef";
  std::string text;
  for (std::byte b : bytes) {
    text += digits[static_cast<uint8_t>(b) >> 4];
    text += digits[static_cast<uint8_t>(b) & 15];
  }
  return text;
}

void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

TEST(ImageMakeTest, FailMarker_ValidImageThatSaysItsSelfTestFails) {
  TempDir dir;
  const std::string path = (dir / "app.bin").string();
  CommandOutput out = RunAloft({"image", "make-test", "--version", "1.2.3", "--project", "thermo",
                                "--chip", "esp32c3", "--self-test", "fail", "-o", path});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("thermo 1.2.3 for esp32c3"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("self-test fail"), std::string::npos) << out.out;
  out = RunAloft({"image", "info", path, "--json", "--chip", "esp32c3", "--require-hash"});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_NE(out.out.find("\"1.2.3\""), std::string::npos) << out.out;
  const std::vector<std::byte> image = testing::ReadBinary(path);
  ASSERT_GT(image.size(), emulator::kSelfTestMarkerOffset + emulator::kSelfTestMarkerMaxSize);
  EXPECT_EQ(
      emulator::ParseSelfTestMarker(ConstByteSpan(image).subspan(emulator::kSelfTestMarkerOffset)),
      emulator::SelfTestMode::kFail);
}

TEST(ImageMakeTest, Json_SizeAndDefaults) {
  TempDir dir;
  const std::string path = (dir / "app.bin").string();
  const CommandOutput out = RunAloft({"image", "make-test", "--version", "2.0.0", "--project", "p",
                                      "--chip", "esp32", "--size", "8192", "-o", path, "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const boost::json::value json = ParseJson(out.out);
  EXPECT_EQ(json.at("self_test").as_string(), "pass");
  EXPECT_EQ(json.at("size").as_int64(), static_cast<int64_t>(testing::ReadBinary(path).size()));
  EXPECT_GE(json.at("size").as_int64(), 8192);
  EXPECT_LT(json.at("size").as_int64(), 8192 + 64);
}

TEST(ImageMakeTest, UsageErrors_Exit2AndBadRecipe_Exit1) {
  TempDir dir;
  const std::string path = (dir / "app.bin").string();
  EXPECT_EQ(
      RunAloft({"image", "make-test", "--project", "p", "--chip", "esp32", "-o", path}).exit_code,
      2);
  CommandOutput out = RunAloft(
      {"image", "make-test", "--version", "1", "--project", "p", "--chip", "esp99", "-o", path});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("unknown chip: esp99"), std::string::npos) << out.err;
  out = RunAloft({"image", "make-test", "--version", "1", "--project", "p", "--chip", "esp32",
                  "--self-test", "maybe", "-o", path});
  EXPECT_EQ(out.exit_code, 2);
  out = RunAloft({"image", "make-test", "--version", std::string(40, '9'), "--project", "p",
                  "--chip", "esp32", "-o", path});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("version"), std::string::npos) << out.err;
  EXPECT_FALSE(std::filesystem::exists(path));
}

class DeviceRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ALOFT_START_HARNESS(harness_, Backend::kSqlite);
    ca_ = (dir_ / "ca.pem").string();
    WriteText(ca_, harness_->ca_pem());
    key_path_ = (dir_ / "release.pem").string();
    WriteText(key_path_, key_.PrivatePem().value());
    digest_ = HexOf(key_.key_digest());
    WriteText(dir_ / "partitions.csv", kTable);
    flash_ = (dir_ / "flash.bin").string();
    const std::string v1 = MakeSigned("1.0.0", "pass");
    ASSERT_EQ(RunAloft({"flash", "build", "-o", flash_, "--table",
                        (dir_ / "partitions.csv").string(), "--app", v1})
                  .exit_code,
              0);
    device_ = harness_->Register("dev-1");
  }

  // make-test + sign through the CLI; returns the signed image's path.
  std::string MakeSigned(const std::string& version, const std::string& self_test) {
    const std::string raw = (dir_ / (version + ".bin")).string();
    const std::string signed_path = (dir_ / (version + ".signed.bin")).string();
    EXPECT_EQ(RunAloft({"image", "make-test", "--version", version, "--project", "thermo", "--chip",
                        "esp32c3", "--self-test", self_test, "-o", raw})
                  .exit_code,
              0);
    EXPECT_EQ(RunAloft({"sign", "--key", key_path_, raw, "-o", signed_path}).exit_code, 0);
    return signed_path;
  }

  // Publishes a release made by the CLI and starts a 100% rollout of it.
  void PublishAndRollOut(const std::string& version, const std::string& self_test) {
    const std::string image = MakeSigned(version, self_test);
    const std::string json = (dir_ / (version + ".json")).string();
    ASSERT_EQ(RunAloft({"release", "make", image, "--key", key_path_, "-o", json}).exit_code, 0);
    SignedRelease release;
    release.image = testing::ReadBinary(image);
    release.json = testing::ReadText(json);
    release.sha256 = server::Sha256Hex(release.image);
    release.version = version;
    release.project = "thermo";
    harness_->Publish(key_, release, /*register_key=*/!key_registered_);
    key_registered_ = true;
    harness_->StartRollout(version, 100);
  }

  std::vector<std::string> RunArgs(const std::string& ca, bool with_secret = true) {
    std::vector<std::string> args{
        "device", "run",  "--flash",  flash_,    "--server",    harness_->url(),      "--ca",
        ca,       "--id", device_.id, "--token", device_.token, "--trust-key-digest", digest_,
        "--once"};
    if (with_secret) {
      args.insert(args.end(), {"--secret", device_.secret_hex});
    }
    return args;
  }

  // The first bytes of ota_1 in the flash file.
  std::vector<std::byte> PassiveSlotStart() {
    std::vector<std::byte> flash = testing::ReadBinary(flash_);
    return std::vector<std::byte>(flash.begin() + kOta1, flash.begin() + kOta1 + 4096);
  }

  TempDir dir_;
  std::unique_ptr<AloftdHarness> harness_;
  host::ReleaseKey key_ = host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  bool key_registered_ = false;
  std::string ca_;
  std::string key_path_;
  std::string digest_;
  std::string flash_;
  DeviceCredentials device_;
};

TEST_F(DeviceRunTest, OfferedUpdate_InstalledConfirmedThenNothingMoreToDo) {
  PublishAndRollOut("1.1.0", "pass");
  CommandOutput out = RunAloft(RunArgs(ca_));
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_NE(out.out.find("boot: ota_0 (app0), version 1.0.0"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("check-in: offered 1.1.0"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("install: 1.1.0 verified and installed into ota_1 (app1); rebooting"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("boot: ota_1 (app1), version 1.1.0, otadata state pending_verify"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("self-test: passed; 1.1.0 confirmed"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("done: running 1.1.0"), std::string::npos) << out.out;
  // The server has the confirmation.
  host::HttpsClient admin = harness_->Admin();
  testing::Reply shown = AloftdHarness::Call(admin, "GET", "/api/v1/devices/dev-1");
  EXPECT_NE(shown.body.find("confirmed"), std::string::npos) << shown.body;

  // A second run remembers the secret (FLASH.kv/) and the trusted key (the sidecar).
  out = RunAloft({"device", "run", "--flash", flash_, "--server", harness_->url(), "--ca", ca_,
                  "--id", device_.id, "--token", device_.token, "--once"});
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  EXPECT_NE(out.out.find("boot: ota_1 (app1), version 1.1.0, otadata state valid"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("check-in: no update for 1.1.0"), std::string::npos) << out.out;
  // And `aloft device boot` sees the same chip.
  out = RunAloft({"device", "boot", "--flash", flash_, "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(ParseJson(out.out).at("version").as_string(), "1.1.0");
}

TEST_F(DeviceRunTest, SelfTestFails_RolledBackReportedExit1) {
  PublishAndRollOut("1.2.0", "fail");
  const CommandOutput out = RunAloft(RunArgs(ca_));
  EXPECT_EQ(out.exit_code, 1) << out.out << out.err;
  EXPECT_NE(out.out.find("self-test: failed: self-test: the test image's self-test fails"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("boot: ota_0 (app0), version 1.0.0"), std::string::npos) << out.out;
  EXPECT_EQ(out.err, "aloft: device dev-1: the update rolled back; still running 1.0.0\n");
  host::HttpsClient admin = harness_->Admin();
  testing::Reply shown = AloftdHarness::Call(admin, "GET", "/api/v1/devices/dev-1");
  EXPECT_NE(shown.body.find("rolled_back"), std::string::npos) << shown.body;
}

TEST_F(DeviceRunTest, ForcedCrash_ResetRollsBack) {
  PublishAndRollOut("1.1.0", "pass");
  std::vector<std::string> args = RunArgs(ca_);
  args.insert(args.end(), {"--self-test", "crash"});
  const CommandOutput out = RunAloft(args);
  EXPECT_EQ(out.exit_code, 1) << out.out << out.err;
  EXPECT_NE(out.out.find("self-test: the firmware crashed; reset"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("(rolled back)"), std::string::npos) << out.out;
  EXPECT_NE(out.err.find("the update rolled back; still running 1.0.0"), std::string::npos)
      << out.err;
}

TEST_F(DeviceRunTest, WrongCa_OneLineAndThePassiveSlotUntouched) {
  PublishAndRollOut("1.1.0", "pass");
  TempDir other;
  server::InitOptions init;
  init.data_dir = other / "data";
  ASSERT_TRUE(server::InitDataDir(init).ok());
  const std::string wrong_ca = (other / "data" / "ca.pem").string();
  const std::vector<std::byte> before = PassiveSlotStart();
  const CommandOutput out = RunAloft(RunArgs(wrong_ca));
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "aloft: " + harness_->url() +
                         ": the server's certificate does not chain to the pinned CA " + wrong_ca +
                         "\n");
  EXPECT_EQ(PassiveSlotStart(), before);
}

TEST_F(DeviceRunTest, UsageErrors_Exit2WithWhatIsMissing) {
  // No token.
  EXPECT_EQ(RunAloft({"device", "run", "--flash", flash_, "--server", harness_->url(), "--ca", ca_,
                      "--id", "dev-1"})
                .exit_code,
            2);
  // A secret that is not 64 hex characters.
  std::vector<std::string> args = RunArgs(ca_, false);
  args.insert(args.end(), {"--secret", "abc"});
  CommandOutput out = RunAloft(args);
  EXPECT_EQ(out.exit_code, 2);
  // No secret, and none remembered.
  out = RunAloft(RunArgs(ca_, false));
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("the device has no freshness secret yet: give --secret"),
            std::string::npos)
      << out.err;
  // No trusted key, and none remembered.
  out = RunAloft({"device", "run", "--flash", flash_, "--server", harness_->url(), "--ca", ca_,
                  "--id", "dev-1", "--token", device_.token, "--secret", device_.secret_hex});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("the device trusts no release key: give --trust-key-digest"),
            std::string::npos)
      << out.err;
  // A flash file that is not there.
  out = RunAloft({"device", "run", "--flash", (dir_ / "none.bin").string(), "--server",
                  harness_->url(), "--ca", ca_, "--id", "dev-1", "--token", device_.token});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("none.bin"), std::string::npos) << out.err;
}

}  // namespace
}  // namespace aloft::cli
