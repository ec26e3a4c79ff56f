// End-to-end tests of `aloft server init|device-cert` and the admin commands that talk to a
// running aloftd (`release publish|list`, `key register`, `devices register|list|show`,
// `rollout start|status|pause|resume|set-percent|list`): the real `aloft` binary against an
// aloftd started in-process on 127.0.0.1:0.

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/aloftd_harness.h"
#include "support/run_command.h"

namespace aloft::cli {
namespace {

using testing::AloftdHarness;
using testing::Backend;
using testing::CommandOutput;
using testing::ParseJson;
using testing::RunAloft;
using testing::TempDir;

int ModeOf(const std::filesystem::path& path) {
  struct stat info {};
  EXPECT_EQ(stat(path.c_str(), &info), 0) << path;
  return static_cast<int>(info.st_mode & 0777);
}

TEST(ServerInit, NewDirectory_HasEveryFileWithItsMode_AndTheTokenHashedInTheDatabase) {
  TempDir temp;
  const std::filesystem::path dir = temp / "srv";
  const CommandOutput out = RunAloft({"server", "init", "--data", dir.string(), "--hostname",
                                      "fleet.example", "--hostname", "10.1.2.3"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("TLS certificate for fleet.example, 10.1.2.3"), std::string::npos)
      << out.out;
  EXPECT_EQ(ModeOf(dir), 0700);
  for (const char* secret : {"ca.key", "server.key", "device-master.key", "admin.token"}) {
    EXPECT_EQ(ModeOf(dir / secret), 0600) << secret;
  }
  EXPECT_EQ(ModeOf(dir / "ca.pem"), 0644);
  for (const char* file : {"server.pem", "aloft.db", "aloftd.conf"}) {
    EXPECT_TRUE(std::filesystem::exists(dir / file)) << file;
  }
  EXPECT_TRUE(std::filesystem::is_directory(dir / "artifacts"));
  const std::string token = server::ReadAdminToken(dir).value();
  EXPECT_EQ(token.size(), 43u);
  EXPECT_TRUE(server::ReadMasterKey(dir).ok());
  // The database has the token's hash, never the token.
  auto store = server::OpenStore("sqlite:" + (dir / "aloft.db").string()).value();
  EXPECT_TRUE(store->FindAdminTokenByHash(server::TokenHash(token)).ok());
  const std::string db_bytes = testing::ReadText(dir / "aloft.db");
  EXPECT_EQ(db_bytes.find(token), std::string::npos);
  // The config parses; server.pem is the chain: the server certificate, then the CA.
  EXPECT_TRUE(server::ParseServerConfig(testing::ReadText(dir / "aloftd.conf")).ok());
  const std::string chain = testing::ReadText(dir / "server.pem");
  EXPECT_TRUE(chain.starts_with("-----BEGIN CERTIFICATE-----"));
  EXPECT_TRUE(chain.ends_with(testing::ReadText(dir / "ca.pem")));
}

TEST(ServerInit, ExistingNonEmptyDirectory_IsRefusedAndLeftAlone) {
  TempDir temp;
  std::ofstream(temp / "precious.txt") << "keep me";
  const CommandOutput out = RunAloft({"server", "init", "--data", temp.path().string()});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "aloft: " + temp.path().string() +
                         ": server init: the data directory exists and is not empty\n");
  EXPECT_EQ(testing::ReadText(temp / "precious.txt"), "keep me");
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(temp.path()), {}), 1);
  // An empty existing directory is fine.
  std::filesystem::create_directory(temp / "empty");
  EXPECT_EQ(RunAloft({"server", "init", "--data", (temp / "empty").string()}).exit_code, 0);
}

