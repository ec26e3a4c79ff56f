// The issue's "done when", as a test on both backends: publish a signed release, start a 10%
// rollout, watch check-ins get it or not according to their bucket (compared with the pure
// bucket function), verify each answer's freshness MAC with the device's secret, raise to
// 100%, report failures past the threshold, and see the rollout halt with its reason and the
// status counts add up. Real TLS on loopback, real libcurl.

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "core/release/freshness.h"
#include "server/rollout_policy.h"
#include "support/aloftd_harness.h"

namespace aloft::testing {
namespace {

constexpr int kDevices = 120;

std::string NonceFor(int i, int round) {
  char hex[33];
  std::snprintf(hex, sizeof(hex), "%08x%08x%016x", static_cast<unsigned>(i),
                static_cast<unsigned>(round), 0xabcdefu);
  return hex;
}

// Verifies the answer's X-Aloft-Freshness as a device would (core::VerifyFreshness) and
// returns whether it offers an update (with the ids it names).
struct Offer {
  bool update = false;
  int64_t release_id = 0;
  int64_t rollout_id = 0;
};

Offer CheckIn(AloftdHarness& harness, const DeviceCredentials& device, const std::string& nonce,
              const std::string& version = "1.0.0") {
  host::HttpsClient client = harness.Client(device.token);
  Reply reply =
      AloftdHarness::Call(client, "POST", "/api/v1/check", CheckinBody(device.id, nonce, version));
  EXPECT_EQ(reply.status, 200) << reply.body;
  const std::string* mac_hex = reply.raw.Header("x-aloft-freshness");
  EXPECT_NE(mac_hex, nullptr);
  if (reply.status != 200 || mac_hex == nullptr) {
    return {};
  }
  const boost::json::value json = reply.json();
  EXPECT_EQ(json.at("nonce").as_string(), nonce);
  const std::string secret = server::HexDecode(device.secret_hex).value();
  const std::string nonce_bytes = server::HexDecode(nonce).value();
  const std::string mac = server::HexDecode(*mac_hex).value_or("");
  const auto digest = server::Sha256Digest(AsBytes(reply.body));
  host::OpensslCrypto crypto;
  const core::FreshnessClaim claim{device.id, AsBytes(nonce_bytes),
                                   static_cast<uint64_t>(json.at("server_time_ms").as_int64()),
                                   digest};
  EXPECT_TRUE(core::VerifyFreshness(crypto, AsBytes(secret), claim, AsBytes(mac)).ok())
      << "freshness MAC does not verify for " << device.id;
  // Another nonce (a replayed answer) must not verify.
  const std::string other_nonce = server::HexDecode(NonceFor(99999, 7)).value();
  const core::FreshnessClaim replayed{device.id, AsBytes(other_nonce), claim.server_time_ms,
                                      digest};
  EXPECT_FALSE(core::VerifyFreshness(crypto, AsBytes(secret), replayed, AsBytes(mac)).ok());

  Offer offer;
  const boost::json::value& update = json.at("update");
  if (update.is_null()) {
    return offer;
  }
  offer.update = true;
  offer.release_id = update.at("release_id").as_int64();
  offer.rollout_id = update.at("rollout_id").as_int64();
  EXPECT_EQ(update.at("artifact_url").as_string(),
            "/api/v1/artifacts/" + std::string(update.at("sha256").as_string()));
  // The release is the published RELEASE.json object, which a device verifies on its own.
  Result<host::ReleaseDocument> document =
      host::ParseReleaseJson(boost::json::serialize(update.at("release")));
  EXPECT_TRUE(document.ok());
  return offer;
}

Reply ReportEvent(AloftdHarness& harness, const DeviceCredentials& device, const std::string& id,
                  const std::string& state, int64_t rollout_id, const std::string& reason = "") {
  host::HttpsClient client = harness.Client(device.token);
  boost::json::object event{{"id", id},
                            {"state", state},
                            {"version", "2.0.0"},
                            {"rollout_id", rollout_id},
                            {"time_ms", 1000}};
  if (!reason.empty()) {
    event["reason"] = reason;
  }
  return AloftdHarness::Call(client, "POST", "/api/v1/events",
                             boost::json::serialize(boost::json::object{
                                 {"device_id", device.id}, {"events", boost::json::array{event}}}));
}

class RolloutScenarioTest : public ::testing::TestWithParam<Backend> {};

TEST_P(RolloutScenarioTest, TenPercentThenAllThenFailuresHaltTheRollout) {
  std::unique_ptr<AloftdHarness> harness;
  ALOFT_START_HARNESS(harness, GetParam());
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  const SignedRelease release = MakeSignedRelease(key);
  const int64_t release_id = harness->Publish(key, release);
  ASSERT_GT(release_id, 0);

  std::vector<DeviceCredentials> devices;
  for (int i = 0; i < kDevices; ++i) {
    char id[16];
    std::snprintf(id, sizeof(id), "c3-%04d", i);
    devices.push_back(harness->Register(id));
  }

  // Before any rollout: nobody gets anything.
  EXPECT_FALSE(CheckIn(*harness, devices[0], NonceFor(0, 0)).update);

  const int64_t rollout_id = harness->StartRollout("2.0.0", 10);
  ASSERT_GT(rollout_id, 0);
  int offered = 0;
  for (int i = 0; i < kDevices; ++i) {
    const bool expected = server::RolloutBucket(rollout_id, devices[i].id) < 1000;
    const Offer offer = CheckIn(*harness, devices[i], NonceFor(i, 1));
    EXPECT_EQ(offer.update, expected) << devices[i].id;
    if (offer.update) {
      EXPECT_EQ(offer.release_id, release_id);
      EXPECT_EQ(offer.rollout_id, rollout_id);
      ++offered;
    }
  }
  EXPECT_GT(offered, 0);
  EXPECT_LT(offered, kDevices / 4);

  // Raise to 100%: everyone is offered the release.
  host::HttpsClient admin = harness->Admin();
  Reply raised = AloftdHarness::Call(admin, "POST",
                                     "/api/v1/rollouts/" + std::to_string(rollout_id) + "/percent",
                                     R"({"percent": 100})");
  ASSERT_EQ(raised.status, 200) << raised.body;
  for (int i = 0; i < kDevices; ++i) {
    EXPECT_TRUE(CheckIn(*harness, devices[i], NonceFor(i, 2)).update) << devices[i].id;
  }
  // A device already on the release is not offered it again.
  EXPECT_FALSE(CheckIn(*harness, devices[0], NonceFor(0, 3), "2.0.0").update);

  // 9 confirm, 1 downloads, then 2 fail: 11 finished, 2 failures = 18.2% > 10% → halt.
  for (int i = 0; i < 9; ++i) {
    EXPECT_EQ(ReportEvent(*harness, devices[i], "ok-" + std::to_string(i), "confirmed", rollout_id)
                  .status,
              200);
  }
  EXPECT_EQ(ReportEvent(*harness, devices[9], "dl-9", "downloading", rollout_id).status, 200);
  Reply first_failure = ReportEvent(*harness, devices[10], "fail-10", "failed", rollout_id,
                                    "self-test: sensor timeout");
  EXPECT_EQ(first_failure.status, 200);
  Reply status =
      AloftdHarness::Call(admin, "GET", "/api/v1/rollouts/" + std::to_string(rollout_id));
  EXPECT_EQ(status.json().at("state").as_string(), "active");  // 1 of 10 is exactly 10%: not above

  Reply second_failure = ReportEvent(*harness, devices[11], "rb-11", "rolled_back", rollout_id);
  EXPECT_EQ(second_failure.status, 200);
  EXPECT_EQ(second_failure.json().at("accepted").as_array().size(), 1u);

  ASSERT_TRUE(harness->server().context().checkins.Flush().ok());
  status = AloftdHarness::Call(admin, "GET", "/api/v1/rollouts/" + std::to_string(rollout_id));
  ASSERT_EQ(status.status, 200);
  const boost::json::value rollout = status.json();
  EXPECT_EQ(rollout.at("state").as_string(), "halted");
  EXPECT_TRUE(rollout.at("halted").as_bool());
  EXPECT_EQ(rollout.at("reason").as_string(),
            "halted: 2 of 11 finished devices failed (18.2% > 10.0%)");
  const boost::json::object& counts = rollout.at("counts").as_object();
  EXPECT_EQ(counts.at("confirmed").as_int64(), 9);
  EXPECT_EQ(counts.at("failed").as_int64(), 1);
  EXPECT_EQ(counts.at("rolled_back").as_int64(), 1);
  EXPECT_EQ(counts.at("downloading").as_int64(), 1);
  EXPECT_EQ(counts.at("offered").as_int64(), kDevices - 12);  // every other device was offered
  EXPECT_EQ(rollout.at("devices").as_int64(), kDevices);
  EXPECT_EQ(rollout.at("finished").as_int64(), 11);
  EXPECT_EQ(rollout.at("failures").as_int64(), 2);
  const boost::json::array& history = rollout.at("percent_history").as_array();
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].at("percent").as_int64(), 10);
  EXPECT_EQ(history[1].at("percent").as_int64(), 100);

