#pragma once
// Store: everything aloftd persists except artifact bytes, behind one interface with two
// backends (SqliteStore: one file in the data dir, WAL; PostgresStore: a connection pool), which
// pass one contract test suite (store_contract_test.cc). Handlers never see SQL.
//
// Thread-safety: every method may be called from many threads at once. Each method is atomic:
// it either commits all of its effects or none (a multi-row method runs in one transaction).
// A method that returned OK has committed; what it wrote survives a SIGKILL of the process
// (durability details, and what a power loss may cost: README.md).
//
// Time: the store never reads a clock. Every timestamp is int64 milliseconds since the Unix
// epoch, passed by the caller.
//
// Errors every method may return, besides those listed at each method:
//   kUnavailable   the database cannot be reached right now: a lost PostgreSQL connection (the
//                  failed call reports it; the next call reconnects), a lock wait that timed out.
//                  Retrying may succeed.
//   kDataLoss      the database file is corrupt (SQLite).
//   kResourceExhausted  the disk or the database is full.
//   kInternal      any other database error (logged with ALOFT_LOG_ERROR, with the database's
//                  own message).
// Reasons are string literals ("store: device not found"); dynamic detail goes to the log.

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "core/status.h"
#include "server/store/records.h"

namespace aloft::server {

// What a write to an existing rollout_devices row does.
enum class OnExisting : uint8_t {
  kReplace,  // the new state replaces the old one
  kKeep,     // the old state stays (for kOffered: never overwrite real progress)
};

class Store {
 public:
  virtual ~Store() = default;

  // --- health ---

  // One round trip to the database. OK when it answers.
  virtual Status Ping() = 0;
  // The schema version the database is at (migrations.h: kSchemaVersion after a successful open).
  virtual Result<int64_t> SchemaVersion() = 0;

  // --- admin tokens ---

  // Adds a token (its SHA-256 hex, never the token) and returns its id.
  //   kInvalidArgument "store: token hash is not sha256 hex"
  //   kAlreadyExists   "store: admin token already exists" (same hash)
  virtual Result<int64_t> AddAdminToken(std::string_view name, std::string_view token_hash,
                                        int64_t now_ms) = 0;
  //   kNotFound "store: admin token not found"
  virtual Result<AdminToken> FindAdminTokenByHash(std::string_view token_hash) = 0;

  // --- release keys ---

  // Registers `key` for key.project (key.revoked_at_ms is ignored: a new key is not revoked).
  //   kInvalidArgument "store: key digest is not sha256 hex"
  //   kAlreadyExists   "store: release key already registered" (same project and digest)
  virtual Status AddReleaseKey(const ReleaseKey& key) = 0;
  // All keys of `project`, revoked ones included, oldest first.
  virtual Result<std::vector<ReleaseKey>> ListReleaseKeys(std::string_view project) = 0;
  //   kNotFound "store: release key not found"
  virtual Result<ReleaseKey> FindReleaseKey(std::string_view project,
                                            std::string_view key_digest) = 0;
  // Marks the key revoked at now_ms. Revoking a revoked key is OK and keeps the first time.
  //   kNotFound "store: release key not found"
  virtual Status RevokeReleaseKey(std::string_view project, std::string_view key_digest,
                                  int64_t now_ms) = 0;

  // --- artifacts ---

  // Records that DATA/artifacts/<sha256>.bin exists with this size. Recording the same
  // (sha256, size) again is OK and keeps the first created_at_ms (uploads are retried).
  //   kInvalidArgument "store: artifact sha256 is not sha256 hex"
  //   kAlreadyExists   "store: artifact recorded with another size"
  virtual Status RecordArtifact(const Artifact& artifact) = 0;
  //   kNotFound "store: artifact not found"
  virtual Result<Artifact> FindArtifact(std::string_view sha256) = 0;

  // --- releases ---