TEST(ServerInit, BadHostname_IsRefusedAndNothingIsLeft) {
  TempDir temp;
  const std::filesystem::path dir = temp / "srv";
  const CommandOutput out =
      RunAloft({"server", "init", "--data", dir.string(), "--hostname", "bad name!"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("x509: bad alt name"), std::string::npos) << out.err;
  EXPECT_FALSE(std::filesystem::exists(dir));
}

TEST(ServerInit, Help_ListsTheSubcommands) {
  const CommandOutput out = RunAloft({"server", "--help"});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_NE(out.out.find("init"), std::string::npos);
  EXPECT_NE(out.out.find("device-cert"), std::string::npos);
}

// The admin CLI against a running server.
class AdminCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ALOFT_START_HARNESS(harness_, Backend::kSqlite);
    ca_ = (harness_->data_dir() / "ca.pem").string();
    token_file_ = (harness_->data_dir() / "admin.token").string();
  }

  std::vector<std::string> Server() const {
    return {"--server", harness_->url(), "--ca", ca_, "--token", harness_->admin_token()};
  }
  CommandOutput Run(std::vector<std::string> args) const {
    const std::vector<std::string> server = Server();
    args.insert(args.end(), server.begin(), server.end());
    return RunAloft(args);
  }

  // A signed image and RELEASE.json on disk, made with the CLI itself.
  void MakeRelease(const std::string& version, std::string* image, std::string* release) {
    host::OpensslCrypto crypto;
    core::AppImageRecipe recipe;
    recipe.chip_id = 5;
    recipe.version = version;
    recipe.project_name = "thermo";
    recipe.secure_version = 1;
    std::vector<std::byte> app(core::AppImageBuildSize(recipe).value());
    ASSERT_TRUE(core::BuildAppImage(recipe, crypto, app).ok());
    const std::filesystem::path unsigned_path = temp_ / ("app-" + version + ".bin");
    std::ofstream(unsigned_path, std::ios::binary)
        .write(reinterpret_cast<const char*>(app.data()), static_cast<std::streamsize>(app.size()));
    *image = (temp_ / ("signed-" + version + ".bin")).string();
    *release = (temp_ / ("RELEASE-" + version + ".json")).string();
    ASSERT_EQ(RunAloft({"sign", unsigned_path.string(), "--key", key_, "-o", *image}).exit_code, 0);
    ASSERT_EQ(RunAloft({"release", "make", *image, "--key", key_, "-o", *release}).exit_code, 0);
  }

  std::unique_ptr<AloftdHarness> harness_;
  TempDir temp_;
  std::string ca_;
  std::string token_file_;
  std::string key_ = (temp_ / "release.pem").string();
};

