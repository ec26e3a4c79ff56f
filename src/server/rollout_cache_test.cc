#include "server/rollout_cache.h"

#include <gtest/gtest.h>

#include "server/store/store_test_backend.h"

namespace aloft::server {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

class RolloutCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = database_.Open({}, SchemaMigrations()).value();
    ASSERT_TRUE(store_->AddReleaseKey({"p", std::string(64, 'd'), "PEM", kT0, std::nullopt}).ok());
    ASSERT_TRUE(store_->RecordArtifact({std::string(64, 'c'), 4096, kT0}).ok());
    Release release;
    release.project = "p";
    release.chip = "esp32";
    release.version = "1.0.0";
    release.size_bytes = 4096;
    release.sha256 = std::string(64, 'c');
    release.signing_key_digest = std::string(64, 'd');
    release.manifest_json = "{\n  \"format\": \"x\",\n  \"n\": 1\n}\n";
    release.created_at_ms = kT0;
    release_id_ = store_->CreateRelease(release).value();
  }

  int64_t AddRollout() {
    Rollout rollout;
    rollout.release_id = release_id_;
    rollout.percent_bp = 500;
    rollout.created_at_ms = kT0;
    return store_->CreateRollout(rollout).value();
  }

  testing::SqliteTestDatabase database_;
  std::unique_ptr<Store> store_;
  int64_t release_id_ = 0;
  std::chrono::steady_clock::time_point now_{};
};

TEST_F(RolloutCacheTest, Entries_LiveForTheTtl_AndInvalidateDropsThem) {
  RolloutCache cache(*store_, {std::chrono::milliseconds(2000), 100, [this] { return now_; }});
  EXPECT_TRUE((*cache.Get("p", "esp32"))->rollouts.empty());
  const int64_t rollout = AddRollout();
  // Still the cached (empty) answer within the TTL: another server's write is not seen yet.
  now_ += std::chrono::milliseconds(1999);
  EXPECT_TRUE((*cache.Get("p", "esp32"))->rollouts.empty());
  // Past the TTL the store is read again.
  now_ += std::chrono::milliseconds(2);
  std::shared_ptr<const RolloutSet> set = *cache.Get("p", "esp32");
  ASSERT_EQ(set->rollouts.size(), 1u);
  EXPECT_EQ(set->rollouts[0].rollout.id, rollout);
  EXPECT_EQ(set->release_json[0], R"({"format":"x","n":1})");  // compacted once

  // This server's own writes invalidate at once.
  ASSERT_TRUE(store_->SetRolloutState(rollout, RolloutState::kPaused, "", kT0, std::nullopt).ok());
  EXPECT_EQ((*cache.Get("p", "esp32"))->rollouts.size(), 1u);
  cache.Invalidate();
  EXPECT_TRUE((*cache.Get("p", "esp32"))->rollouts.empty());
  // Other pairs are separate entries.
  EXPECT_TRUE((*cache.Get("p", "esp32c3"))->rollouts.empty());
}

TEST_F(RolloutCacheTest, FailedDevices_LoadedWithTheRollouts_AndRecordFailureAddsAtOnce) {
  const int64_t rollout = AddRollout();
  const UpdateState states[] = {UpdateState::kRolledBack, UpdateState::kConfirmed,
                                UpdateState::kFailed, UpdateState::kDownloading};
  for (int i = 0; i < 4; ++i) {
    Device device;
    device.id = "dev-" + std::to_string(i);
    device.token_hash = std::string(63, 'a') + static_cast<char>('0' + i);
    device.project = "p";
    device.chip = "esp32";
    device.current_version = "0.9.0";
    device.created_at_ms = kT0;
    ASSERT_TRUE(store_->RegisterDevice(device).ok());
    ASSERT_TRUE(
        store_->UpsertRolloutDevice({rollout, device.id, states[i], "", kT0}, OnExisting::kReplace)
            .ok());
  }
  RolloutCache cache(*store_, {std::chrono::milliseconds(2000), 100, [this] { return now_; }});
  std::shared_ptr<const RolloutSet> before = *cache.Get("p", "esp32");
  ASSERT_EQ(before->failed_devices.size(), 1u);
  EXPECT_EQ(before->failed_devices[0], (std::vector<std::string>{"dev-0", "dev-2"}));
  EXPECT_EQ(before->FailedRollouts("dev-0"), std::vector<int64_t>{rollout});
  EXPECT_TRUE(before->FailedRollouts("dev-1").empty());
  EXPECT_TRUE(before->FailedRollouts("dev-3").empty());

  // dev-3 fails; its event committed on this server: the next Get sees it without a reload
  // (the store's row is not even written here, and the TTL has not passed).
  cache.RecordFailure(rollout, "dev-3");
  cache.RecordFailure(rollout, "dev-3");      // twice: listed once
  cache.RecordFailure(rollout + 1, "dev-1");  // a rollout not cached: nothing to do
  std::shared_ptr<const RolloutSet> after = *cache.Get("p", "esp32");
  EXPECT_EQ(after->failed_devices[0], (std::vector<std::string>{"dev-0", "dev-2", "dev-3"}));
  EXPECT_EQ(after->FailedRollouts("dev-3"), std::vector<int64_t>{rollout});
  EXPECT_TRUE(after->FailedRollouts("dev-1").empty());
  // A reader's snapshot does not change under it.
  EXPECT_EQ(before->failed_devices[0], (std::vector<std::string>{"dev-0", "dev-2"}));
  // Past the TTL the store is the truth again (dev-3's row says downloading here).
  now_ += std::chrono::milliseconds(2001);
  EXPECT_EQ((*cache.Get("p", "esp32"))->failed_devices[0],
            (std::vector<std::string>{"dev-0", "dev-2"}));
}

TEST(CompactJson, Table) {
  EXPECT_EQ(CompactJson("{ \"a\" : [1, 2] }"), R"({"a":[1,2]})");
  EXPECT_EQ(CompactJson("not json"), "not json");
}

}  // namespace
}  // namespace aloft::server
