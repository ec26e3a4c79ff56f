#include "server/authenticator.h"

#include <gtest/gtest.h>

#include "server/store/store_test_backend.h"

namespace aloft::server {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

class AuthenticatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = database_.Open({}, SchemaMigrations()).value();
    admin_token_ = GenerateToken().value();
    device_token_ = GenerateToken().value();
    ASSERT_TRUE(store_->AddAdminToken("ops", TokenHash(admin_token_), kT0).ok());
    Device device;
    device.id = "dev-1";
    device.token_hash = TokenHash(device_token_);
    device.project = "p";
    device.chip = "esp32";
    device.created_at_ms = kT0;
    ASSERT_TRUE(store_->RegisterDevice(device).ok());
    for (size_t i = 0; i < master_.size(); ++i) {
      master_[i] = std::byte(i * 3);
    }
  }

  static HttpRequest WithBearer(const std::string& token) {
    HttpRequest request;
    request.headers.Add("Authorization", "Bearer " + token);
    return request;
  }

  testing::SqliteTestDatabase database_;
  std::unique_ptr<Store> store_;
  std::string admin_token_;
  std::string device_token_;
  MasterKey master_{};
  std::chrono::steady_clock::time_point now_{};
};

TEST_F(AuthenticatorTest, Roles_AreKeptApart) {
  Authenticator auth(*store_, master_, {std::chrono::seconds(30), 100, [this] { return now_; }});
  ApiResult<Caller> device = auth.RequireDevice(WithBearer(device_token_));
  ASSERT_TRUE(device.ok());
  EXPECT_EQ(device->name, "dev-1");
  EXPECT_EQ(device->secret, DeriveDeviceSecret(master_, "dev-1"));
  ApiResult<Caller> admin = auth.RequireAdmin(WithBearer(admin_token_));
  ASSERT_TRUE(admin.ok());
  EXPECT_EQ(admin->name, "ops");
  EXPECT_EQ(auth.RequireAdmin(WithBearer(device_token_)).error().code, "admin_only");
  EXPECT_EQ(auth.RequireDevice(WithBearer(admin_token_)).error().status, 403);
  EXPECT_EQ(auth.Authenticate(WithBearer(std::string(43, 'A'))).error().code, "invalid_token");
  EXPECT_EQ(auth.Authenticate(WithBearer("tiny")).error().code, "invalid_token");
  EXPECT_EQ(auth.Authenticate(HttpRequest{}).error().code, "unauthenticated");
}

TEST_F(AuthenticatorTest, ClientCertificate_NamesARegisteredDevice) {
  Authenticator auth(*store_, master_);
  HttpRequest request;
  request.client_cn = "dev-1";
  ApiResult<Caller> caller = auth.RequireDevice(request);
  ASSERT_TRUE(caller.ok());
  EXPECT_EQ(caller->name, "dev-1");
  request.client_cn = "dev-2";
  EXPECT_EQ(auth.Authenticate(request).error().code, "unknown_device");
  request.client_cn = "bad/cn";
  EXPECT_EQ(auth.Authenticate(request).error().code, "unknown_device");
}

TEST_F(AuthenticatorTest, Cache_ServesWithinTheTtl_ThenAsksTheStoreAgain) {
  Authenticator auth(*store_, master_, {std::chrono::seconds(30), 100, [this] { return now_; }});
  ASSERT_TRUE(auth.RequireDevice(WithBearer(device_token_)).ok());
  // The row disappears behind the server's back: the cached credential answers within the
  // TTL without asking the store ...
  database_.Exec("DELETE FROM devices WHERE id = 'dev-1'");
  now_ += std::chrono::seconds(29);
  EXPECT_TRUE(auth.RequireDevice(WithBearer(device_token_)).ok());
  // ... and after it the store is asked again.
  now_ += std::chrono::seconds(2);
  EXPECT_EQ(auth.RequireDevice(WithBearer(device_token_)).error().code, "invalid_token");
}

}  // namespace
}  // namespace aloft::server