TEST_F(AdminCliTest, PublishRegisterRolloutStatus_EndToEnd) {
  ASSERT_EQ(RunAloft({"key", "gen", "--type", "ecdsa-p256", "-o", key_}).exit_code, 0);
  std::string image;
  std::string release;
  MakeRelease("2.0.0", &image, &release);

  // Publishing before the key is registered is refused, naming the fix.
  CommandOutput out = Run({"release", "publish", image, release});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("409 no_release_key"), std::string::npos) << out.err;

  out = Run({"key", "register", "--project", "thermo", key_});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("registered for project thermo"), std::string::npos);

  out = Run({"release", "publish", image, release});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(out.out.find("published release 1: thermo 2.0.0 for esp32c3"), 0u) << out.out;

  out = Run({"release", "list", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const boost::json::value releases = ParseJson(out.out);
  ASSERT_EQ(releases.at("releases").as_array().size(), 1u);
  EXPECT_EQ(releases.at("releases").as_array()[0].at("version").as_string(), "2.0.0");
  out = Run({"release", "list"});
  EXPECT_NE(out.out.find("thermo"), std::string::npos);

  out = Run({"devices", "register", "--id", "cli-1", "--project", "thermo", "--chip", "esp32c3",
             "--tag", "lab", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const boost::json::value device = ParseJson(out.out);
  EXPECT_EQ(device.at("token").as_string().size(), 43u);
  EXPECT_EQ(device.at("secret").as_string().size(), 64u);
  out = Run({"devices", "register", "--id", "cli-2", "--project", "thermo", "--chip", "esp32c3"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("token  "), std::string::npos);
  EXPECT_NE(out.out.find("secret "), std::string::npos);

  out = Run({"devices", "list", "--json", "--tag", "lab"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(ParseJson(out.out).at("devices").as_array().size(), 1u);
  out = Run({"devices", "list"});
  EXPECT_NE(out.out.find("cli-2"), std::string::npos);

  out = Run({"rollout", "start", "--release", "2.0.0", "--percent", "10", "--tag", "lab",
             "--min-version", "1.0.0", "--halt-failure-rate", "0.25", "--min-sample", "1"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("rollout 1: thermo 2.0.0 for esp32c3, 10% of devices: active"),
            std::string::npos)
      << out.out;

  out = Run({"rollout", "set-percent", "--release", "2.0.0", "--percent", "100"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("percent history: 10% -> 100%"), std::string::npos) << out.out;
  out = Run({"rollout", "pause", "--release", "2.0.0", "--reason", "coffee"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find(": paused"), std::string::npos) << out.out;
  out = Run({"rollout", "resume", "--rollout", "1"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find(": active"), std::string::npos) << out.out;

  // The device fails its update: with --min-sample 1 and 25% the rollout halts itself.
  host::HttpsClient client = harness_->Client(std::string(device.at("token").as_string()));
  Result<host::HttpsReply> reply =
      client.Send("POST", "/api/v1/events",
                  R"({"device_id":"cli-1","events":[{"id":"f1","state":"failed","version":"1.0.0",)"
                  R"("rollout_id":1,"reason":"self-test failed"}]})");
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->status, 200) << reply->body;

  out = Run({"rollout", "status", "--release", "2.0.0"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find(": halted"), std::string::npos) << out.out;
  EXPECT_NE(out.out.find("  halted: 1 of 1 finished devices failed (100.0% > 25.0%)"),
            std::string::npos)
      << out.out;
  EXPECT_NE(out.out.find("failed 1"), std::string::npos) << out.out;
  out = Run({"rollout", "status", "--release", "2.0.0", "--json"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  const boost::json::value status = ParseJson(out.out);
  EXPECT_TRUE(status.at("halted").as_bool());
  EXPECT_EQ(status.at("counts").at("failed").as_int64(), 1);
  EXPECT_EQ(status.at("reason").as_string(),
            "halted: 1 of 1 finished devices failed (100.0% > 25.0%)");

  out = Run({"rollout", "list"});
  EXPECT_NE(out.out.find("halted"), std::string::npos) << out.out;
  out = Run({"devices", "show", "cli-1"});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_NE(out.out.find("failed"), std::string::npos);
  EXPECT_NE(out.out.find("self-test failed"), std::string::npos);
  out = Run({"devices", "show", "nobody"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("404 device_not_found"), std::string::npos) << out.err;
}

TEST_F(AdminCliTest, WrongCa_SaysTheCertificateDoesNotChain) {
  TempDir other;
  ASSERT_EQ(RunAloft({"server", "init", "--data", (other / "d").string()}).exit_code, 0);
  const std::string wrong_ca = (other / "d" / "ca.pem").string();
  const CommandOutput out = RunAloft({"release", "list", "--server", harness_->url(), "--ca",
                                      wrong_ca, "--token", harness_->admin_token()});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_EQ(out.err, "aloft: " + harness_->url() + ": the server's certificate does not chain to " +
                         wrong_ca + "\n");
}

TEST_F(AdminCliTest, BadTokenAndMissingOptions_FailClearly) {
  CommandOutput out = RunAloft({"devices", "list", "--server", harness_->url(), "--ca", ca_,
                                "--token", std::string(43, 'x')});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("401 invalid_token"), std::string::npos) << out.err;
  out = RunAloft({"devices", "list", "--server", harness_->url(), "--ca", ca_});
  EXPECT_EQ(out.exit_code, 2);
  out = RunAloft({"rollout", "status", "--server", harness_->url(), "--ca", ca_, "--token",
                  harness_->admin_token()});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("--release"), std::string::npos) << out.err;
  out = RunAloft({"rollout", "status", "--release", "9.9.9", "--server", harness_->url(), "--ca",
                  ca_, "--token", harness_->admin_token()});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("404 release_not_found"), std::string::npos) << out.err;
}

TEST_F(AdminCliTest, DeviceCert_AuthenticatesTheDevice) {
  harness_->Register("cert-1");
  const std::string cert = (temp_ / "cert-1.pem").string();
  const std::string key = (temp_ / "cert-1.key").string();
  const CommandOutput out =
      RunAloft({"server", "device-cert", "--data", harness_->data_dir().string(), "--id", "cert-1",
                "--cert-out", cert, "--key-out", key});
  ASSERT_EQ(out.exit_code, 0) << out.err;
  EXPECT_EQ(ModeOf(key), 0600);
  host::HttpsClientOptions options;
  options.base_url = harness_->url();
  options.ca_pem = harness_->ca_pem();
  options.client_certificate_path = cert;
  options.client_key_path = key;
  host::HttpsClient client = host::HttpsClient::Create(options).value();
  Result<host::HttpsReply> reply = client.Send(
      "POST", "/api/v1/check", testing::CheckinBody("cert-1", "00112233445566778899aabbccddeeff"));
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 200) << reply->body;
}

}  // namespace
}  // namespace aloft::cli
