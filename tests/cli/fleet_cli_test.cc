// `aloft fleet sim` through the real binary against an aloftd started in-process: the summary's
// JSON keys (the issue's list), the exit codes, and one-line usage errors. The fleet itself
// (200 devices with faults, rollbacks) is tested in tests/integration/fleet_test.cc.

#include <gtest/gtest.h>

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

class FleetCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ALOFT_START_HARNESS(harness_, Backend::kSqlite);
    ca_ = (dir_ / "ca.pem").string();
    std::ofstream(ca_) << harness_->ca_pem();
  }

  std::vector<std::string> Sim(std::vector<std::string> extra) {
    std::vector<std::string> args{"fleet",     "sim", "--server",         harness_->url(),
                                  "--ca",      ca_,   "--token",          harness_->admin_token(),
                                  "--devices", "4",   "--check-interval", "0.5",
                                  "--timeout", "120"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  TempDir dir_;
  std::unique_ptr<AloftdHarness> harness_;
  std::string ca_;
};

TEST_F(FleetCliTest, UntilIdleJson_HasTheIssuesKeysAndEveryDeviceUpdated) {
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  harness_->Publish(key, testing::MakeSignedRelease(key, testing::WithVersion("1.0.0")));
  harness_->Publish(key, testing::MakeSignedRelease(key, testing::WithVersion("1.1.0")),
                    /*register_key=*/false);
  harness_->StartRollout("1.1.0", 100);
  const CommandOutput out =
      RunAloft(Sim({"--initial", "1.0.0", "--until-idle", "--json", "--faults", "reset=0.1"}));
  ASSERT_EQ(out.exit_code, 0) << out.out << out.err;
  const boost::json::value json = ParseJson(out.out);
  for (const char* name : {"devices", "versions", "updated", "rolled_back", "failed", "bricked",
                           "bytes_downloaded", "duration_s", "p50_update_s", "p99_update_s"}) {
    EXPECT_TRUE(json.as_object().contains(name)) << name;
  }
  EXPECT_EQ(json.at("devices").as_int64(), 4);
  EXPECT_EQ(boost::json::serialize(json.at("versions")), R"({"1.1.0":4})");
  EXPECT_EQ(json.at("updated").as_int64(), 4);
  EXPECT_EQ(json.at("bricked").as_int64(), 0);
  EXPECT_EQ(json.at("idle").as_bool(), true);
  // The progress line and the setup line went to stderr, not into the JSON.
  EXPECT_NE(out.err.find("fleet: registering 4 devices"), std::string::npos) << out.err;
}

TEST_F(FleetCliTest, Errors_OneLineEach) {
  CommandOutput out = RunAloft(Sim({"--initial", "1.0.0", "--faults", "reset=2"}));
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_EQ(out.err, "aloft: --faults reset=2: faults: probability is not a number in [0, 1]\n");
  out = RunAloft(Sim({"--initial", "1.0.0", "--faults", "flood=0.1"}));
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.err.find("unknown kind"), std::string::npos) << out.err;
  EXPECT_EQ(RunAloft({"fleet", "sim", "--server", harness_->url(), "--ca", ca_, "--token", "t",
                      "--initial", "1.0.0"})
                .exit_code,
            2);  // no --devices
  out = RunAloft(Sim({"--initial", "7.7.7"}));
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("aloft: fleet: no release 7.7.7 on " + harness_->url()), std::string::npos)
      << out.err;
  out = RunAloft({"fleet", "sim", "--server", harness_->url(), "--ca", ca_, "--token",
                  std::string(43, 'x'), "--devices", "1", "--initial", "1.0.0"});
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.err.find("401 invalid_token"), std::string::npos) << out.err;
}

}  // namespace
}  // namespace aloft::cli
