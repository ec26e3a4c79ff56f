#include "server/checkin_buffer.h"

#include <gtest/gtest.h>

#include "server/store/store_test_backend.h"
#include "support/status_testing.h"

namespace aloft::server {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

class CheckinBufferTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = database_.Open({}, SchemaMigrations()).value();
    for (const char* id : {"d1", "d2"}) {
      Device device;
      device.id = id;
      device.token_hash = TokenHashOf(id);
      device.project = "p";
      device.chip = "esp32";
      device.current_version = "0.1.0";
      device.created_at_ms = kT0;
      ASSERT_TRUE(store_->RegisterDevice(device).ok());
    }
  }
  static std::string TokenHashOf(const std::string& id) {
    return std::string(63, id == "d1" ? 'a' : 'b') + "0";
  }

  testing::SqliteTestDatabase database_;
  std::unique_ptr<Store> store_;
};

TEST_F(CheckinBufferTest, RepeatedCheckins_AreWrittenOnceWithTheLatestState) {
  CheckinBuffer buffer(*store_, {std::chrono::hours(1), 1000, 10000});
  buffer.Add({"d1", "1.0.0", 1, {"a"}, kT0 + 1});
  buffer.Add({"d1", "1.1.0", 2, {"b"}, kT0 + 2});
  buffer.Add({"d2", "2.0.0", 3, {}, kT0 + 3});
  buffer.Add({"ghost", "9.9.9", 0, {}, kT0 + 4});  // unknown devices are skipped
  EXPECT_EQ(buffer.pending(), 3u);
  // Nothing is written before a flush.
  EXPECT_EQ(store_->GetDevice("d1")->current_version, "0.1.0");
  ASSERT_TRUE(buffer.Flush().ok());
  EXPECT_EQ(buffer.pending(), 0u);
  const Device d1 = store_->GetDevice("d1").value();
  EXPECT_EQ(d1.current_version, "1.1.0");
  EXPECT_EQ(d1.secure_version, 2u);
  EXPECT_EQ(d1.tags, std::vector<std::string>{"b"});
  EXPECT_EQ(d1.last_checkin_at_ms, std::optional<int64_t>(kT0 + 2));
  EXPECT_EQ(store_->GetDevice("d2")->current_version, "2.0.0");
}

TEST_F(CheckinBufferTest, Offers_AreWrittenOnceAndNeverOverwriteProgress) {
  Artifact artifact{std::string(64, 'c'), 4096, kT0};
  ASSERT_TRUE(store_->AddReleaseKey({"p", std::string(64, 'd'), "PEM", kT0, std::nullopt}).ok());
  ASSERT_TRUE(store_->RecordArtifact(artifact).ok());
  Release release;
  release.project = "p";
  release.chip = "esp32";
  release.version = "1.0.0";
  release.size_bytes = 4096;
  release.sha256 = artifact.sha256;
  release.signing_key_digest = std::string(64, 'd');
  release.created_at_ms = kT0;
  const int64_t release_id = store_->CreateRelease(release).value();
  Rollout rollout;
  rollout.release_id = release_id;
  rollout.percent_bp = 10000;
  rollout.created_at_ms = kT0;
  const int64_t rollout_id = store_->CreateRollout(rollout).value();

  CheckinBuffer buffer(*store_, {std::chrono::hours(1), 1000, 10000});
  buffer.AddOffer(rollout_id, "d1", kT0 + 1);
  buffer.AddOffer(rollout_id, "d1", kT0 + 2);  // remembered: not queued again
  buffer.AddOffer(rollout_id, "d2", kT0 + 3);
  EXPECT_EQ(buffer.pending(), 2u);
  // d2 reports progress before the offer is flushed: the offer must not overwrite it.
  ASSERT_TRUE(store_
                  ->UpsertRolloutDevice({rollout_id, "d2", UpdateState::kDownloading, "", kT0 + 4},
                                        OnExisting::kReplace)
                  .ok());
  ASSERT_TRUE(buffer.Flush().ok());
  EXPECT_EQ(store_->GetRolloutDevice(rollout_id, "d1")->state, UpdateState::kOffered);
  EXPECT_EQ(store_->GetRolloutDevice(rollout_id, "d2")->state, UpdateState::kDownloading);
}

TEST_F(CheckinBufferTest, Stop_FlushesWhatIsPending) {
  {
    CheckinBuffer buffer(*store_, {std::chrono::hours(1), 1000, 10000});
    buffer.Start();
    buffer.Add({"d1", "3.0.0", 0, {}, kT0 + 9});
    ASSERT_TRUE(buffer.Stop().ok());
    EXPECT_EQ(buffer.pending(), 0u);
  }
  EXPECT_EQ(store_->GetDevice("d1")->current_version, "3.0.0");
}

}  // namespace
}  // namespace aloft::server
