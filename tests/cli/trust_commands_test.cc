// End-to-end tests of `aloft key`, `aloft sign`, `aloft release` and `aloft image verify`
// against espsecure's vectors (tests/vectors/app-image/README.md).

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <algorithm>
#include <string>
#include <vector>

#include "cli/command.h"
#include "support/run_command.h"
#include "support/vectors.h"

namespace aloft::cli {
namespace {

using testing::CommandOutput;
using testing::ReadBinary;
using testing::ReadText;
using testing::RunAloft;
using testing::TempDir;
using testing::VectorPath;

std::string KeyPath(const std::string& name) {
  return VectorPath("app-image/keys/" + name + ".pem").string();
}
std::string SignedPath(const std::string& name) {
  return VectorPath("app-image/signed/" + name).string();
}
std::string ImagePath(const std::string& name) {
  return VectorPath("app-image/images/" + name).string();
}
std::string DigestHexOf(const std::string& key) {
  const std::vector<std::byte> digest =
      ReadBinary(VectorPath("app-image/keys/" + key + ".digest.bin"));
  std::string hex;
  for (std::byte b : digest) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", static_cast<unsigned>(b));
    hex += pair;
  }
  return hex;
}

// ---- aloft key ----

TEST(KeyCommand, DigestOfEveryVectorKey_EspsecureDigestAsHex) {
  for (const char* key :
       {"test_rsa3072_key0", "test_ecdsa256_key1", "test_ecdsa384_key0", "test_ecdsa192_key0"}) {
    for (const std::string suffix : {"", ".pub"}) {
      const CommandOutput out = RunAloft({"key", "digest", KeyPath(key + suffix)});
      EXPECT_EQ(out.exit_code, 0) << out.err;
      EXPECT_EQ(out.out, DigestHexOf(key) + "\n") << key << suffix;
    }
  }
}

TEST(KeyCommand, DigestOutputFile_RawBytesLikeEspsecure) {
  TempDir dir;
  const CommandOutput out =
      RunAloft({"key", "digest", KeyPath("test_ecdsa256_key0"), "-o", (dir / "d.bin").string()});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(ReadBinary(dir / "d.bin"),
            ReadBinary(VectorPath("app-image/keys/test_ecdsa256_key0.digest.bin")));
}

TEST(KeyCommand, GenPublicDigest_ConsistentAndPrivateFileIs0600) {
  TempDir dir;
  for (const char* type : {"ecdsa-p256", "ecdsa-p384", "rsa-3072"}) {
    SCOPED_TRACE(type);
    const std::string key = (dir / (std::string(type) + ".pem")).string();
    const std::string pub = (dir / (std::string(type) + ".pub.pem")).string();
    const CommandOutput gen = RunAloft({"key", "gen", "--type", type, "-o", key});
    ASSERT_EQ(gen.exit_code, 0) << gen.err;
    struct stat info {};
    ASSERT_EQ(stat(key.c_str(), &info), 0);
    EXPECT_EQ(info.st_mode & 0777, 0600u);
    EXPECT_TRUE(ReadText(key).starts_with(std::string(type) == "rsa-3072"
                                              ? "-----BEGIN RSA PRIVATE KEY-----"
                                              : "-----BEGIN EC PRIVATE KEY-----"));
    ASSERT_EQ(RunAloft({"key", "public", key, "-o", pub}).exit_code, 0);
    EXPECT_TRUE(ReadText(pub).starts_with("-----BEGIN PUBLIC KEY-----"));
    const CommandOutput from_private = RunAloft({"key", "digest", key});
    const CommandOutput from_public = RunAloft({"key", "digest", pub});
    EXPECT_EQ(from_private.out, from_public.out);
    EXPECT_EQ(from_private.out.size(), 65u);
    EXPECT_NE(gen.out.find(from_private.out.substr(0, 64)), std::string::npos);
  }
}

TEST(KeyCommand, GenOverExistingFile_RefusedAndFileUntouched) {
  TempDir dir;
  const std::string key = (dir / "k.pem").string();
  ASSERT_EQ(RunAloft({"key", "gen", "--type", "ecdsa-p256", "-o", key}).exit_code, 0);
  const std::string before = ReadText(key);
  const CommandOutput again = RunAloft({"key", "gen", "--type", "ecdsa-p256", "-o", key});
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_EQ(again.err, "aloft: " + key + ": already exists; refusing to overwrite a key file\n");
  EXPECT_EQ(ReadText(key), before);
}

TEST(KeyCommand, UsageErrors_Exit2) {
  TempDir dir;
  EXPECT_EQ(RunAloft({"key", "gen", "--type", "ecdsa-p192", "-o", (dir / "k").string()}).exit_code,
            2);
  EXPECT_EQ(RunAloft({"key", "gen", "-o", (dir / "k").string()}).exit_code, 2);
  EXPECT_EQ(RunAloft({"key"}).exit_code, 2);
  for (const std::vector<std::string>& help : {std::vector<std::string>{"key", "--help"},
                                               {"key", "gen", "--help"},
                                               {"key", "public", "--help"},
                                               {"key", "digest", "--help"},
                                               {"sign", "--help"},
                                               {"release", "--help"},
                                               {"release", "make", "--help"},
                                               {"release", "verify", "--help"}}) {
    EXPECT_EQ(RunAloft(help).exit_code, 0) << help.back();
  }
}

TEST(KeyCommand, BadPem_OneLineNamingFileAndProblem) {
  TempDir dir;
  const std::string garbage = (dir / "garbage.pem").string();
  FILE* f = std::fopen(garbage.c_str(), "w");
  std::fputs("hello\n", f);
  std::fclose(f);
  CommandOutput out = RunAloft({"key", "digest", garbage});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "aloft: " + garbage + ": release key: not a PEM key\n");
  out = RunAloft({"key", "digest", (dir / "missing.pem").string()});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("missing.pem"), std::string::npos);
}