  // A halted rollout is offered to nobody.
  for (int i = 20; i < 30; ++i) {
    EXPECT_FALSE(CheckIn(*harness, devices[i], NonceFor(i, 4)).update) << devices[i].id;
  }

  // Metrics show the halt and the counts.
  Reply metrics = AloftdHarness::Call(admin, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_NE(
      metrics.body.find("aloft_rollout_halted{rollout=\"" + std::to_string(rollout_id) + "\"} 1"),
      std::string::npos);
  EXPECT_NE(metrics.body.find("aloft_rollout_devices{rollout=\"" + std::to_string(rollout_id) +
                              "\",state=\"confirmed\"} 9"),
            std::string::npos);
  EXPECT_NE(metrics.body.find("aloft_events_total{state=\"confirmed\"} 9"), std::string::npos);
  EXPECT_NE(metrics.body.find("aloft_checkins_total{result=\"update\"} " +
                              std::to_string(offered + kDevices)),
            std::string::npos)
      << metrics.body;

  // The check-ins reached the store (flushed in one batch): every device's last check-in.
  Result<server::Device> stored = harness->store().GetDevice(devices[5].id);
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->last_checkin_at_ms.has_value());
  EXPECT_EQ(stored->current_version, "1.0.0");
}

// A device whose update failed or rolled back is not offered the same rollout again (it would
// download, and boot, the broken release at every check-in), while the rest of the fleet still
// is; another rollout that applies to it is offered instead.
TEST_P(RolloutScenarioTest, FailedDevice_NotOfferedTheSameRolloutAgain) {
  std::unique_ptr<AloftdHarness> harness;
  ALOFT_START_HARNESS(harness, GetParam());
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  const int64_t v2 = harness->Publish(key, MakeSignedRelease(key, WithVersion("2.0.0")));
  ASSERT_GT(v2, 0);
  const int64_t rollout_id = harness->StartRollout("2.0.0", 100);
  ASSERT_GT(rollout_id, 0);
  const DeviceCredentials crashed = harness->Register("c3-crash");
  const DeviceCredentials healthy = harness->Register("c3-fine");
  const DeviceCredentials broken = harness->Register("c3-badsig");

  for (const DeviceCredentials* device : {&crashed, &healthy, &broken}) {
    EXPECT_EQ(CheckIn(*harness, *device, NonceFor(1, 1)).rollout_id, rollout_id) << device->id;
  }
  // The first boots 2.0.0, crashes and the bootloader rolls back; the third's download fails
  // verification.
  EXPECT_EQ(ReportEvent(*harness, crashed, "dl-1", "downloading", rollout_id).status, 200);
  EXPECT_EQ(ReportEvent(*harness, crashed, "rb-1", "rolled_back", rollout_id,
                        "boot: new image crashed, rolled back")
                .status,
            200);
  EXPECT_EQ(
      ReportEvent(*harness, broken, "f-1", "failed", rollout_id, "verify: sha256 mismatch").status,
      200);

  // At once (within the rollout cache's TTL): no update for them, the offer for the others.
  EXPECT_FALSE(CheckIn(*harness, crashed, NonceFor(2, 2)).update);
  EXPECT_FALSE(CheckIn(*harness, broken, NonceFor(3, 2)).update);
  EXPECT_EQ(CheckIn(*harness, healthy, NonceFor(4, 2)).rollout_id, rollout_id);
  // Not by the halt rule: 2 finished devices are below min_sample, the rollout is active.
  host::HttpsClient admin = harness->Admin();
  Reply status =
      AloftdHarness::Call(admin, "GET", "/api/v1/rollouts/" + std::to_string(rollout_id));
  ASSERT_EQ(status.status, 200) << status.body;
  EXPECT_EQ(status.json().at("state").as_string(), "active");

  // The same once the rollout cache reloads from the store (as another server's would).
  harness->server().context().rollouts.Invalidate();
  EXPECT_FALSE(CheckIn(*harness, crashed, NonceFor(2, 3)).update);
  EXPECT_FALSE(CheckIn(*harness, broken, NonceFor(3, 3)).update);
  EXPECT_EQ(CheckIn(*harness, healthy, NonceFor(4, 3)).rollout_id, rollout_id);

  // Another rollout that applies is offered to them (here an older fix release for everyone):
  // the rule is per rollout, not per device.
  const int64_t v15 = harness->Publish(key, MakeSignedRelease(key, WithVersion("1.5.0")), false);
  ASSERT_GT(v15, 0);
  const int64_t fix_rollout = harness->StartRollout("1.5.0", 100);
  ASSERT_GT(fix_rollout, 0);
  const Offer fix = CheckIn(*harness, crashed, NonceFor(2, 4));
  EXPECT_EQ(fix.rollout_id, fix_rollout);
  EXPECT_EQ(fix.release_id, v15);
  EXPECT_EQ(CheckIn(*harness, healthy, NonceFor(4, 4)).rollout_id, rollout_id);  // newest wins

  // The rollout's counts still show what happened.
  status = AloftdHarness::Call(admin, "GET", "/api/v1/rollouts/" + std::to_string(rollout_id));
  ASSERT_EQ(status.status, 200) << status.body;
  const boost::json::value view = status.json();
  EXPECT_EQ(view.at("counts").at("rolled_back").as_int64(), 1);
  EXPECT_EQ(view.at("counts").at("failed").as_int64(), 1);
}

