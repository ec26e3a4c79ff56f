#pragma once
// A running aloftd for tests: a fresh data directory (`aloft server init`'s InitDataDir), the
// server started in-process on 127.0.0.1:0 against SQLite (the data dir's aloft.db) or
// PostgreSQL (a fresh schema in ALOFT_TEST_PG's database, so the admin token is registered in a
// fresh database at start), HTTPS clients with the pinned CA (real libcurl), and signed
// releases made in memory. Header-only: the server tests, the CLI tests and the integration
// tests include it.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "core/format/app_image.h"
#include "core/format/app_image_builder.h"
#include "core/release/manifest.h"
#include "ports/host/https_client.h"
#include "ports/host/openssl_crypto.h"
#include "ports/host/release_document.h"
#include "ports/host/release_key.h"
#include "server/aloftd.h"
#include "server/credentials.h"
#include "server/data_dir.h"
#include "server/store/store_test_backend.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::testing {

using server::testing::Backend;

inline std::string BackendParamName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// A signed app image and its RELEASE.json, as `aloft sign` and `aloft release make` make them.
struct SignedRelease {
  std::vector<std::byte> image;
  std::string json;
  std::string sha256;
  std::string version;
  std::string project;
};

struct ReleaseSpec {
  std::string version = "2.0.0";
  std::string project = "thermo";
  uint16_t chip_id = 5;  // esp32c3
  uint32_t secure_version = 1;
  std::string min_running_version;
  uint32_t payload_size = 8192;
};

inline ReleaseSpec WithVersion(std::string version) {
  ReleaseSpec spec;
  spec.version = std::move(version);
  return spec;
}

inline SignedRelease MakeSignedRelease(const host::ReleaseKey& key, const ReleaseSpec& spec = {}) {
  host::OpensslCrypto crypto;
  core::AppImageRecipe recipe;
  recipe.chip_id = spec.chip_id;
  recipe.version = spec.version;
  recipe.project_name = spec.project;
  recipe.secure_version = spec.secure_version;
  recipe.payload_size = spec.payload_size;
  recipe.mmu_page_size_log2 = 16;
  const uint32_t size = core::AppImageBuildSize(recipe).value();
  std::vector<std::byte> app(size);
  EXPECT_TRUE(core::BuildAppImage(recipe, crypto, app).ok());
  const host::ReleaseKey* keys[] = {&key};
  SignedRelease release;
  release.image = host::SignImage(app, keys, false).value();
  release.sha256 = server::Sha256Hex(release.image);
  release.version = spec.version;
  release.project = spec.project;
  core::ReleaseManifest manifest;
  EXPECT_TRUE(manifest.project.Assign(spec.project));
  EXPECT_TRUE(manifest.version.Assign(spec.version));
  EXPECT_TRUE(manifest.min_running_version.Assign(spec.min_running_version));
  manifest.chip_id = spec.chip_id;
  manifest.secure_version = spec.secure_version;
  manifest.size_bytes = static_cast<uint32_t>(release.image.size());
  manifest.sha256 = server::Sha256Digest(release.image);
  release.json = host::MakeReleaseJson(manifest, keys).value();
  return release;
}

inline std::string TextOf(const std::vector<std::byte>& bytes) {
  return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}

inline boost::json::value ParseJson(const std::string& text) {
  boost::system::error_code ec;
  boost::json::value value = boost::json::parse(text, ec);
  EXPECT_FALSE(ec) << "not JSON: " << text;
  return value;
}

struct Reply {
  long status = 0;
  std::string body;
  host::HttpsReply raw;
  boost::json::value json() const { return ParseJson(body); }
  // The error code of a {"error": {"code", "message"}} body, or "<not an error>".
  std::string error_code() const {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(body, ec);
    if (ec || !value.is_object() || !value.as_object().contains("error")) {
      return "<not an error>";
    }
    return std::string(value.at("error").at("code").as_string());
  }
};

struct DeviceCredentials {
  std::string id;
  std::string token;
  std::string secret_hex;
};

class AloftdHarness {
 public:
  // Starts a server on `backend`; returns null (after GTEST_SKIP-worthy logging) when
  // PostgreSQL is not configured. `adjust` may change the config before start.
  static std::unique_ptr<AloftdHarness> Start(
      Backend backend, const std::function<void(server::ServerConfig&)>& adjust = {}) {
    auto harness = std::unique_ptr<AloftdHarness>(new AloftdHarness());
    if (backend == Backend::kPostgres) {
      harness->database_ = server::testing::MakeTestDatabase(backend);
      if (harness->database_ == nullptr) {
        return nullptr;
      }
    }
    harness->data_dir_ = harness->dir_ / "data";
    server::InitOptions init;
    init.data_dir = harness->data_dir_;
    Result<server::InitResult> created = server::InitDataDir(init);
    EXPECT_TRUE(created.ok()) << DescribeStatus(created.status());
    harness->admin_token_ = created->admin_token;
    harness->ca_pem_ = ReadText(harness->data_dir_ / "ca.pem");
    server::ServerConfig config;
    config.listen = "127.0.0.1:0";
    config.io_threads = 2;
    config.checkin_flush_interval_ms = 60'000;  // tests flush explicitly
    if (harness->database_ != nullptr) {
      config.db = harness->database_->location();
    }
    if (adjust) {
      adjust(config);
    }
    harness->config_ = config;
    Result<std::unique_ptr<server::Aloftd>> started =
        server::Aloftd::Start({harness->data_dir_, config, {}});
    EXPECT_TRUE(started.ok()) << DescribeStatus(started.status());
    if (!started.ok()) {
      return nullptr;
    }
    harness->server_ = std::move(started).value();
    return harness;
  }