// ---- aloft sign ----

TEST(SignCommand, RsaVectorInput_LayoutOfEspsecureAndVerifiable) {
  TempDir dir;
  const std::string out_path = (dir / "signed.bin").string();
  const CommandOutput out = RunAloft(
      {"sign", "--key", KeyPath("test_rsa3072_key0"), ImagePath("esp32_app.bin"), "-o", out_path});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const std::vector<std::byte> ours = ReadBinary(out_path);
  const std::vector<std::byte> theirs = ReadBinary(SignedPath("esp32_app.signed_rsa0_4kpad.bin"));
  ASSERT_EQ(ours.size(), theirs.size());
  // Identical up to the RSA signature (block bytes 812..1195) and the CRC (1196..1199).
  EXPECT_TRUE(std::equal(ours.begin(), ours.begin() + 77824 + 812, theirs.begin()));
  EXPECT_TRUE(std::equal(ours.begin() + 77824 + 1200, ours.end(), theirs.begin() + 77824 + 1200));
}

TEST(SignCommand, MultiKeyAppendAndFourth_AsEspsecure) {
  TempDir dir;
  const std::string two = (dir / "two.bin").string();
  const std::string three = (dir / "three.bin").string();
  ASSERT_EQ(
      RunAloft({"sign", "--key", KeyPath("test_rsa3072_key0"), "--key",
                KeyPath("test_rsa3072_key1"), ImagePath("esp32c3_app_securepad.bin"), "-o", two})
          .exit_code,
      0);
  const CommandOutput appended =
      RunAloft({"sign", "--append", "--key", KeyPath("test_rsa3072_key2"), two, "-o", three});
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  EXPECT_EQ(appended.out,
            three + ": signed 131072 bytes of " + two + "; the signature sector has 3 block(s)\n");
  const CommandOutput fourth = RunAloft({"sign", "--append", "--key", KeyPath("test_rsa3072_key0"),
                                         three, "-o", (dir / "four.bin").string()});
  EXPECT_EQ(fourth.exit_code, 1);
  EXPECT_EQ(fourth.err,
            "aloft: " + three + ": sign: up to 3 signature blocks are supported (4 requested)\n");
}

