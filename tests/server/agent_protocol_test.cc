// The server and the device agent speak the same protocol: requests built by the agent's own
// encoder (src/agent/protocol.h) are accepted by aloftd, and aloftd's answers parse with the
// agent's strict decoder, their freshness MAC verifies, and the offered manifest verifies with
// the device's trusted key digest. Both backends, real TLS.

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "agent/protocol.h"
#include "core/release/freshness.h"
#include "core/release/manifest.h"
#include "support/aloftd_harness.h"

namespace aloft::testing {
namespace {

class AgentProtocolTest : public ::testing::TestWithParam<Backend> {};

TEST_P(AgentProtocolTest, AgentRequestsAndServerAnswers_Interoperate) {
  std::unique_ptr<AloftdHarness> harness;
  ALOFT_START_HARNESS(harness, GetParam());
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  const SignedRelease release = MakeSignedRelease(key);
  const int64_t release_id = harness->Publish(key, release);
  const int64_t rollout_id = harness->StartRollout("2.0.0", 100);
  const DeviceCredentials device = harness->Register("agent-1", "thermo", "esp32c3", {"lab"});
  host::HttpsClient client = harness->Client(device.token);

  // Check-in, as the agent writes it.
  const std::array<std::byte, 16> nonce = {std::byte{1}, std::byte{2}, std::byte{3}};
  const std::string_view tags[] = {"lab"};
  agent::CheckinRequest request{"agent-1", "thermo", "esp32c3", "1.0.0", 1, tags, nonce};
  std::array<char, 1024> out{};
  const size_t length = agent::BuildCheckinRequest(request, out).value();
  Result<host::HttpsReply> reply =
      client.Send("POST", std::string(agent::kCheckinPath), std::string_view(out.data(), length));
  ASSERT_TRUE(reply.ok());
  ASSERT_EQ(reply->status, 200) << reply->body;

  // The freshness MAC over the body exactly as received, then the agent's parser.
  const std::string secret = server::HexDecode(device.secret_hex).value();
  const std::string mac = server::HexDecode(*reply->Header("x-aloft-freshness")).value();
  const std::array<std::byte, 32> digest = server::Sha256Digest(AsBytes(reply->body));
  std::vector<char> body(reply->body.begin(), reply->body.end());
  agent::JsonWorkspace workspace;
  Result<agent::CheckinAnswer> answer = agent::ParseCheckinAnswer(body, workspace);
  ASSERT_TRUE(answer.ok()) << DescribeStatus(answer.status());
  host::OpensslCrypto crypto;
  EXPECT_TRUE(core::VerifyFreshness(crypto, AsBytes(secret),
                                    {"agent-1", nonce, answer->server_time_ms, digest},
                                    AsBytes(mac))
                  .ok());
  EXPECT_EQ(answer->nonce, nonce);
  ASSERT_TRUE(answer->update.has_value());
  const agent::UpdateOffer& offer = *answer->update;
  EXPECT_EQ(offer.release_id, release_id);
  EXPECT_EQ(offer.rollout_id, rollout_id);
  EXPECT_EQ(offer.artifact_path, "/api/v1/artifacts/" + release.sha256);
  EXPECT_EQ(offer.size_bytes, release.image.size());
  EXPECT_EQ(offer.sha256, server::Sha256Digest(release.image));
  core::TrustedKey trusted;
  trusted.digest = key.key_digest();
  const core::TrustedKey keys[] = {trusted};
  Result<core::ReleaseManifest> manifest = core::VerifyManifest(
      crypto, offer.manifest, offer.signature, core::TrustPolicy{keys, std::nullopt, false});
  ASSERT_TRUE(manifest.ok()) << DescribeStatus(manifest.status());
  EXPECT_EQ(manifest->version.view(), "2.0.0");

  // Events, as the agent writes them, and the agent's reading of the answer.
  const agent::EventReport events[] = {
      {"ev-1", agent::EventState::kDownloading, 50, 4096, "", "1.0.0", release_id, rollout_id, 7},
      {"ev-2", agent::EventState::kConfirmed, std::nullopt, std::nullopt, "", "2.0.0", release_id,
       rollout_id, 8}};
  const size_t events_length = agent::BuildEventsRequest("agent-1", events, out).value();
  for (int round = 0; round < 2; ++round) {  // the second time, both are duplicates
    reply = client.Send("POST", std::string(agent::kEventsPath),
                        std::string_view(out.data(), events_length));
    ASSERT_TRUE(reply.ok());
    ASSERT_EQ(reply->status, 200) << reply->body;
    std::vector<char> events_body(reply->body.begin(), reply->body.end());
    const std::string_view ids[] = {"ev-1", "ev-2"};
    std::array<bool, 2> acknowledged{};
    ASSERT_TRUE(agent::ParseEventsAnswer(events_body, workspace, ids, acknowledged).ok());
    EXPECT_TRUE(acknowledged[0] && acknowledged[1]) << reply->body;
  }
  EXPECT_EQ(harness->store().GetRolloutDevice(rollout_id, "agent-1")->state,
            server::UpdateState::kConfirmed);

  // A "no update" answer parses too.
  request.version = "2.0.0";
  const size_t again = agent::BuildCheckinRequest(request, out).value();
  reply =
      client.Send("POST", std::string(agent::kCheckinPath), std::string_view(out.data(), again));
  ASSERT_TRUE(reply.ok());
  std::vector<char> none(reply->body.begin(), reply->body.end());
  Result<agent::CheckinAnswer> nothing = agent::ParseCheckinAnswer(none, workspace);
  ASSERT_TRUE(nothing.ok());
  EXPECT_FALSE(nothing->update.has_value());
}

INSTANTIATE_TEST_SUITE_P(Backends, AgentProtocolTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendParamName);

}  // namespace
}  // namespace aloft::testing
