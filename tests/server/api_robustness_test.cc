// Every kind of bad request the issue lists — malformed JSON, wrong types, unknown fields,
// oversized bodies, path tricks in artifact ids, bad or missing tokens, a device acting for
// another — gets a 4xx with a JSON error and stores nothing: the test compares the store and
// the artifact directory before and after the whole table, on both backends.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "support/aloftd_harness.h"

namespace aloft::testing {
namespace {

enum class As { kNobody, kAdmin, kDeviceA, kDeviceB, kUnknownToken, kMalformedToken, kBasic };

struct Case {
  const char* name;
  As as;
  const char* method;
  std::string path;
  std::string body;
  long status;
  const char* code;
};

constexpr const char* kNonce = "00112233445566778899aabbccddeeff";

std::string Checkin(const std::string& fields) {
  return "{\"device_id\":\"dev-a\",\"project\":\"thermo\",\"chip\":\"esp32c3\",\"version\":"
         "\"1.0.0\",\"secure_version\":1,\"tags\":[]" +
         fields + "}";
}

std::string Event(const std::string& device, const std::string& event_fields) {
  return "{\"device_id\":\"" + device + "\",\"events\":[{\"id\":\"e1\",\"version\":\"1.0.0\"" +
         event_fields + "}]}";
}

// What the store holds that a bad request could have changed.
struct Snapshot {
  size_t devices = 0;
  size_t events = 0;
  size_t releases = 0;
  size_t rollouts = 0;
  size_t keys = 0;
  int64_t rollout_devices = 0;
  std::set<std::string> artifact_files;
  size_t pending_checkins = 0;
  std::string device_a_version;

  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

Snapshot Take(AloftdHarness& harness, int64_t rollout_id) {
  server::Store& store = harness.store();
  Snapshot snapshot;
  snapshot.devices = store.ListDevices(server::DeviceQuery{}).value().devices.size();
  for (const char* id : {"dev-a", "dev-b"}) {
    snapshot.events += store.ListDeviceEvents(id, 1000).value().size();
  }
  snapshot.releases = store.ListReleases(server::ReleaseQuery{}).value().size();
  snapshot.rollouts = store.ListRollouts(server::RolloutQuery{}).value().size();
  snapshot.keys = store.ListReleaseKeys("thermo").value().size();
  snapshot.rollout_devices = store.CountRolloutDevices(rollout_id).value().total();
  for (const auto& entry : std::filesystem::directory_iterator(harness.data_dir() / "artifacts")) {
    snapshot.artifact_files.insert(entry.path().filename().string());
  }
  snapshot.pending_checkins = harness.server().context().checkins.pending();
  snapshot.device_a_version = store.GetDevice("dev-a").value().current_version;
  return snapshot;
}

class ApiRobustnessTest : public ::testing::TestWithParam<Backend> {};

TEST_P(ApiRobustnessTest, BadRequests_Get4xxJsonErrors_AndStoreNothing) {
  std::unique_ptr<AloftdHarness> harness;
  ALOFT_START_HARNESS(harness, GetParam());
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  const SignedRelease release = MakeSignedRelease(key);
  ASSERT_GT(harness->Publish(key, release), 0);
  const int64_t rollout_id = harness->StartRollout("2.0.0", 100);
  const DeviceCredentials a = harness->Register("dev-a");
  const DeviceCredentials b = harness->Register("dev-b");

  // Material for the release cases: a key the server does not know, an image that is not the
  // one its manifest names, a private key where a public one belongs.
  const host::ReleaseKey stranger =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  const SignedRelease foreign = MakeSignedRelease(stranger, WithVersion("9.0.0"));
  ReleaseSpec keyless_spec;
  keyless_spec.project = "oven";
  const SignedRelease keyless = MakeSignedRelease(key, keyless_spec);
  const SignedRelease unuploaded = MakeSignedRelease(key, WithVersion("3.0.0"));
  const std::string private_pem = key.PrivatePem().value();
  const std::string sha = release.sha256;
  const std::string other_sha(64, 'a');
  std::string upper_sha = sha;
  for (char& c : upper_sha) {
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  std::string deep(200, '[');
  deep += std::string(200, ']');
  const std::string events_base = "/api/v1/events";
  const std::string rollout = std::to_string(rollout_id);
  std::string hundred_one = "{\"device_id\":\"dev-a\",\"events\":[";
  for (int i = 0; i < 101; ++i) {
    hundred_one += (i ? "," : "") + std::string("{\"id\":\"x") + std::to_string(i) +
                   "\",\"state\":\"downloading\",\"version\":\"1.0.0\"}";
  }
  hundred_one += "]}";

  const std::vector<Case> cases = {
      // --- check-in ---
      {"malformed json", As::kDeviceA, "POST", "/api/v1/check", "{", 400, "malformed_json"},
      {"not an object", As::kDeviceA, "POST", "/api/v1/check", "[]", 400, "not_an_object"},
      {"too deep", As::kDeviceA, "POST", "/api/v1/check", deep, 400, "malformed_json"},
      {"empty body", As::kDeviceA, "POST", "/api/v1/check", "", 400, "malformed_json"},
      {"secure_version as text", As::kDeviceA, "POST", "/api/v1/check",
       "{\"device_id\":\"dev-a\",\"project\":\"thermo\",\"chip\":\"esp32c3\",\"version\":\"1.0.0\","
       "\"secure_version\":\"1\",\"nonce\":\"" +
           std::string(kNonce) + "\"}",
       400, "wrong_type"},
      {"tags not an array", As::kDeviceA, "POST", "/api/v1/check",
       "{\"device_id\":\"dev-a\",\"project\":\"thermo\",\"chip\":\"esp32c3\",\"version\":\"1.0.0\","
       "\"secure_version\":1,\"tags\":\"lab\",\"nonce\":\"" +
           std::string(kNonce) + "\"}",
       400, "wrong_type"},
      {"negative secure_version", As::kDeviceA, "POST", "/api/v1/check",
       "{\"device_id\":\"dev-a\",\"project\":\"thermo\",\"chip\":\"esp32c3\",\"version\":\"1.0.0\","
       "\"secure_version\":-1,\"nonce\":\"" +
           std::string(kNonce) + "\"}",
       400, "invalid_value"},
      {"unknown field", As::kDeviceA, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"" + std::string(kNonce) + "\",\"extra\":1"), 400, "unknown_field"},
      {"missing nonce", As::kDeviceA, "POST", "/api/v1/check", Checkin(""), 400, "missing_field"},
      {"short nonce", As::kDeviceA, "POST", "/api/v1/check", Checkin(",\"nonce\":\"0011\""), 400,
       "invalid_value"},
      {"non-hex nonce", As::kDeviceA, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"zz112233445566778899aabbccddeeff\""), 400, "invalid_value"},
      {"nul in device id", As::kDeviceA, "POST", "/api/v1/check",
       "{\"device_id\":\"dev-a\\u0000\",\"project\":\"thermo\",\"chip\":\"esp32c3\",\"version\":"
       "\"1.0.0\",\"secure_version\":1,\"nonce\":\"" +
           std::string(kNonce) + "\"}",
       400, "invalid_value"},
      {"unknown chip", As::kDeviceA, "POST", "/api/v1/check",
       "{\"device_id\":\"dev-a\",\"project\":\"thermo\",\"chip\":\"esp99\",\"version\":\"1.0.0\","
       "\"secure_version\":1,\"nonce\":\"" +
           std::string(kNonce) + "\"}",
       400, "invalid_value"},
      {"another device's id", As::kDeviceB, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"" + std::string(kNonce) + "\""), 403, "wrong_device"},
      {"oversized body", As::kDeviceA, "POST", "/api/v1/check", std::string(70 * 1024, ' '), 413,
       "body_too_large"},
      {"no token", As::kNobody, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"" + std::string(kNonce) + "\""), 401, "unauthenticated"},
      {"unknown token", As::kUnknownToken, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"" + std::string(kNonce) + "\""), 401, "invalid_token"},
      {"malformed token", As::kMalformedToken, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"" + std::string(kNonce) + "\""), 401, "invalid_token"},
      {"basic auth", As::kBasic, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"" + std::string(kNonce) + "\""), 401, "invalid_token"},
      {"admin acting as a device", As::kAdmin, "POST", "/api/v1/check",
       Checkin(",\"nonce\":\"" + std::string(kNonce) + "\""), 403, "device_only"},
      // --- events ---
      {"events for another device", As::kDeviceB, "POST", events_base,
       Event("dev-a", ",\"state\":\"downloading\""), 403, "wrong_device"},
      {"event state offered", As::kDeviceA, "POST", events_base,
       Event("dev-a", ",\"state\":\"offered\""), 400, "invalid_value"},
      {"event state unknown", As::kDeviceA, "POST", events_base,
       Event("dev-a", ",\"state\":\"exploded\""), 400, "invalid_value"},
      {"event progress over 100", As::kDeviceA, "POST", events_base,
       Event("dev-a", ",\"state\":\"downloading\",\"progress\":101"), 400, "invalid_value"},
      {"event rollout as text", As::kDeviceA, "POST", events_base,
       Event("dev-a", ",\"state\":\"downloading\",\"rollout_id\":\"1\""), 400, "wrong_type"},
      {"event unknown field", As::kDeviceA, "POST", events_base,
       Event("dev-a", ",\"state\":\"downloading\",\"colour\":\"red\""), 400, "unknown_field"},
      {"event unknown rollout", As::kDeviceA, "POST", events_base,
       Event("dev-a", ",\"state\":\"downloading\",\"rollout_id\":999"), 422, "unknown_rollout"},
      {"event release mismatch", As::kDeviceA, "POST", events_base,
       Event("dev-a",
             ",\"state\":\"downloading\",\"rollout_id\":" + rollout + ",\"release_id\":999"),
       422, "release_mismatch"},
      {"events not an array", As::kDeviceA, "POST", events_base,
       "{\"device_id\":\"dev-a\",\"events\":{}}", 400, "wrong_type"},
      {"no events", As::kDeviceA, "POST", events_base, "{\"device_id\":\"dev-a\",\"events\":[]}",
       400, "invalid_value"},
      {"101 events", As::kDeviceA, "POST", events_base, hundred_one, 400, "invalid_value"},
      {"one good event, one bad", As::kDeviceA, "POST", events_base,
       "{\"device_id\":\"dev-a\",\"events\":[{\"id\":\"good\",\"state\":\"downloading\","
       "\"version\":\"1.0.0\"},{\"id\":\"bad\",\"state\":\"nope\",\"version\":\"1.0.0\"}]}",
       400, "invalid_value"},
      {"duplicate event ids", As::kDeviceA, "POST", events_base,
       "{\"device_id\":\"dev-a\",\"events\":[{\"id\":\"x\",\"state\":\"downloading\","
       "\"version\":\"1.0.0\"},{\"id\":\"x\",\"state\":\"verified\",\"version\":\"1.0.0\"}]}",
       400, "invalid_value"},
      {"event id with a slash", As::kDeviceA, "POST", events_base,
       "{\"device_id\":\"dev-a\",\"events\":[{\"id\":\"a/b\",\"state\":\"verified\","
       "\"version\":\"1.0.0\"}]}",
       400, "invalid_value"},
      {"admin reporting events", As::kAdmin, "POST", events_base,
       Event("dev-a", ",\"state\":\"downloading\""), 403, "device_only"},
      // --- artifacts ---
      {"encoded dot segments", As::kDeviceA, "GET", "/api/v1/artifacts/..%2F..%2Fadmin.token", "",
       400, "invalid_artifact_id"},
      {"encoded dots only", As::kDeviceA, "GET", "/api/v1/artifacts/%2e%2e", "", 400,
       "invalid_artifact_id"},
      {"upper-case hex", As::kDeviceA, "GET", "/api/v1/artifacts/" + upper_sha, "", 400,
       "invalid_artifact_id"},
      {"63 hex digits", As::kDeviceA, "GET", "/api/v1/artifacts/" + sha.substr(1), "", 400,
       "invalid_artifact_id"},
      {"65 hex digits", As::kDeviceA, "GET", "/api/v1/artifacts/" + sha + "0", "", 400,
       "invalid_artifact_id"},
      {"sha with .bin", As::kDeviceA, "GET", "/api/v1/artifacts/" + sha + ".bin", "", 400,
       "invalid_artifact_id"},
      {"encoded nul", As::kDeviceA, "GET", "/api/v1/artifacts/" + sha.substr(0, 63) + "%00", "",
       400, "invalid_artifact_id"},
      {"extra segment", As::kDeviceA, "GET", "/api/v1/artifacts/" + sha + "/x", "", 404,
       "not_found"},
      {"unknown artifact", As::kDeviceA, "GET", "/api/v1/artifacts/" + other_sha, "", 404,
       "artifact_not_found"},
      {"download without a token", As::kNobody, "GET", "/api/v1/artifacts/" + sha, "", 401,
       "unauthenticated"},
      {"upload with a wrong digest", As::kAdmin, "PUT", "/api/v1/artifacts/" + other_sha,
       "not the artifact", 400, "digest_mismatch"},
      {"upload of nothing", As::kAdmin, "PUT", "/api/v1/artifacts/" + other_sha, "", 400,
       "empty_artifact"},
      {"upload by a device", As::kDeviceA, "PUT", "/api/v1/artifacts/" + other_sha, "x", 403,
       "admin_only"},
      {"upload path trick", As::kAdmin, "PUT", "/api/v1/artifacts/..%2Fx", "x", 400,
       "invalid_artifact_id"},
      // --- admin: devices ---
      {"device lists devices", As::kDeviceA, "GET", "/api/v1/devices", "", 403, "admin_only"},
      {"device registers devices", As::kDeviceA, "POST", "/api/v1/devices",
       R"({"id":"dev-c","project":"thermo","chip":"esp32c3"})", 403, "admin_only"},
      {"register without a token", As::kNobody, "POST", "/api/v1/devices",
       R"({"id":"dev-c","project":"thermo","chip":"esp32c3"})", 401, "unauthenticated"},
      {"register bad id", As::kAdmin, "POST", "/api/v1/devices",
       R"({"id":"dev/c","project":"thermo","chip":"esp32c3"})", 400, "invalid_value"},
      {"register unknown chip", As::kAdmin, "POST", "/api/v1/devices",
       R"({"id":"dev-c","project":"thermo","chip":"esp8266"})", 400, "invalid_value"},
      {"register unknown field", As::kAdmin, "POST", "/api/v1/devices",
       R"({"id":"dev-c","project":"thermo","chip":"esp32c3","owner":"me"})", 400, "unknown_field"},
      {"register tags as object", As::kAdmin, "POST", "/api/v1/devices",
       R"({"id":"dev-c","project":"thermo","chip":"esp32c3","tags":{}})", 400, "wrong_type"},
      {"register bad tag", As::kAdmin, "POST", "/api/v1/devices",
       R"({"id":"dev-c","project":"thermo","chip":"esp32c3","tags":["a,b"]})", 400,
       "invalid_value"},
      {"register existing id", As::kAdmin, "POST", "/api/v1/devices",
       R"({"id":"dev-a","project":"thermo","chip":"esp32c3"})", 409, "device_exists"},
      {"device list bad limit", As::kAdmin, "GET", "/api/v1/devices?limit=0", "", 400,
       "bad_request"},
      {"device show unknown", As::kAdmin, "GET", "/api/v1/devices/nobody", "", 404,
       "device_not_found"},
      // --- admin: rollouts ---
      {"rollout percent 150", As::kAdmin, "POST", "/api/v1/rollouts",
       R"({"release":"2.0.0","percent":150})", 400, "invalid_value"},
      {"rollout percent as text", As::kAdmin, "POST", "/api/v1/rollouts",
       R"({"release":"2.0.0","percent":"10"})", 400, "wrong_type"},
      {"rollout percent 3 decimals", As::kAdmin, "POST", "/api/v1/rollouts",
       R"({"release":"2.0.0","percent":1.005})", 400, "invalid_value"},
      {"rollout halt rate 2", As::kAdmin, "POST", "/api/v1/rollouts",
       R"({"release":"2.0.0","percent":5,"halt_failure_rate":2})", 400, "invalid_value"},
      {"rollout misspelt key", As::kAdmin, "POST", "/api/v1/rollouts",
       R"({"release":"2.0.0","percent":5,"min_verison":"1.0.0"})", 400, "unknown_field"},
      {"rollout unknown release", As::kAdmin, "POST", "/api/v1/rollouts",
       R"({"release":"7.7.7","percent":5})", 404, "release_not_found"},
      {"rollout release as bool", As::kAdmin, "POST", "/api/v1/rollouts",
       R"({"release":true,"percent":5})", 400, "invalid_value"},
      {"rollout percent set bad", As::kAdmin, "POST", "/api/v1/rollouts/" + rollout + "/percent",
       R"({"percent":-1})", 400, "invalid_value"},
      {"rollout unknown id", As::kAdmin, "GET", "/api/v1/rollouts/999", "", 404,
       "rollout_not_found"},
      {"rollout bad id", As::kAdmin, "GET", "/api/v1/rollouts/abc", "", 400, "invalid_rollout_id"},
      {"resume an active rollout", As::kAdmin, "POST", "/api/v1/rollouts/" + rollout + "/resume",
       "", 409, "rollout_not_paused"},
      {"device pauses a rollout", As::kDeviceA, "POST", "/api/v1/rollouts/" + rollout + "/pause",
       "", 403, "admin_only"},
      // --- admin: keys and releases ---
      {"private key registered", As::kAdmin, "POST", "/api/v1/projects/thermo/keys",
       boost::json::serialize(boost::json::object{{"public_pem", private_pem}}), 400,
       "private_key"},
      {"garbage key", As::kAdmin, "POST", "/api/v1/projects/thermo/keys",
       R"({"public_pem":"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"})", 400,
       "invalid_key"},
      {"key project with a space", As::kAdmin, "POST", "/api/v1/projects/a%20b/keys",
       R"({"public_pem":"x"})", 400, "bad_request"},
      {"release not json", As::kAdmin, "POST", "/api/v1/releases", "{", 400, "invalid_release"},
      {"release signed by an unknown key", As::kAdmin, "POST", "/api/v1/releases", foreign.json,
       422, "release_rejected"},
      {"release of a project without keys", As::kAdmin, "POST", "/api/v1/releases", keyless.json,
       409, "no_release_key"},
      {"release whose artifact is missing", As::kAdmin, "POST", "/api/v1/releases", unuploaded.json,
       409, "artifact_missing"},
      {"release already published", As::kAdmin, "POST", "/api/v1/releases", release.json, 409,
       "release_exists"},
      {"device publishes", As::kDeviceA, "POST", "/api/v1/releases", release.json, 403,
       "admin_only"},
      {"metrics without a token", As::kNobody, "GET", "/metrics", "", 401, "unauthenticated"},
      {"metrics as a device", As::kDeviceA, "GET", "/metrics", "", 403, "admin_only"},
      {"unknown path", As::kAdmin, "GET", "/api/v1/nothing", "", 404, "not_found"},
      {"wrong method", As::kAdmin, "DELETE", "/api/v1/releases", "", 405, "method_not_allowed"},
  };

  // One valid check-in first (then flushed), so the snapshot holds the device's real state.
  host::HttpsClient a_client = harness->Client(a.token);
  ASSERT_EQ(
      AloftdHarness::Call(a_client, "POST", "/api/v1/check", CheckinBody("dev-a", kNonce, "1.0.0"))
          .status,
      200);
  ASSERT_TRUE(harness->server().context().checkins.Flush().ok());
  const Snapshot before = Take(*harness, rollout_id);

  for (const Case& c : cases) {
    std::string token;
    std::vector<std::string> headers;
    switch (c.as) {
      case As::kNobody:
        break;
      case As::kAdmin:
        token = harness->admin_token();
        break;
      case As::kDeviceA:
        token = a.token;
        break;
      case As::kDeviceB:
        token = b.token;
        break;
      case As::kUnknownToken:
        token = std::string(43, 'Q');
        break;
      case As::kMalformedToken:
        token = "short";
        break;
      case As::kBasic:
        headers.push_back("Authorization: Basic YWRtaW46YWRtaW4=");
        break;
    }
    host::HttpsClient client = harness->Client(token);
    Reply reply = AloftdHarness::Call(client, c.method, c.path, c.body, headers);
    EXPECT_EQ(reply.status, c.status) << c.name << ": " << reply.body;
    EXPECT_EQ(reply.error_code(), c.code) << c.name << ": " << reply.body;
    const std::string* type = reply.raw.Header("content-type");
    EXPECT_TRUE(type != nullptr && *type == "application/json") << c.name;
    if (c.status == 401) {
      EXPECT_NE(reply.raw.Header("www-authenticate"), nullptr) << c.name;
    }
  }

  ASSERT_TRUE(harness->server().context().checkins.Flush().ok());
  const Snapshot after = Take(*harness, rollout_id);
  EXPECT_EQ(after.devices, before.devices);
  EXPECT_EQ(after.events, 0u);
  EXPECT_EQ(after.releases, before.releases);
  EXPECT_EQ(after.rollouts, before.rollouts);
  EXPECT_EQ(after.keys, before.keys);
  EXPECT_EQ(after.artifact_files, before.artifact_files);
  EXPECT_EQ(after.rollout_devices, before.rollout_devices);
  EXPECT_EQ(after.pending_checkins, 0u);
  EXPECT_TRUE(after == before);
  EXPECT_EQ(before.artifact_files, std::set<std::string>{sha + ".bin"});
}