TEST(SignCommand, BadKeys_Refused) {
  TempDir dir;
  const std::string out_path = (dir / "s.bin").string();
  CommandOutput out = RunAloft({"sign", "--key", KeyPath("test_rsa3072_key0.pub"),
                                ImagePath("esp32_app.bin"), "-o", out_path});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("is a public key"), std::string::npos) << out.err;
  out = RunAloft(
      {"sign", "--key", KeyPath("test_ecdsa192_key0"), ImagePath("esp32_app.bin"), "-o", out_path});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("P-192 keys cannot sign"), std::string::npos) << out.err;
  EXPECT_EQ(RunAloft({"sign", ImagePath("esp32_app.bin"), "-o", out_path}).exit_code, 2);
}

// ---- aloft release ----

TEST(ReleaseCommand, MakeThenVerify_WithImage) {
  TempDir dir;
  const std::string release = (dir / "RELEASE.json").string();
  const std::string image = SignedPath("esp32c3_app_securepad.signed_rsa012.bin");
  const CommandOutput made =
      RunAloft({"release", "make", image, "--key", KeyPath("test_rsa3072_key1"), "-o", release,
                "--min-running-version", "v2.0.0"});
  ASSERT_EQ(made.exit_code, 0) << made.err;
  EXPECT_EQ(made.out, release +
                          ": release aloft_vec_c3 2.3.4-rc1 for esp32c3 (secure_version 2, "
                          "135168 bytes), signed by 1 key(s)\n");
  const std::string json = ReadText(release);
  EXPECT_NE(json.find("\"min_running_version\": \"v2.0.0\""), std::string::npos);
  const CommandOutput verified = RunAloft({"release", "verify", release, "--key-digest",
                                           DigestHexOf("test_rsa3072_key1"), "--image", image});
  EXPECT_EQ(verified.exit_code, 0) << verified.err;
  // Another image under this manifest: refused (mix and match).
  const CommandOutput other =
      RunAloft({"release", "verify", release, "--key", KeyPath("test_rsa3072_key1"), "--image",
                SignedPath("esp32c3_app_securepad.signed_rsa0_rsa1.bin")});
  EXPECT_EQ(other.exit_code, 1);
  EXPECT_NE(other.err.find("update: image sha256 differs from the manifest"), std::string::npos)
      << other.err;
  const CommandOutput untrusted =
      RunAloft({"release", "verify", release, "--key", KeyPath("test_rsa3072_key0")});
  EXPECT_EQ(untrusted.exit_code, 1);
  EXPECT_EQ(untrusted.err, "aloft: " + release + ": signature: no block signed by a trusted key\n");
}

TEST(ReleaseCommand, ImageNotSignedByTheKey_Refused) {
  TempDir dir;
  const CommandOutput out =
      RunAloft({"release", "make", SignedPath("esp32_app_securepad.signed_rsa0.bin"), "--key",
                KeyPath("test_rsa3072_key1"), "-o", (dir / "R.json").string()});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("not signed by"), std::string::npos) << out.err;
  const CommandOutput unsigned_image =
      RunAloft({"release", "make", ImagePath("esp32_app.bin"), "--key",
                KeyPath("test_rsa3072_key0"), "-o", (dir / "R.json").string()});
  EXPECT_EQ(unsigned_image.exit_code, 1);
  EXPECT_NE(unsigned_image.err.find("sign it first"), std::string::npos) << unsigned_image.err;
  const CommandOutput bad_min =
      RunAloft({"release", "make", SignedPath("esp32_app_securepad.signed_rsa0.bin"), "--key",
                KeyPath("test_rsa3072_key0"), "-o", (dir / "R.json").string(),
                "--min-running-version", "6970792-dirty"});
  EXPECT_EQ(bad_min.exit_code, 2);
}

// ---- aloft image verify (in-process, until image_command.cc registers it) ----

struct InProcess {
  int exit_code = -1;
  std::string out;
  std::string err;
};

InProcess RunImageVerify(std::vector<std::string> args) {
  CLI::App app("test");
  CLI::App* image = app.add_subcommand("image");
  CommandResult result;
  AddImageVerifyCommand(*image, result);
  args.insert(args.begin(), {"image", "verify"});
  std::reverse(args.begin(), args.end());  // CLI11 parses a reversed vector
  InProcess run;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(args);
    run.exit_code = result.exit_code;
  } catch (const CLI::ParseError& error) {
    run.exit_code = app.exit(error) == 0 ? 0 : kExitUsage;
  }
  run.out = ::testing::internal::GetCapturedStdout();
  run.err = ::testing::internal::GetCapturedStderr();
  return run;
}