  ~AloftdHarness() {
    if (server_) {
      (void)server_->Stop(std::chrono::milliseconds(1000));
    }
  }

  server::Aloftd& server() { return *server_; }
  server::Store& store() { return server_->store(); }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& ca_pem() const { return ca_pem_; }
  std::string url() const { return "https://127.0.0.1:" + std::to_string(server_->port()); }
  server::testing::TestDatabase* database() { return database_.get(); }

  host::HttpsClient Client(const std::string& token) const {
    host::HttpsClientOptions options;
    options.base_url = url();
    options.ca_pem = ca_pem_;
    options.bearer_token = token;
    return host::HttpsClient::Create(options).value();
  }
  host::HttpsClient Admin() const { return Client(admin_token_); }

  static Reply Call(host::HttpsClient& client, const std::string& method, const std::string& path,
                    const std::string& body = {}, const std::vector<std::string>& headers = {}) {
    Result<host::HttpsReply> reply = client.Send(method, path, body, headers);
    EXPECT_TRUE(reply.ok()) << method << " " << path << ": " << DescribeStatus(reply.status())
                            << " " << client.last_error();
    if (!reply.ok()) {
      return {};
    }
    Reply out;
    out.status = reply->status;
    out.body = reply->body;
    out.raw = std::move(reply).value();
    return out;
  }

  // Registers the project key, uploads the artifact and publishes; returns the release id.
  int64_t Publish(const host::ReleaseKey& key, const SignedRelease& release,
                  bool register_key = true) {
    host::HttpsClient admin = Admin();
    if (register_key) {
      const std::string pem = key.PublicPem().value();
      Reply registered = Call(admin, "POST", "/api/v1/projects/" + release.project + "/keys",
                              boost::json::serialize(boost::json::object{{"public_pem", pem}}));
      EXPECT_TRUE(registered.status == 201 || registered.status == 409) << registered.body;
    }
    Reply uploaded =
        Call(admin, "PUT", "/api/v1/artifacts/" + release.sha256, TextOf(release.image));
    EXPECT_TRUE(uploaded.status == 201 || uploaded.status == 200) << uploaded.body;
    Reply published = Call(admin, "POST", "/api/v1/releases", release.json);
    EXPECT_EQ(published.status, 201) << published.body;
    return published.status == 201 ? published.json().at("id").as_int64() : 0;
  }

  DeviceCredentials Register(const std::string& id, const std::string& project = "thermo",
                             const std::string& chip = "esp32c3",
                             const std::vector<std::string>& tags = {}) {
    host::HttpsClient admin = Admin();
    boost::json::array tag_array;
    for (const std::string& tag : tags) {
      tag_array.emplace_back(tag);
    }
    Reply reply = Call(admin, "POST", "/api/v1/devices",
                       boost::json::serialize(boost::json::object{
                           {"id", id}, {"project", project}, {"chip", chip}, {"tags", tag_array}}));
    EXPECT_EQ(reply.status, 201) << reply.body;
    if (reply.status != 201) {
      return {};
    }
    const boost::json::value json = reply.json();
    return {id, std::string(json.at("token").as_string()),
            std::string(json.at("secret").as_string())};
  }

  // Starts a rollout; returns its id.
  int64_t StartRollout(const std::string& release, double percent, boost::json::object extra = {}) {
    host::HttpsClient admin = Admin();
    extra["release"] = release;
    extra["percent"] = percent;
    Reply reply = Call(admin, "POST", "/api/v1/rollouts", boost::json::serialize(extra));
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.status == 201 ? reply.json().at("id").as_int64() : 0;
  }

 private:
  AloftdHarness() = default;

  TempDir dir_;
  std::filesystem::path data_dir_;
  std::unique_ptr<server::testing::TestDatabase> database_;
  std::string admin_token_;
  std::string ca_pem_;
  server::ServerConfig config_;
  std::unique_ptr<server::Aloftd> server_;
};

// A check-in body for `device` ("version" 1.0.0, secure_version 1 by default).
inline std::string CheckinBody(const std::string& device_id, const std::string& nonce_hex,
                               const std::string& version = "1.0.0",
                               const std::string& project = "thermo",
                               const std::string& chip = "esp32c3",
                               std::vector<std::string> tags = {}) {
  boost::json::array tag_array;
  for (const std::string& tag : tags) {
    tag_array.emplace_back(tag);
  }
  return boost::json::serialize(boost::json::object{{"device_id", device_id},
                                                    {"project", project},
                                                    {"chip", chip},
                                                    {"version", version},
                                                    {"secure_version", 1},
                                                    {"tags", tag_array},
                                                    {"nonce", nonce_hex}});
}

}  // namespace aloft::testing

#define ALOFT_START_HARNESS(harness, backend)                                                   \
  harness = ::aloft::testing::AloftdHarness::Start(backend);                                    \
  if (harness == nullptr && (backend) == ::aloft::testing::Backend::kPostgres &&                \
      ::aloft::server::testing::TestPostgresConninfo().empty()) {                               \
    GTEST_SKIP() << "PostgreSQL tests need ALOFT_TEST_PG (run under scripts/with-postgres.sh)"; \
  }                                                                                             \
  ASSERT_NE(harness, nullptr)