TEST_P(ApiRobustnessTest, UnregisteredOrMismatchedImages_AreNeverPublished) {
  std::unique_ptr<AloftdHarness> harness;
  ALOFT_START_HARNESS(harness, GetParam());
  const host::ReleaseKey key =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  host::HttpsClient admin = harness->Admin();
  ASSERT_GT(harness->Publish(key, MakeSignedRelease(key, WithVersion("1.0.0"))), 0);

  // A manifest signed by the registered key over an image signed by another key.
  const host::ReleaseKey other =
      host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value();
  const SignedRelease other_signed = MakeSignedRelease(other, WithVersion("4.0.0"));
  SignedRelease mixed = MakeSignedRelease(key, WithVersion("4.0.0"));
  {
    core::ReleaseManifest manifest = host::ParseReleaseJson(mixed.json).value().manifest;
    manifest.size_bytes = static_cast<uint32_t>(other_signed.image.size());
    manifest.sha256 = server::Sha256Digest(other_signed.image);
    const host::ReleaseKey* keys[] = {&key};
    mixed.json = host::MakeReleaseJson(manifest, keys).value();
  }
  ASSERT_EQ(AloftdHarness::Call(admin, "PUT", "/api/v1/artifacts/" + other_signed.sha256,
                                TextOf(other_signed.image))
                .status,
            201);
  Reply reply = AloftdHarness::Call(admin, "POST", "/api/v1/releases", mixed.json);
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_EQ(reply.error_code(), "release_rejected");

  // A manifest that names an image whose header says another version.
  SignedRelease lying = MakeSignedRelease(key, WithVersion("5.0.0"));
  const SignedRelease real = MakeSignedRelease(key, WithVersion("6.0.0"));
  {
    core::ReleaseManifest manifest = host::ParseReleaseJson(lying.json).value().manifest;
    manifest.size_bytes = static_cast<uint32_t>(real.image.size());
    manifest.sha256 = server::Sha256Digest(real.image);
    const host::ReleaseKey* keys[] = {&key};
    lying.json = host::MakeReleaseJson(manifest, keys).value();
  }
  ASSERT_EQ(
      AloftdHarness::Call(admin, "PUT", "/api/v1/artifacts/" + real.sha256, TextOf(real.image))
          .status,
      201);
  reply = AloftdHarness::Call(admin, "POST", "/api/v1/releases", lying.json);
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_NE(reply.body.find("version differs from the manifest"), std::string::npos) << reply.body;

  // After revoking the key, its releases are refused.
  const std::string digest = server::HexEncode(key.key_digest());
  ASSERT_EQ(AloftdHarness::Call(admin, "POST", "/api/v1/projects/thermo/keys/" + digest + "/revoke")
                .status,
            200);
  const SignedRelease after_revoke = MakeSignedRelease(key, WithVersion("7.0.0"));
  ASSERT_EQ(AloftdHarness::Call(admin, "PUT", "/api/v1/artifacts/" + after_revoke.sha256,
                                TextOf(after_revoke.image))
                .status,
            201);
  reply = AloftdHarness::Call(admin, "POST", "/api/v1/releases", after_revoke.json);
  EXPECT_EQ(reply.status, 422) << reply.body;
  EXPECT_NE(reply.body.find("revoked"), std::string::npos) << reply.body;

  EXPECT_EQ(harness->store().ListReleases(server::ReleaseQuery{}).value().size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Backends, ApiRobustnessTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendParamName);

}  // namespace
}  // namespace aloft::testing
