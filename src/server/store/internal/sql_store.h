#pragma once
// SqlStore: the Store's behaviour, written once as SQL that both dialects accept ($N
// placeholders, INSERT ... ON CONFLICT, RETURNING), over any SqlDatabase. SqliteStore and
// PostgresStore are this class over their own SqlDatabase, so both backends share every
// statement, transaction boundary and error mapping, and differ only in connections.
// Internal to src/server/store: other rooms use store.h (OpenStore).

#include <memory>
#include <string>
#include <vector>

#include "server/store/internal/sql_database.h"
#include "server/store/store.h"

namespace aloft::server::internal {

class SqlStore final : public Store {
 public:
  // REQUIRES: `database` is migrated to kSchemaVersion (OpenStore does it).
  explicit SqlStore(std::unique_ptr<SqlDatabase> database);

  Status Ping() override;
  Result<int64_t> SchemaVersion() override;

  Result<int64_t> AddAdminToken(std::string_view name, std::string_view token_hash,
                                int64_t now_ms) override;
  Result<AdminToken> FindAdminTokenByHash(std::string_view token_hash) override;

  Status AddReleaseKey(const ReleaseKey& key) override;
  Result<std::vector<ReleaseKey>> ListReleaseKeys(std::string_view project) override;
  Result<ReleaseKey> FindReleaseKey(std::string_view project, std::string_view key_digest) override;
  Status RevokeReleaseKey(std::string_view project, std::string_view key_digest,
                          int64_t now_ms) override;

  Status RecordArtifact(const Artifact& artifact) override;
  Result<Artifact> FindArtifact(std::string_view sha256) override;

  Result<int64_t> CreateRelease(const Release& release) override;
  Result<Release> GetRelease(int64_t id) override;
  Result<Release> GetReleaseByVersion(std::string_view project, std::string_view chip,
                                      std::string_view version) override;
  Result<std::vector<Release>> ListReleases(const ReleaseQuery& query) override;

  Status RegisterDevice(const Device& device) override;
  Result<Device> GetDevice(std::string_view id) override;
  Result<Device> FindDeviceByTokenHash(std::string_view token_hash) override;
  Status RecordCheckin(const DeviceCheckin& checkin) override;
  Result<size_t> RecordCheckins(std::span<const DeviceCheckin> checkins) override;
  Result<DevicePage> ListDevices(const DeviceQuery& query) override;
  Result<std::vector<VersionCount>> CountDevicesByVersion() override;

  Result<int64_t> CreateRollout(const Rollout& rollout) override;
  Result<Rollout> GetRollout(int64_t id) override;
  Result<std::vector<Rollout>> ListRollouts(const RolloutQuery& query) override;
  Result<std::vector<ActiveRollout>> ListActiveRollouts(std::string_view project,
                                                        std::string_view chip) override;
  Status SetRolloutState(int64_t id, RolloutState state, std::string_view reason, int64_t now_ms,
                         std::optional<RolloutState> expected) override;
  Status SetRolloutPercent(int64_t id, uint32_t percent_bp, int64_t now_ms) override;
  Result<std::vector<RolloutPercentChange>> ListRolloutPercentChanges(int64_t id) override;

  Status UpsertRolloutDevice(const RolloutDevice& entry, OnExisting on_existing) override;
  Result<RolloutDevice> GetRolloutDevice(int64_t rollout_id, std::string_view device_id) override;
  Result<RolloutCounts> CountRolloutDevices(int64_t rollout_id) override;
  Result<std::vector<std::string>> ListFailedRolloutDevices(int64_t rollout_id) override;

  Result<EventInsert> RecordEvent(const Event& event) override;
  Result<std::vector<Event>> ListDeviceEvents(std::string_view device_id, uint32_t limit) override;

 private:
  Result<std::unique_ptr<SqlSession>> Read();
  Result<std::unique_ptr<SqlSession>> Write(SqlDurability durability);

  std::unique_ptr<SqlDatabase> database_;
};

// Tag lists as stored: "" for none, else ",a,b," (sorted, unique), so "has tag t" is a
// substring test for ",t,". Exposed for tests.
std::string EncodeTags(const std::vector<std::string>& canonical_tags);
std::vector<std::string> DecodeTags(std::string_view stored);

}  // namespace aloft::server::internal