struct VerifyCase {
  const char* file;
  const char* key;
  int exit_code;
  const char* error;  // the reason printed, or "" when valid
};

// Every signed vector with its device verdict (README "signed/").
constexpr VerifyCase kVerifyCases[] = {
    {"esp32_app_securepad.signed_rsa0.bin", "test_rsa3072_key0", 0, ""},
    {"esp32_app_securepad.signed_rsa0.bin", "test_rsa3072_key0.pub", 0, ""},
    {"esp32_app_securepad.signed_rsa0.bin", "test_rsa3072_key1", 1,
     "signature: no block signed by a trusted key"},
    {"esp32_app.signed_rsa0_4kpad.bin", "test_rsa3072_key0", 0, ""},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", "test_rsa3072_key1", 0, ""},
    {"esp32c3_app_securepad.signed_rsa0_rsa1.bin", "test_rsa3072_key2", 1,
     "signature: no block signed by a trusted key"},
    {"esp32c3_app_securepad.signed_rsa012.bin", "test_rsa3072_key2", 0, ""},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", "test_ecdsa256_key0", 0, ""},
    {"esp32c6_app_mmu32k_securepad.signed_ecdsa256.bin", "test_ecdsa256_key1", 1,
     "signature: no block signed by a trusted key"},
    {"esp32s3_app_securepad.signed_ecdsa384.bin", "test_ecdsa384_key0", 0, ""},
    {"esp32c3_app_securepad.signed_ecdsa192.bin", "test_ecdsa192_key0", 0, ""},
    {"neg_rsa0_image_byte_flipped.bin", "test_rsa3072_key0", 1, "signature: image digest mismatch"},
    {"neg_rsa0_sig_byte_flipped_crc_stale.bin", "test_rsa3072_key0", 1,
     "signature: no valid signature block"},
    {"neg_rsa0_sig_byte_flipped_crc_fixed.bin", "test_rsa3072_key0", 1,
     "signature: signature does not verify"},
    {"neg_rsa0_sig_sector_truncated_by_100.bin", "test_rsa3072_key0", 1,
     "signature: signature sector truncated"},
    {"neg_rsa0_modulus_byte_flipped_crc_fixed.bin", "test_rsa3072_key0", 1,
     "signature: no block signed by a trusted key"},
    {"ok_rsa0_block_tail_padding_modified.bin", "test_rsa3072_key0", 0, ""},
    {"neg_ecdsa256_image_byte_flipped.bin", "test_ecdsa256_key0", 1,
     "signature: image digest mismatch"},
};

TEST(ImageVerifyCommand, EveryVector_DeviceVerdictAndExitCode) {
  for (const VerifyCase& c : kVerifyCases) {
    SCOPED_TRACE(std::string(c.file) + " " + c.key);
    const InProcess run = RunImageVerify({SignedPath(c.file), "--key", KeyPath(c.key)});
    EXPECT_EQ(run.exit_code, c.exit_code) << run.out << run.err;
    if (c.exit_code == 0) {
      EXPECT_NE(run.out.find(": signature valid (block "), std::string::npos) << run.out;
      EXPECT_EQ(run.err, "");
    } else {
      EXPECT_NE(run.err.find(c.error), std::string::npos) << run.err;
      EXPECT_EQ(run.err.find('\n'), run.err.size() - 1) << "one line: " << run.err;
    }
  }
}

