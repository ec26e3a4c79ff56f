// How devices reach aloftd: artifact downloads (Range resumes byte-exact, HEAD, ETag and 304,
// 416), client-certificate identity (CN = device id, signed by the data dir's CA), idempotent
// events, and the device's view of its own limits. Both backends, real TLS and libcurl.

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "ports/host/x509_certificate.h"
#include "support/aloftd_harness.h"

namespace aloft::testing {
namespace {

class DeviceAccessTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ALOFT_START_HARNESS(harness_, GetParam());
    key_.emplace(host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value());
    ReleaseSpec spec;
    spec.payload_size = 200'000;  // a few records and file chunks
    release_ = MakeSignedRelease(*key_, spec);
    release_id_ = harness_->Publish(*key_, release_);
    ASSERT_GT(release_id_, 0);
    device_ = harness_->Register("dl-1");
  }

  std::unique_ptr<AloftdHarness> harness_;
  std::optional<host::ReleaseKey> key_;
  SignedRelease release_;
  int64_t release_id_ = 0;
  DeviceCredentials device_;
};

TEST_P(DeviceAccessTest, RangeDownloads_AreByteExact) {
  host::HttpsClient client = harness_->Client(device_.token);
  const std::string path = "/api/v1/artifacts/" + release_.sha256;
  const std::string whole = TextOf(release_.image);
  const uint64_t size = whole.size();

  Reply full = AloftdHarness::Call(client, "GET", path);
  ASSERT_EQ(full.status, 200);
  EXPECT_EQ(full.body, whole);
  EXPECT_EQ(*full.raw.Header("etag"), "\"" + release_.sha256 + "\"");
  EXPECT_EQ(*full.raw.Header("accept-ranges"), "bytes");
  EXPECT_EQ(*full.raw.Header("content-length"), std::to_string(size));

  struct RangeCase {
    std::string range;
    uint64_t first;
    uint64_t length;
  };
  const RangeCase ranges[] = {
      {"bytes=0-0", 0, 1},
      {"bytes=100-4195", 100, 4096},
      {"bytes=65536-", 65536, size - 65536},
      {"bytes=-1000", size - 1000, 1000},
      {"bytes=" + std::to_string(size - 1) + "-" + std::to_string(size + 50), size - 1, 1},
  };
  for (const RangeCase& r : ranges) {
    Reply part = AloftdHarness::Call(client, "GET", path, "", {"Range: " + r.range});
    EXPECT_EQ(part.status, 206) << r.range;
    EXPECT_EQ(part.body, whole.substr(r.first, r.length)) << r.range;
    EXPECT_EQ(*part.raw.Header("content-range"), "bytes " + std::to_string(r.first) + "-" +
                                                     std::to_string(r.first + r.length - 1) + "/" +
                                                     std::to_string(size))
        << r.range;
  }

  // A resumed download in pieces reassembles the artifact exactly (the agent's pattern).
  std::string assembled;
  while (assembled.size() < size) {
    std::string piece;
    Result<host::HttpsReply> reply =
        client.Download(path, assembled.size(), [&](ConstByteSpan bytes) {
          piece.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
          return piece.size() < 50'000;  // "lose the connection" after ~50 KB
        });
    assembled += piece;
    if (reply.ok()) {
      break;
    }
    EXPECT_STATUS(reply.status(), Aborted("https: download aborted by the sink"));
  }
  EXPECT_EQ(assembled, whole);

  Reply beyond =
      AloftdHarness::Call(client, "GET", path, "", {"Range: bytes=" + std::to_string(size) + "-"});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(*beyond.raw.Header("content-range"), "bytes */" + std::to_string(size));

  Reply not_modified =
      AloftdHarness::Call(client, "GET", path, "", {"If-None-Match: \"" + release_.sha256 + "\""});
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_TRUE(not_modified.body.empty());

  Reply stale_if_range =
      AloftdHarness::Call(client, "GET", path, "", {"Range: bytes=0-9", "If-Range: \"other\""});
  EXPECT_EQ(stale_if_range.status, 200);
  EXPECT_EQ(stale_if_range.body, whole);

  Reply head = AloftdHarness::Call(client, "HEAD", path);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(*head.raw.Header("content-length"), std::to_string(size));

  // Admins may download too.
  host::HttpsClient admin = harness_->Admin();
  EXPECT_EQ(AloftdHarness::Call(admin, "GET", path, "", {"Range: bytes=0-15"}).body,
            whole.substr(0, 16));

  // Downloads are counted with their bytes.
  Reply metrics = AloftdHarness::Call(admin, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("aloft_downloads_total "), std::string::npos);
  EXPECT_EQ(metrics.body.find("aloft_downloads_total 0\n"), std::string::npos) << metrics.body;
}