  // Creates a release (release.id is ignored) and returns its id.
  //   kNotFound      "store: release artifact not recorded" (release.sha256),
  //                  "store: release signing key not registered" (project, signing_key_digest)
  //   kAlreadyExists "store: release version already exists" (project, chip, version)
  virtual Result<int64_t> CreateRelease(const Release& release) = 0;
  //   kNotFound "store: release not found"
  virtual Result<Release> GetRelease(int64_t id) = 0;
  virtual Result<Release> GetReleaseByVersion(std::string_view project, std::string_view chip,
                                              std::string_view version) = 0;
  // Releases matching every non-empty field of `query`, newest (highest id) first.
  virtual Result<std::vector<Release>> ListReleases(const ReleaseQuery& query) = 0;

  // --- devices ---

  // Registers a device from device.{id, token_hash, project, chip, tags, current_version,
  // secure_version, created_at_ms}; the last_* fields start unset.
  //   kInvalidArgument "store: invalid device id", "store: invalid tag", "store: too many tags",
  //                    "store: token hash is not sha256 hex"
  //   kAlreadyExists   "store: device id already registered",
  //                    "store: device token already registered"
  virtual Status RegisterDevice(const Device& device) = 0;
  //   kNotFound "store: device not found"
  virtual Result<Device> GetDevice(std::string_view id) = 0;
  virtual Result<Device> FindDeviceByTokenHash(std::string_view token_hash) = 0;
  // One check-in: sets current_version, secure_version, tags and last_checkin_at_ms. One
  // single-row UPDATE by primary key.
  //   kInvalidArgument "store: invalid tag", "store: too many tags"
  //   kNotFound        "store: device not found"
  virtual Status RecordCheckin(const DeviceCheckin& checkin) = 0;
  // Many check-ins in one transaction (for a server that buffers last-seen updates). Unknown
  // devices are skipped; a device listed twice is updated once, from its last entry. Returns how
  // many devices were updated. All or nothing on any error (kInvalidArgument as above).
  virtual Result<size_t> RecordCheckins(std::span<const DeviceCheckin> checkins) = 0;
  // One page of devices matching `query`, ordered by id.
  //   kInvalidArgument "store: page limit out of range", "store: invalid device id prefix",
  //                    "store: invalid tag"
  virtual Result<DevicePage> ListDevices(const DeviceQuery& query) = 0;
  // Every registered device counted by (project, chip, current version): one GROUP BY, ordered
  // by project, chip and version (bytewise, the same on every backend).
  virtual Result<std::vector<VersionCount>> CountDevicesByVersion() = 0;

  // --- rollouts ---

  // Creates a rollout (rollout.id and updated_at_ms are ignored; updated_at_ms starts as
  // created_at_ms) and its first percentage-history entry; returns its id.
  //   kInvalidArgument "store: rollout percent above 10000 basis points",
  //                    "store: halt failure rate outside 0..1", "store: invalid tag",
  //                    "store: too many tags"
  //   kNotFound        "store: release not found"
  virtual Result<int64_t> CreateRollout(const Rollout& rollout) = 0;
  //   kNotFound "store: rollout not found"
  virtual Result<Rollout> GetRollout(int64_t id) = 0;
  // Rollouts matching `query`, newest first.
  virtual Result<std::vector<Rollout>> ListRollouts(const RolloutQuery& query) = 0;
  // Active rollouts whose release is for (project, chip), each with its release, oldest first.
  virtual Result<std::vector<ActiveRollout>> ListActiveRollouts(std::string_view project,
                                                                std::string_view chip) = 0;
  // Sets state, state_reason and updated_at_ms. With `expected`, only if the rollout is in that
  // state right now (a compare-and-set, so an automatic halt and an admin's resume racing on two
  // servers cannot undo each other).
  //   kNotFound           "store: rollout not found"
  //   kFailedPrecondition "store: rollout is not in the expected state"
  virtual Status SetRolloutState(int64_t id, RolloutState state, std::string_view reason,
                                 int64_t now_ms, std::optional<RolloutState> expected) = 0;
  // Sets percent_bp and updated_at_ms and appends to the history, in one transaction.
  //   kInvalidArgument "store: rollout percent above 10000 basis points"
  //   kNotFound        "store: rollout not found"
  virtual Status SetRolloutPercent(int64_t id, uint32_t percent_bp, int64_t now_ms) = 0;
  // The percentage history, oldest first.
  //   kNotFound "store: rollout not found"
  virtual Result<std::vector<RolloutPercentChange>> ListRolloutPercentChanges(int64_t id) = 0;