TEST(ImageVerifyCommand, Json_ValidErrorAndBlocks) {
  const InProcess run =
      RunImageVerify({SignedPath("esp32c3_app_securepad.signed_rsa0_rsa1.bin"), "--key-digest",
                      DigestHexOf("test_rsa3072_key1"), "--json"});
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("\"valid\": true"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("\"error\": null"), std::string::npos);
  EXPECT_NE(run.out.find("\"key_digest\": \"" + DigestHexOf("test_rsa3072_key0") + "\""),
            std::string::npos);
  EXPECT_NE(run.out.find("\"outcome\": \"untrusted_key\""), std::string::npos);
  EXPECT_NE(run.out.find("\"outcome\": \"verified\""), std::string::npos);
  EXPECT_NE(run.out.find("\"scheme\": null"), std::string::npos);  // block 2 is empty

  const InProcess bad = RunImageVerify({SignedPath("neg_rsa0_sig_byte_flipped_crc_fixed.bin"),
                                        "--key", KeyPath("test_rsa3072_key0"), "--json"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("\"valid\": false"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("\"error\": \"signature: signature does not verify\""), std::string::npos);
  EXPECT_NE(bad.out.find("\"trusted\": true"), std::string::npos);
  EXPECT_NE(bad.out.find("\"verified\": false"), std::string::npos);
}

TEST(ImageVerifyCommand, NoKeyOrBadDigest_UsageError) {
  EXPECT_EQ(RunImageVerify({SignedPath("esp32_app_securepad.signed_rsa0.bin")}).exit_code,
            kExitUsage);
  const InProcess bad_hex =
      RunImageVerify({SignedPath("esp32_app_securepad.signed_rsa0.bin"), "--key-digest", "abc"});
  EXPECT_EQ(bad_hex.exit_code, kExitUsage);
  EXPECT_EQ(bad_hex.err, "aloft: --key-digest abc: not 64 hex digits (a SHA-256 key digest)\n");
  EXPECT_EQ(RunImageVerify({"--help"}).exit_code, 0);
}

TEST(ImageVerifyCommand, ThroughTheAloftBinary_DeviceSemantics) {
  const std::string signed_image = SignedPath("esp32_app_securepad.signed_rsa0.bin");
  const CommandOutput good = RunAloft({"image", "verify", signed_image, "--key",
                                       KeyPath("test_rsa3072_key0")});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  const CommandOutput wrong_key = RunAloft({"image", "verify", signed_image, "--key",
                                            KeyPath("test_rsa3072_key1")});
  EXPECT_EQ(wrong_key.exit_code, 1);
  EXPECT_NE(wrong_key.err.find("no block signed by a trusted key"), std::string::npos)
      << wrong_key.err;
}

TEST(ImageInfoCommand, SignedImage_ListsBlocksWithKeyDigestAndCrc) {
  const CommandOutput out =
      RunAloft({"image", "info", "--json", SignedPath("esp32c3_app_securepad.signed_rsa0_rsa1.bin")});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  boost::system::error_code error;
  const boost::json::value json = boost::json::parse(out.out, error);
  ASSERT_FALSE(error) << out.out;
  EXPECT_EQ(json.at("signed"), true);
  const boost::json::array& blocks = json.at("signatures").as_array();
  ASSERT_EQ(blocks.size(), 3u);  // block 2 is erased (0xFF): examined and invalid
  EXPECT_EQ(blocks[0].at("scheme"), "rsa-3072");
  EXPECT_EQ(blocks[0].at("key_digest"),
            "3d2cb6b92fa6f7586827b7a5f35907fac48affeb5b3601a4683b97e9d5229f70");
  EXPECT_EQ(blocks[0].at("crc_ok"), true);
  EXPECT_EQ(blocks[0].at("self_verified"), true);
  EXPECT_EQ(blocks[1].at("key_digest"),
            "6fbe5b60db1595325c262a1c7f2d611f5b4b6dc0e43fbe5f6796658eb0acd5c5");
  EXPECT_EQ(blocks[1].at("self_verified"), true);
  EXPECT_EQ(blocks[2].at("scheme"), nullptr);

  const CommandOutput unsigned_image = RunAloft(
      {"image", "info", "--json", ALOFT_VECTORS_DIR "/app-image/images/esp32_app.bin"});
  const boost::json::value plain = boost::json::parse(unsigned_image.out, error);
  ASSERT_FALSE(error);
  EXPECT_EQ(plain.at("signed"), false);
  EXPECT_TRUE(plain.at("signatures").as_array().empty());
}

}  // namespace
}  // namespace aloft::cli