TEST_P(DeviceAccessTest, ClientCertificate_IdentifiesTheDevice) {
  const std::filesystem::path dir = harness_->data_dir();
  const host::X509Certificate ca =
      host::X509Certificate::FromPem(ReadText(dir / "ca.pem"), ReadText(dir / "ca.key")).value();
  auto issue = [&](const std::string& cn, const host::X509Certificate& issuer) {
    host::CertificateRequest request;
    request.common_name = cn;
    request.role = host::CertificateRole::kClient;
    const host::X509Certificate cert = host::X509Certificate::Issue(request, &issuer).value();
    const std::filesystem::path cert_path = dir / (cn + ".crt");
    const std::filesystem::path key_path = dir / (cn + ".key");
    std::ofstream(cert_path) << cert.CertificatePem().value();
    std::ofstream(key_path) << cert.PrivateKeyPem().value();
    return std::make_pair(cert_path.string(), key_path.string());
  };
  auto client_with = [&](const std::pair<std::string, std::string>& files) {
    host::HttpsClientOptions options;
    options.base_url = harness_->url();
    options.ca_pem = harness_->ca_pem();
    options.client_certificate_path = files.first;
    options.client_key_path = files.second;
    return host::HttpsClient::Create(options).value();
  };
  const std::string nonce = "0102030405060708090a0b0c0d0e0f10";

  host::HttpsClient device = client_with(issue("dl-1", ca));
  Reply reply = AloftdHarness::Call(device, "POST", "/api/v1/check", CheckinBody("dl-1", nonce));
  EXPECT_EQ(reply.status, 200) << reply.body;
  EXPECT_NE(reply.raw.Header("x-aloft-freshness"), nullptr);
  // The certificate names dl-1: it cannot check in as another device.
  harness_->Register("dl-2");
  reply = AloftdHarness::Call(device, "POST", "/api/v1/check", CheckinBody("dl-2", nonce));
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.error_code(), "wrong_device");

  // A certificate for a device that is not registered is not an identity.
  host::HttpsClient stranger = client_with(issue("ghost-1", ca));
  reply = AloftdHarness::Call(stranger, "POST", "/api/v1/check", CheckinBody("ghost-1", nonce));
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.error_code(), "unknown_device");

  // A certificate from another CA fails the TLS handshake itself.
  host::CertificateRequest rogue_ca_request;
  rogue_ca_request.common_name = "rogue CA";
  rogue_ca_request.role = host::CertificateRole::kCa;
  const host::X509Certificate rogue_ca =
      host::X509Certificate::Issue(rogue_ca_request, nullptr).value();
  host::HttpsClient rogue = client_with(issue("dl-1-rogue", rogue_ca));
  EXPECT_FALSE(rogue.Send("POST", "/api/v1/check", CheckinBody("dl-1", nonce)).ok());
}

TEST_P(DeviceAccessTest, Events_AreIdempotentByDeviceAndEventId) {
  const int64_t rollout = harness_->StartRollout("2.0.0", 100);
  host::HttpsClient client = harness_->Client(device_.token);
  const std::string body =
      "{\"device_id\":\"dl-1\",\"events\":[{\"id\":\"a1\",\"state\":\"downloading\",\"progress\":"
      "40,\"bytes\":81920,\"version\":\"1.0.0\",\"rollout_id\":" +
      std::to_string(rollout) +
      "},{\"id\":\"a2\",\"state\":\"verified\",\"version\":\"1.0.0\",\"release_id\":" +
      std::to_string(release_id_) + ",\"rollout_id\":" + std::to_string(rollout) + "}]}";
  Reply first = AloftdHarness::Call(client, "POST", "/api/v1/events", body);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(boost::json::serialize(first.json()), R"({"accepted":["a1","a2"],"duplicates":[]})");
  Reply again = AloftdHarness::Call(client, "POST", "/api/v1/events", body);
  EXPECT_EQ(boost::json::serialize(again.json()), R"({"accepted":[],"duplicates":["a1","a2"]})");
  const std::vector<server::Event> events = harness_->store().ListDeviceEvents("dl-1", 10).value();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].progress_bytes, std::optional<int64_t>(81920));
  EXPECT_EQ(events[1].release_id, std::optional<int64_t>(release_id_));  // filled from the rollout
  EXPECT_EQ(harness_->store().GetRolloutDevice(rollout, "dl-1").value().state,
            server::UpdateState::kVerified);

  // The admin's view of the device shows them, newest first.
  host::HttpsClient admin = harness_->Admin();
  Reply shown = AloftdHarness::Call(admin, "GET", "/api/v1/devices/dl-1");
  ASSERT_EQ(shown.status, 200);
  EXPECT_EQ(shown.json().at("events").as_array()[0].at("id").as_string(), "a2");
  EXPECT_EQ(shown.json().at("last_event_state").as_string(), "verified");
}

TEST_P(DeviceAccessTest, DeviceList_PagesAndFilters) {
  for (int i = 0; i < 5; ++i) {
    harness_->Register("room-" + std::to_string(i), "thermo", "esp32c3",
                       i % 2 ? std::vector<std::string>{"odd"} : std::vector<std::string>{});
  }
  host::HttpsClient admin = harness_->Admin();
  Reply page = AloftdHarness::Call(admin, "GET", "/api/v1/devices?prefix=room-&limit=2");
  ASSERT_EQ(page.status, 200);
  EXPECT_EQ(page.json().at("devices").as_array().size(), 2u);
  EXPECT_EQ(page.json().at("next_after").as_string(), "room-1");
  page = AloftdHarness::Call(admin, "GET", "/api/v1/devices?prefix=room-&limit=10&after=room-1");
  EXPECT_EQ(page.json().at("devices").as_array().size(), 3u);
  page = AloftdHarness::Call(admin, "GET", "/api/v1/devices?tag=odd");
  EXPECT_EQ(page.json().at("devices").as_array().size(), 2u);
}

TEST_P(DeviceAccessTest, Healthz_IsOpenAndReportsTheSchema) {
  host::HttpsClient anonymous = harness_->Client("");
  Reply health = AloftdHarness::Call(anonymous, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json().at("status").as_string(), "ok");
  EXPECT_EQ(health.json().at("schema_version").as_int64(), 1);
}

INSTANTIATE_TEST_SUITE_P(Backends, DeviceAccessTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendParamName);

}  // namespace
}  // namespace aloft::testing