TEST_P(RolloutScenarioTest, NewestEligibleReleaseWinsAndTagsFilter) {
  std::unique_ptr<AloftdHarness> harness;
  ALOFT_START_HARNESS(harness, GetParam());
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  const int64_t v2 = harness->Publish(key, MakeSignedRelease(key, WithVersion("2.0.0")));
  const int64_t v3 = harness->Publish(key, MakeSignedRelease(key, WithVersion("3.0.0")), false);
  ASSERT_GT(v2, 0);
  ASSERT_GT(v3, 0);
  harness->StartRollout("2.0.0", 100);
  harness->StartRollout("3.0.0", 100, boost::json::object{{"tags", boost::json::array{"beta"}}});
  const DeviceCredentials plain = harness->Register("plain-1");
  const DeviceCredentials beta = harness->Register("beta-1", "thermo", "esp32c3", {"beta"});

  host::HttpsClient plain_client = harness->Client(plain.token);
  Reply reply = AloftdHarness::Call(plain_client, "POST", "/api/v1/check",
                                    CheckinBody(plain.id, NonceFor(1, 1)));
  EXPECT_EQ(reply.json().at("update").at("release_id").as_int64(), v2);
  host::HttpsClient beta_client = harness->Client(beta.token);
  reply = AloftdHarness::Call(
      beta_client, "POST", "/api/v1/check",
      CheckinBody(beta.id, NonceFor(2, 1), "1.0.0", "thermo", "esp32c3", {"beta"}));
  EXPECT_EQ(reply.json().at("update").at("release_id").as_int64(), v3);
  // Another chip or project gets nothing.
  reply = AloftdHarness::Call(plain_client, "POST", "/api/v1/check",
                              CheckinBody(plain.id, NonceFor(1, 2), "1.0.0", "thermo", "esp32s3"));
  EXPECT_TRUE(reply.json().at("update").is_null());
}