  // --- rollout devices ---

  // Writes a device's latest state in a rollout (an upsert on (rollout_id, device_id)).
  //   kNotFound "store: rollout not found", "store: device not found"
  virtual Status UpsertRolloutDevice(const RolloutDevice& entry, OnExisting on_existing) = 0;
  //   kNotFound "store: rollout device not found"
  virtual Result<RolloutDevice> GetRolloutDevice(int64_t rollout_id,
                                                 std::string_view device_id) = 0;
  // Devices per state in the rollout (one GROUP BY). An unknown rollout counts all zeros.
  virtual Result<RolloutCounts> CountRolloutDevices(int64_t rollout_id) = 0;
  // The ids of the devices whose latest state in the rollout is failed or rolled_back (the
  // devices the rollout must not be offered to again), in byte order. An unknown rollout has
  // none.
  virtual Result<std::vector<std::string>> ListFailedRolloutDevices(int64_t rollout_id) = 0;

  // --- events ---

  // Records a device's report, idempotently by (device_id, event_id), in ONE transaction with
  // its effects: when new, the event row, the device's last_event_at_ms/last_event_state, and,
  // if event.rollout_id is set, the device's rollout_devices row (kReplace). So an event that
  // was answered 2xx is never half-stored. A duplicate changes nothing and says kDuplicate
  // (the first copy's fields win).
  //   kInvalidArgument "store: invalid event id", "store: offered is not a device event"
  //   kNotFound        "store: device not found", "store: rollout not found",
  //                    "store: release not found"
  virtual Result<EventInsert> RecordEvent(const Event& event) = 0;
  // The device's events in the order they were recorded, newest first, at most `limit`
  // (1..kMaxPageSize). An unknown device has none.
  //   kInvalidArgument "store: page limit out of range"
  virtual Result<std::vector<Event>> ListDeviceEvents(std::string_view device_id,
                                                      uint32_t limit) = 0;
};

// How to reach the database, and the knobs that are not part of the location.
struct StoreOptions {
  // PostgreSQL: connections kept (opened lazily). SQLite: reader connections (one writer more).
  int pool_size = 8;
  // SQLite only. false (default): synchronous=FULL for the rare writes that cannot be redone
  // (tokens, keys, artifacts, releases, devices, rollouts) and NORMAL for check-ins, events and
  // rollout-device states; true: FULL for every write. See README.md "Durability".
  bool sqlite_sync_every_commit = false;
  // PostgreSQL only: application_name if the connection string sets none.
  std::string application_name = "aloftd";
};

enum class StoreBackend : uint8_t { kSqlite, kPostgres };

// Where a store lives, parsed from its location string (pure, no I/O):
//   "sqlite:PATH" or a plain path             → kSqlite, target = PATH
//   "postgresql://..." or "postgres://..."    → kPostgres, target = the URL
//   "host=... dbname=..." (libpq conninfo)     → kPostgres, target = the string
// A string whose first word is `keyword=` is a conninfo; prefix a path with "sqlite:" to force
// SQLite. kInvalidArgument "store: empty location", "store: sqlite path is empty".
struct StoreLocation {
  StoreBackend backend = StoreBackend::kSqlite;
  std::string target;
};
Result<StoreLocation> ParseStoreLocation(std::string_view location);

// Opens (creating if needed) the store at `location` and migrates its schema to this build's
// version (migrations.h). Errors: those of ParseStoreLocation; kUnavailable "store: cannot open
// sqlite database" / "store: cannot connect to postgresql"; kFailedPrecondition from the
// migration check (a database newer than this build); kInternal if a migration fails.
Result<std::unique_ptr<Store>> OpenStore(std::string_view location,
                                         const StoreOptions& options = {});

}  // namespace aloft::server