TEST_P(RolloutScenarioTest, PauseResumeAndMinVersion) {
  std::unique_ptr<AloftdHarness> harness;
  ALOFT_START_HARNESS(harness, GetParam());
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  ASSERT_GT(harness->Publish(key, MakeSignedRelease(key)), 0);
  const int64_t rollout =
      harness->StartRollout("2.0.0", 100, boost::json::object{{"min_version", "1.5.0"}});
  const DeviceCredentials device = harness->Register("d-1");
  host::HttpsClient client = harness->Client(device.token);
  auto offered = [&](const std::string& version, int round) {
    Reply reply = AloftdHarness::Call(client, "POST", "/api/v1/check",
                                      CheckinBody(device.id, NonceFor(1, round), version));
    return !reply.json().at("update").is_null();
  };
  EXPECT_FALSE(offered("1.0.0", 1));  // below min_version
  EXPECT_TRUE(offered("1.5.0", 2));

  host::HttpsClient admin = harness->Admin();
  const std::string base = "/api/v1/rollouts/" + std::to_string(rollout);
  Reply paused = AloftdHarness::Call(admin, "POST", base + "/pause", R"({"reason":"looking"})");
  ASSERT_EQ(paused.status, 200) << paused.body;
  EXPECT_EQ(paused.json().at("state").as_string(), "paused");
  EXPECT_EQ(paused.json().at("reason").as_string(), "looking");
  EXPECT_FALSE(offered("1.5.0", 3));
  EXPECT_EQ(AloftdHarness::Call(admin, "POST", base + "/pause").error_code(), "rollout_not_active");
  Reply resumed = AloftdHarness::Call(admin, "POST", base + "/resume");
  ASSERT_EQ(resumed.status, 200) << resumed.body;
  EXPECT_TRUE(offered("1.5.0", 4));
  // A second live rollout of the same release is refused.
  Reply again = AloftdHarness::Call(admin, "POST", "/api/v1/rollouts",
                                    R"({"release": "2.0.0", "percent": 5})");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(again.error_code(), "rollout_exists");
}

INSTANTIATE_TEST_SUITE_P(Backends, RolloutScenarioTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendParamName);

}  // namespace
}  // namespace aloft::testing
