#include "server/store/internal/sql_store.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <tuple>
#include <utility>

#include "core/try.h"
#include "server/store/migrations.h"

namespace aloft::server::internal {
namespace {

// --- statements (one text for both dialects unless named ...Sqlite / ...Postgres) ---

constexpr const char kPing[] = "SELECT 1";

constexpr const char kInsertAdminToken[] =
    "INSERT INTO admin_tokens (name, token_hash, created_at) VALUES ($1, $2, $3) RETURNING id";
constexpr const char kSelectAdminTokenByHash[] =
    "SELECT id, name, token_hash, created_at FROM admin_tokens WHERE token_hash = $1";

#define ALOFT_KEY_COLUMNS "project, key_digest, public_pem, created_at, revoked_at"
constexpr const char kInsertReleaseKey[] =
    "INSERT INTO release_keys (project, key_digest, public_pem, created_at)"
    " VALUES ($1, $2, $3, $4)";
constexpr const char kSelectReleaseKeys[] = "SELECT " ALOFT_KEY_COLUMNS
                                            " FROM release_keys WHERE project = $1"
                                            " ORDER BY created_at, key_digest";
constexpr const char kSelectReleaseKey[] =
    "SELECT " ALOFT_KEY_COLUMNS " FROM release_keys WHERE project = $1 AND key_digest = $2";
// COALESCE keeps the first revocation time when a key is revoked twice.
constexpr const char kRevokeReleaseKey[] =
    "UPDATE release_keys SET revoked_at = COALESCE(revoked_at, $3)"
    " WHERE project = $1 AND key_digest = $2";

constexpr const char kInsertArtifact[] =
    "INSERT INTO artifacts (sha256, size, created_at) VALUES ($1, $2, $3)"
    " ON CONFLICT (sha256) DO NOTHING";
constexpr const char kSelectArtifact[] =
    "SELECT sha256, size, created_at FROM artifacts WHERE sha256 = $1";

#define ALOFT_RELEASE_COLUMNS(p)                                                                  \
  p "id, " p "project, " p "chip, " p "chip_id, " p "version, " p "secure_version, " p "size, " p \
    "sha256, " p "min_running_version, " p "signing_key_digest, " p "manifest_json, " p           \
    "created_at"
[[maybe_unused]] constexpr int kReleaseColumnCount = 12;  // documents ALOFT_RELEASE_COLUMNS
constexpr const char kInsertRelease[] =
    "INSERT INTO releases (project, chip, chip_id, version, secure_version, size, sha256,"
    " min_running_version, signing_key_digest, manifest_json, created_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";
constexpr const char kSelectReleaseById[] =
    "SELECT " ALOFT_RELEASE_COLUMNS("") " FROM releases WHERE id = $1";
constexpr const char kSelectReleaseByVersion[] = "SELECT " ALOFT_RELEASE_COLUMNS(
    "") " FROM releases WHERE project = $1 AND chip = $2 AND version = $3";
constexpr const char kSelectReleases[] =
    "SELECT " ALOFT_RELEASE_COLUMNS("") " FROM releases"
    " WHERE (CAST($1 AS TEXT) = '' OR project = $1) AND (CAST($2 AS TEXT) = '' OR chip = $2)"
    " AND (CAST($3 AS TEXT) = '' OR version = $3) ORDER BY id DESC";
constexpr const char kSelectKeyRevokedAt[] =
    "SELECT revoked_at FROM release_keys WHERE project = $1 AND key_digest = $2";
constexpr const char kSelectArtifactExists[] = "SELECT 1 FROM artifacts WHERE sha256 = $1";
constexpr const char kSelectReleaseExists[] = "SELECT 1 FROM releases WHERE id = $1";

#define ALOFT_DEVICE_COLUMNS                                                          \
  "id, token_hash, project, chip, tags, current_version, secure_version, created_at," \
  " last_checkin_at, last_event_at, last_event_state"
constexpr const char kSelectDeviceConflicts[] =
    "SELECT id FROM devices WHERE id = $1 OR token_hash = $2";
constexpr const char kInsertDevice[] =
    "INSERT INTO devices (id, token_hash, project, chip, tags, current_version, secure_version,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)";
constexpr const char kSelectDeviceById[] =
    "SELECT " ALOFT_DEVICE_COLUMNS " FROM devices WHERE id = $1";
constexpr const char kSelectDeviceByTokenHash[] =
    "SELECT " ALOFT_DEVICE_COLUMNS " FROM devices WHERE token_hash = $1";
constexpr const char kSelectDeviceExists[] = "SELECT 1 FROM devices WHERE id = $1";
constexpr const char kUpdateCheckin[] =
    "UPDATE devices SET current_version = $2, secure_version = $3, tags = $4,"
    " last_checkin_at = $5 WHERE id = $1";
// Keyset paging on the primary key; each filter is disabled by an empty parameter. The id
// prefix is the range [prefix, prefix + 0x7f): every id character sorts below 0x7f. The tag
// test is a substring search for ",tag," in the stored list (instr / strpos: the one spelling
// the dialects do not share).
#define ALOFT_DEVICE_PAGE(tag_test)                        \
  "SELECT " ALOFT_DEVICE_COLUMNS                           \
  " FROM devices WHERE id > $1"                            \
  " AND (CAST($2 AS TEXT) = '' OR project = $2)"           \
  " AND (CAST($3 AS TEXT) = '' OR (id >= $3 AND id < $4))" \
  " AND (CAST($5 AS TEXT) = '' OR current_version = $5)"   \
  " AND (CAST($6 AS TEXT) = '' OR " tag_test ") ORDER BY id LIMIT $8"
constexpr const char kSelectDevicePageSqlite[] = ALOFT_DEVICE_PAGE("instr(tags, $7) > 0");
constexpr const char kSelectDevicePagePostgres[] = ALOFT_DEVICE_PAGE("strpos(tags, $7) > 0");

#define ALOFT_ROLLOUT_COLUMNS(p)                                                             \
  p "id, " p "release_id, " p "percent_bp, " p "tags, " p "min_version, " p                  \
    "halt_failure_rate, " p "min_sample, " p "state, " p "state_reason, " p "created_at, " p \
    "updated_at"
constexpr int kRolloutColumnCount = 11;
constexpr const char kInsertRollout[] =
    "INSERT INTO rollouts (release_id, percent_bp, tags, min_version, halt_failure_rate,"
    " min_sample, state, state_reason, created_at, updated_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) RETURNING id";
constexpr const char kInsertPercentChange[] =
    "INSERT INTO rollout_percent_changes (rollout_id, percent_bp, changed_at)"
    " VALUES ($1, $2, $3)";
constexpr const char kSelectRollout[] =
    "SELECT " ALOFT_ROLLOUT_COLUMNS("") " FROM rollouts WHERE id = $1";
constexpr const char kSelectRollouts[] =
    "SELECT " ALOFT_ROLLOUT_COLUMNS("") " FROM rollouts"
    " WHERE (CAST($1 AS BIGINT) IS NULL OR release_id = $1)"
    " AND (CAST($2 AS TEXT) = '' OR state = $2) ORDER BY id DESC";
constexpr const char kSelectActiveRollouts[] =
    "SELECT " ALOFT_ROLLOUT_COLUMNS("r.") ", " ALOFT_RELEASE_COLUMNS(
        "rel.") " FROM rollouts r JOIN releases rel ON rel.id = r.release_id"
                " WHERE r.state = 'active' AND rel.project = $1 AND rel.chip = $2"
                " ORDER BY r.id";
constexpr const char kSelectRolloutExists[] = "SELECT 1 FROM rollouts WHERE id = $1";
constexpr const char kUpdateRolloutState[] =
    "UPDATE rollouts SET state = $2, state_reason = $3, updated_at = $4"
    " WHERE id = $1 AND (CAST($5 AS TEXT) = '' OR state = $5)";
constexpr const char kUpdateRolloutPercent[] =
    "UPDATE rollouts SET percent_bp = $2, updated_at = $3 WHERE id = $1";
constexpr const char kSelectPercentChanges[] =
    "SELECT percent_bp, changed_at FROM rollout_percent_changes WHERE rollout_id = $1"
    " ORDER BY id";

constexpr const char kUpsertRolloutDevice[] =
    "INSERT INTO rollout_devices (rollout_id, device_id, state, reason, updated_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (rollout_id, device_id) DO UPDATE"
    " SET state = excluded.state, reason = excluded.reason, updated_at = excluded.updated_at";
constexpr const char kInsertRolloutDeviceIfAbsent[] =
    "INSERT INTO rollout_devices (rollout_id, device_id, state, reason, updated_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (rollout_id, device_id) DO NOTHING";
constexpr const char kSelectRolloutDevice[] =
    "SELECT rollout_id, device_id, state, reason, updated_at FROM rollout_devices"
    " WHERE rollout_id = $1 AND device_id = $2";
constexpr const char kCountDevicesByVersion[] =
    "SELECT project, chip, current_version, COUNT(*) FROM devices"
    " GROUP BY project, chip, current_version";
constexpr const char kCountRolloutDevices[] =
    "SELECT state, COUNT(*) FROM rollout_devices WHERE rollout_id = $1 GROUP BY state";
// device_id sorts byte-wise on both backends (COLLATE "C" in PostgreSQL).
constexpr const char kSelectFailedRolloutDevices[] =
    "SELECT device_id FROM rollout_devices WHERE rollout_id = $1"
    " AND state IN ('failed', 'rolled_back') ORDER BY device_id";

constexpr const char kInsertEvent[] =
    "INSERT INTO events (device_id, event_id, rollout_id, release_id, state, progress_bytes,"
    " reason, version, device_time, received_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " ON CONFLICT (device_id, event_id) DO NOTHING";
constexpr const char kUpdateDeviceLastEvent[] =
    "UPDATE devices SET last_event_at = $2, last_event_state = $3 WHERE id = $1";
constexpr const char kSelectEvents[] =
    "SELECT device_id, event_id, rollout_id, release_id, state, progress_bytes, reason,"
    " version, device_time, received_at FROM events WHERE device_id = $1"
    " ORDER BY seq DESC LIMIT $2";

// --- helpers ---

Status Ignore(const SqlRow&) { return OkStatus(); }

// Runs `body` between BEGIN and COMMIT; any error rolls back.
template <typename Body>
Status InTransaction(SqlSession& session, Body&& body) {
  ALOFT_TRY(session.Begin());
  Status status = body();
  if (!status.ok()) {
    session.Rollback();
    return status;
  }
  return session.Commit();
}

Result<bool> Exists(SqlSession& session, const char* sql, std::initializer_list<SqlParam> params) {
  bool found = false;
  ALOFT_TRY(session.Query(sql, params, [&](const SqlRow&) {
    found = true;
    return OkStatus();
  }));
  return found;
}

// Replaces the generic reason of an error with a specific one when the code matches.
Status Rename(const Status& status, Status::Code code, const char* reason) {
  return status.code() == code ? Status(code, reason) : status;
}

Status CheckTags(const std::vector<std::string>& tags) {
  if (tags.size() > kMaxTags) {
    return InvalidArgument("store: too many tags", static_cast<uint32_t>(tags.size()));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    if (!IsValidTag(tags[i])) {
      return InvalidArgument("store: invalid tag", static_cast<uint32_t>(i));
    }
  }
  return OkStatus();
}

Status CheckSize(uint64_t size_bytes) {
  if (size_bytes > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return InvalidArgument("store: size too large");
  }
  return OkStatus();
}

Status CheckPercent(uint32_t percent_bp) {
  if (percent_bp > 10000) {
    return InvalidArgument("store: rollout percent above 10000 basis points", percent_bp);
  }
  return OkStatus();
}

Status CheckLimit(uint32_t limit) {
  if (limit == 0 || limit > kMaxPageSize) {
    return InvalidArgument("store: page limit out of range", limit);
  }
  return OkStatus();
}

std::optional<int64_t> OptionalInt(const SqlRow& row, int column) {
  return row.IsNull(column) ? std::nullopt : std::optional<int64_t>(row.Int(column));
}

uint32_t U32(const SqlRow& row, int column) { return static_cast<uint32_t>(row.Int(column)); }

Result<UpdateState> ReadUpdateState(const SqlRow& row, int column) {
  std::optional<UpdateState> state = ParseUpdateState(row.Text(column));
  if (!state) {
    return Internal("store: unknown update state in database");
  }
  return *state;
}

AdminToken ReadAdminToken(const SqlRow& row) {
  return AdminToken{row.Int(0), std::string(row.Text(1)), std::string(row.Text(2)), row.Int(3)};
}

ReleaseKey ReadReleaseKey(const SqlRow& row) {
  return ReleaseKey{std::string(row.Text(0)), std::string(row.Text(1)), std::string(row.Text(2)),
                    row.Int(3), OptionalInt(row, 4)};
}

Artifact ReadArtifact(const SqlRow& row) {
  return Artifact{std::string(row.Text(0)), static_cast<uint64_t>(row.Int(1)), row.Int(2)};
}

Release ReadRelease(const SqlRow& row, int first) {
  Release release;
  release.id = row.Int(first);
  release.project = row.Text(first + 1);
  release.chip = row.Text(first + 2);
  release.chip_id = U32(row, first + 3);
  release.version = row.Text(first + 4);
  release.secure_version = U32(row, first + 5);
  release.size_bytes = static_cast<uint64_t>(row.Int(first + 6));
  release.sha256 = row.Text(first + 7);
  release.min_running_version = row.Text(first + 8);
  release.signing_key_digest = row.Text(first + 9);
  release.manifest_json = row.Text(first + 10);
  release.created_at_ms = row.Int(first + 11);
  return release;
}

Result<Device> ReadDevice(const SqlRow& row) {
  Device device;
  device.id = row.Text(0);
  device.token_hash = row.Text(1);
  device.project = row.Text(2);
  device.chip = row.Text(3);
  device.tags = DecodeTags(row.Text(4));
  device.current_version = row.Text(5);
  device.secure_version = U32(row, 6);
  device.created_at_ms = row.Int(7);
  device.last_checkin_at_ms = OptionalInt(row, 8);
  device.last_event_at_ms = OptionalInt(row, 9);
  if (!row.IsNull(10)) {
    ALOFT_TRY_ASSIGN(device.last_event_state, ReadUpdateState(row, 10));
  }
  return device;
}

Result<Rollout> ReadRollout(const SqlRow& row, int first) {
  Rollout rollout;
  rollout.id = row.Int(first);
  rollout.release_id = row.Int(first + 1);
  rollout.percent_bp = U32(row, first + 2);
  rollout.tags = DecodeTags(row.Text(first + 3));
  rollout.min_version = row.Text(first + 4);
  rollout.halt_failure_rate = row.Double(first + 5);
  rollout.min_sample = U32(row, first + 6);
  std::optional<RolloutState> state = ParseRolloutState(row.Text(first + 7));
  if (!state) {
    return Internal("store: unknown rollout state in database");
  }
  rollout.state = *state;
  rollout.state_reason = row.Text(first + 8);
  rollout.created_at_ms = row.Int(first + 9);
  rollout.updated_at_ms = row.Int(first + 10);
  return rollout;
}

Result<RolloutDevice> ReadRolloutDevice(const SqlRow& row) {
  RolloutDevice entry;
  entry.rollout_id = row.Int(0);
  entry.device_id = row.Text(1);
  ALOFT_TRY_ASSIGN(entry.state, ReadUpdateState(row, 2));
  entry.reason = row.Text(3);
  entry.updated_at_ms = row.Int(4);
  return entry;
}

Result<Event> ReadEvent(const SqlRow& row) {
  Event event;
  event.device_id = row.Text(0);
  event.event_id = row.Text(1);
  event.rollout_id = OptionalInt(row, 2);
  event.release_id = OptionalInt(row, 3);
  ALOFT_TRY_ASSIGN(event.state, ReadUpdateState(row, 4));
  event.progress_bytes = OptionalInt(row, 5);
  event.reason = row.Text(6);
  event.version = row.Text(7);
  event.device_time_ms = OptionalInt(row, 8);
  event.received_at_ms = row.Int(9);
  return event;
}

// Runs a query expected to return at most one row, read by `read`; kNotFound(`missing`) if
// it returns none.
template <typename T, typename Read>
Result<T> QueryOne(SqlSession& session, const char* sql, std::initializer_list<SqlParam> params,
                   const char* missing, Read&& read) {
  std::optional<T> found;
  ALOFT_TRY(session.Query(sql, params, [&](const SqlRow& row) -> Status {
    Result<T> value = read(row);
    if (!value.ok()) {
      return value.status();
    }
    found = std::move(value).value();
    return OkStatus();
  }));
  if (!found) {
    return NotFound(missing);
  }
  return std::move(*found);
}

// A write failed on a foreign key: say which referenced row is missing. Runs after the failed
// transaction has been rolled back (PostgreSQL refuses statements in an aborted transaction).
Status DiagnoseMissing(SqlSession& session, const Status& failure,
                       std::optional<std::string_view> device_id, std::optional<int64_t> rollout_id,
                       std::optional<int64_t> release_id) {
  if (failure.code() != Status::Code::kFailedPrecondition) {
    return failure;
  }
  if (device_id) {
    ALOFT_TRY_ASSIGN(bool found, Exists(session, kSelectDeviceExists, {SqlText(*device_id)}));
    if (!found) {
      return NotFound("store: device not found");
    }
  }
  if (rollout_id) {
    ALOFT_TRY_ASSIGN(bool found, Exists(session, kSelectRolloutExists, {SqlInt(*rollout_id)}));
    if (!found) {
      return NotFound("store: rollout not found");
    }
  }
  if (release_id) {
    ALOFT_TRY_ASSIGN(bool found, Exists(session, kSelectReleaseExists, {SqlInt(*release_id)}));
    if (!found) {
      return NotFound("store: release not found");
    }
  }
  return failure;
}

}  // namespace

std::string EncodeTags(const std::vector<std::string>& canonical_tags) {
  if (canonical_tags.empty()) {
    return std::string();
  }
  std::string stored = ",";
  for (const std::string& tag : canonical_tags) {
    stored += tag;
    stored += ',';
  }
  return stored;
}

std::vector<std::string> DecodeTags(std::string_view stored) {
  std::vector<std::string> tags;
  size_t start = 0;
  while (start < stored.size()) {
    size_t end = stored.find(',', start);
    if (end == std::string_view::npos) {
      end = stored.size();
    }
    if (end > start) {
      tags.emplace_back(stored.substr(start, end - start));
    }
    start = end + 1;
  }
  return tags;
}

SqlStore::SqlStore(std::unique_ptr<SqlDatabase> database) : database_(std::move(database)) {}

Result<std::unique_ptr<SqlSession>> SqlStore::Read() {
  return database_->Acquire(SqlAccess::kRead, SqlDurability::kRelaxed);
}

Result<std::unique_ptr<SqlSession>> SqlStore::Write(SqlDurability durability) {
  return database_->Acquire(SqlAccess::kWrite, durability);
}

// --- health ---

Status SqlStore::Ping() {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return session->Query(kPing, {}, Ignore);
}

Result<int64_t> SqlStore::SchemaVersion() {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return ReadSchemaVersion(*session);
}

// --- admin tokens ---

Result<int64_t> SqlStore::AddAdminToken(std::string_view name, std::string_view token_hash,
                                        int64_t now_ms) {
  if (!IsValidSha256Hex(token_hash)) {
    return InvalidArgument("store: token hash is not sha256 hex");
  }
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  int64_t id = 0;
  Status status =
      session->Query(kInsertAdminToken, {SqlText(name), SqlText(token_hash), SqlInt(now_ms)},
                     [&](const SqlRow& row) {
                       id = row.Int(0);
                       return OkStatus();
                     });
  if (!status.ok()) {
    return Rename(status, Status::Code::kAlreadyExists, "store: admin token already exists");
  }
  return id;
}

Result<AdminToken> SqlStore::FindAdminTokenByHash(std::string_view token_hash) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<AdminToken>(*session, kSelectAdminTokenByHash, {SqlText(token_hash)},
                              "store: admin token not found",
                              [](const SqlRow& row) { return Result(ReadAdminToken(row)); });
}

// --- release keys ---

Status SqlStore::AddReleaseKey(const ReleaseKey& key) {
  if (!IsValidSha256Hex(key.key_digest)) {
    return InvalidArgument("store: key digest is not sha256 hex");
  }
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  Status status =
      session
          ->Exec(kInsertReleaseKey, {SqlText(key.project), SqlText(key.key_digest),
                                     SqlText(key.public_pem), SqlInt(key.created_at_ms)})
          .status();
  return Rename(status, Status::Code::kAlreadyExists, "store: release key already registered");
}

Result<std::vector<ReleaseKey>> SqlStore::ListReleaseKeys(std::string_view project) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  std::vector<ReleaseKey> keys;
  ALOFT_TRY(session->Query(kSelectReleaseKeys, {SqlText(project)}, [&](const SqlRow& row) {
    keys.push_back(ReadReleaseKey(row));
    return OkStatus();
  }));
  return keys;
}

Result<ReleaseKey> SqlStore::FindReleaseKey(std::string_view project, std::string_view key_digest) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<ReleaseKey>(*session, kSelectReleaseKey, {SqlText(project), SqlText(key_digest)},
                              "store: release key not found",
                              [](const SqlRow& row) { return Result(ReadReleaseKey(row)); });
}

Status SqlStore::RevokeReleaseKey(std::string_view project, std::string_view key_digest,
                                  int64_t now_ms) {
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  ALOFT_TRY_ASSIGN(
      int64_t changed,
      session->Exec(kRevokeReleaseKey, {SqlText(project), SqlText(key_digest), SqlInt(now_ms)}));
  if (changed == 0) {
    return NotFound("store: release key not found");
  }
  return OkStatus();
}

// --- artifacts ---

Status SqlStore::RecordArtifact(const Artifact& artifact) {
  if (!IsValidSha256Hex(artifact.sha256)) {
    return InvalidArgument("store: artifact sha256 is not sha256 hex");
  }
  ALOFT_TRY(CheckSize(artifact.size_bytes));
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  return InTransaction(*session, [&]() -> Status {
    ALOFT_TRY_ASSIGN(
        int64_t inserted,
        session->Exec(kInsertArtifact,
                      {SqlText(artifact.sha256), SqlInt(static_cast<int64_t>(artifact.size_bytes)),
                       SqlInt(artifact.created_at_ms)}));
    if (inserted == 1) {
      return OkStatus();
    }
    ALOFT_TRY_ASSIGN(Artifact existing,
                     QueryOne<Artifact>(*session, kSelectArtifact, {SqlText(artifact.sha256)},
                                        "store: artifact not found", [](const SqlRow& row) {
                                          return Result(ReadArtifact(row));
                                        }));
    if (existing.size_bytes != artifact.size_bytes) {
      return AlreadyExists("store: artifact recorded with another size");
    }
    return OkStatus();
  });
}

Result<Artifact> SqlStore::FindArtifact(std::string_view sha256) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<Artifact>(*session, kSelectArtifact, {SqlText(sha256)},
                            "store: artifact not found",
                            [](const SqlRow& row) { return Result(ReadArtifact(row)); });
}

// --- releases ---

Result<int64_t> SqlStore::CreateRelease(const Release& release) {
  ALOFT_TRY(CheckSize(release.size_bytes));
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  int64_t id = 0;
  Status status = InTransaction(*session, [&]() -> Status {
    // Checked here, inside the transaction, to name what is missing; the foreign keys stay as
    // the backstop.
    ALOFT_TRY_ASSIGN(bool has_artifact,
                     Exists(*session, kSelectArtifactExists, {SqlText(release.sha256)}));
    if (!has_artifact) {
      return NotFound("store: release artifact not recorded");
    }
    std::optional<std::optional<int64_t>> revoked_at;
    ALOFT_TRY(session->Query(kSelectKeyRevokedAt,
                             {SqlText(release.project), SqlText(release.signing_key_digest)},
                             [&](const SqlRow& row) {
                               revoked_at = OptionalInt(row, 0);
                               return OkStatus();
                             }));
    if (!revoked_at) {
      return NotFound("store: release signing key not registered");
    }
    if (revoked_at->has_value()) {
      return FailedPrecondition("store: release signing key is revoked");
    }
    Status insert =
        session->Query(kInsertRelease,
                       {SqlText(release.project), SqlText(release.chip), SqlInt(release.chip_id),
                        SqlText(release.version), SqlInt(release.secure_version),
                        SqlInt(static_cast<int64_t>(release.size_bytes)), SqlText(release.sha256),
                        SqlText(release.min_running_version), SqlText(release.signing_key_digest),
                        SqlText(release.manifest_json), SqlInt(release.created_at_ms)},
                       [&](const SqlRow& row) {
                         id = row.Int(0);
                         return OkStatus();
                       });
    return Rename(insert, Status::Code::kAlreadyExists, "store: release version already exists");
  });
  ALOFT_TRY(status);
  return id;
}

Result<Release> SqlStore::GetRelease(int64_t id) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<Release>(*session, kSelectReleaseById, {SqlInt(id)}, "store: release not found",
                           [](const SqlRow& row) { return Result(ReadRelease(row, 0)); });
}

Result<Release> SqlStore::GetReleaseByVersion(std::string_view project, std::string_view chip,
                                              std::string_view version) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<Release>(
      *session, kSelectReleaseByVersion, {SqlText(project), SqlText(chip), SqlText(version)},
      "store: release not found", [](const SqlRow& row) { return Result(ReadRelease(row, 0)); });
}

Result<std::vector<Release>> SqlStore::ListReleases(const ReleaseQuery& query) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  std::vector<Release> releases;
  ALOFT_TRY(session->Query(kSelectReleases,
                           {SqlText(query.project), SqlText(query.chip), SqlText(query.version)},
                           [&](const SqlRow& row) {
                             releases.push_back(ReadRelease(row, 0));
                             return OkStatus();
                           }));
  return releases;
}

// --- devices ---

Status SqlStore::RegisterDevice(const Device& device) {
  if (!IsValidDeviceId(device.id)) {
    return InvalidArgument("store: invalid device id");
  }
  if (!IsValidSha256Hex(device.token_hash)) {
    return InvalidArgument("store: token hash is not sha256 hex");
  }
  ALOFT_TRY(CheckTags(device.tags));
  std::string tags = EncodeTags(CanonicalTags(device.tags));
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  return InTransaction(*session, [&]() -> Status {
    bool id_taken = false;
    bool token_taken = false;
    ALOFT_TRY(session->Query(kSelectDeviceConflicts,
                             {SqlText(device.id), SqlText(device.token_hash)},
                             [&](const SqlRow& row) {
                               (row.Text(0) == device.id ? id_taken : token_taken) = true;
                               return OkStatus();
                             }));
    if (id_taken) {
      return AlreadyExists("store: device id already registered");
    }
    if (token_taken) {
      return AlreadyExists("store: device token already registered");
    }
    // A concurrent registration on another server can still collide here; the unique
    // constraint answers it, without knowing which column.
    Status insert =
        session
            ->Exec(kInsertDevice,
                   {SqlText(device.id), SqlText(device.token_hash), SqlText(device.project),
                    SqlText(device.chip), SqlText(tags), SqlText(device.current_version),
                    SqlInt(device.secure_version), SqlInt(device.created_at_ms)})
            .status();
    return Rename(insert, Status::Code::kAlreadyExists, "store: device id already registered");
  });
}

Result<Device> SqlStore::GetDevice(std::string_view id) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<Device>(*session, kSelectDeviceById, {SqlText(id)}, "store: device not found",
                          ReadDevice);
}

Result<Device> SqlStore::FindDeviceByTokenHash(std::string_view token_hash) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<Device>(*session, kSelectDeviceByTokenHash, {SqlText(token_hash)},
                          "store: device not found", ReadDevice);
}

Status SqlStore::RecordCheckin(const DeviceCheckin& checkin) {
  ALOFT_TRY(CheckTags(checkin.tags));
  std::string tags = EncodeTags(CanonicalTags(checkin.tags));
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kRelaxed));
  ALOFT_TRY_ASSIGN(
      int64_t changed,
      session->Exec(kUpdateCheckin,
                    {SqlText(checkin.device_id), SqlText(checkin.current_version),
                     SqlInt(checkin.secure_version), SqlText(tags), SqlInt(checkin.at_ms)}));
  if (changed == 0) {
    return NotFound("store: device not found");
  }
  return OkStatus();
}

Result<size_t> SqlStore::RecordCheckins(std::span<const DeviceCheckin> checkins) {
  std::vector<std::string> tags;
  tags.reserve(checkins.size());
  for (const DeviceCheckin& checkin : checkins) {
    ALOFT_TRY(CheckTags(checkin.tags));
    tags.push_back(EncodeTags(CanonicalTags(checkin.tags)));
  }
  // Rows are updated in id order, so two batches running at once on PostgreSQL lock their rows
  // in the same order and cannot deadlock. A device listed twice is updated once, from its last
  // entry (the stable sort keeps the entries of one device in input order).
  std::vector<size_t> order(checkins.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return checkins[a].device_id < checkins[b].device_id;
  });
  std::vector<size_t> last_entries;
  for (size_t k = 0; k < order.size(); ++k) {
    if (k + 1 == order.size() || checkins[order[k]].device_id != checkins[order[k + 1]].device_id) {
      last_entries.push_back(order[k]);
    }
  }
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kRelaxed));
  size_t updated = 0;
  Status status = InTransaction(*session, [&]() -> Status {
    for (size_t i : last_entries) {
      const DeviceCheckin& checkin = checkins[i];
      ALOFT_TRY_ASSIGN(
          int64_t changed,
          session->Exec(kUpdateCheckin,
                        {SqlText(checkin.device_id), SqlText(checkin.current_version),
                         SqlInt(checkin.secure_version), SqlText(tags[i]), SqlInt(checkin.at_ms)}));
      updated += static_cast<size_t>(changed);
    }
    return OkStatus();
  });
  ALOFT_TRY(status);
  return updated;
}

Result<DevicePage> SqlStore::ListDevices(const DeviceQuery& query) {
  ALOFT_TRY(CheckLimit(query.limit));
  if (!query.id_prefix.empty() && !IsValidDeviceId(query.id_prefix)) {
    return InvalidArgument("store: invalid device id prefix");
  }
  if (!query.tag.empty() && !IsValidTag(query.tag)) {
    return InvalidArgument("store: invalid tag");
  }
  std::string prefix_end = query.id_prefix.empty() ? std::string() : query.id_prefix + '\x7f';
  std::string tag_needle = "," + query.tag + ",";
  ALOFT_TRY_ASSIGN(auto session, Read());
  const char* sql = session->dialect() == SqlDialect::kSqlite ? kSelectDevicePageSqlite
                                                              : kSelectDevicePagePostgres;
  DevicePage page;
  // One row more than asked says whether another page exists.
  ALOFT_TRY(
      session->Query(sql,
                     {SqlText(query.after_id), SqlText(query.project), SqlText(query.id_prefix),
                      SqlText(prefix_end), SqlText(query.version), SqlText(query.tag),
                      SqlText(tag_needle), SqlInt(int64_t{query.limit} + 1)},
                     [&](const SqlRow& row) -> Status {
                       ALOFT_TRY_ASSIGN(Device device, ReadDevice(row));
                       page.devices.push_back(std::move(device));
                       return OkStatus();
                     }));
  if (page.devices.size() > query.limit) {
    page.devices.pop_back();
    page.next_after_id = page.devices.back().id;
  }
  return page;
}

Result<std::vector<VersionCount>> SqlStore::CountDevicesByVersion() {
  ALOFT_TRY_ASSIGN(auto session, Read());
  std::vector<VersionCount> counts;
  ALOFT_TRY(session->Query(kCountDevicesByVersion, {}, [&](const SqlRow& row) -> Status {
    counts.push_back(VersionCount{std::string(row.Text(0)), std::string(row.Text(1)),
                                  std::string(row.Text(2)), row.Int(3)});
    return OkStatus();
  }));
  // Sorted here, not by ORDER BY: PostgreSQL's collation of these columns is the locale's.
  std::sort(counts.begin(), counts.end(), [](const VersionCount& a, const VersionCount& b) {
    return std::tie(a.project, a.chip, a.version) < std::tie(b.project, b.chip, b.version);
  });
  return counts;
}

// --- rollouts ---

Result<int64_t> SqlStore::CreateRollout(const Rollout& rollout) {
  ALOFT_TRY(CheckPercent(rollout.percent_bp));
  // Written so that NaN fails too.
  if (!(rollout.halt_failure_rate >= 0.0 && rollout.halt_failure_rate <= 1.0)) {
    return InvalidArgument("store: halt failure rate outside 0..1");
  }
  ALOFT_TRY(CheckTags(rollout.tags));
  std::string tags = EncodeTags(CanonicalTags(rollout.tags));
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  int64_t id = 0;
  Status status = InTransaction(*session, [&]() -> Status {
    ALOFT_TRY_ASSIGN(bool has_release,
                     Exists(*session, kSelectReleaseExists, {SqlInt(rollout.release_id)}));
    if (!has_release) {
      return NotFound("store: release not found");
    }
    ALOFT_TRY(session->Query(kInsertRollout,
                             {SqlInt(rollout.release_id), SqlInt(rollout.percent_bp), SqlText(tags),
                              SqlText(rollout.min_version), SqlDouble(rollout.halt_failure_rate),
                              SqlInt(rollout.min_sample), SqlText(RolloutStateName(rollout.state)),
                              SqlText(rollout.state_reason), SqlInt(rollout.created_at_ms)},
                             [&](const SqlRow& row) {
                               id = row.Int(0);
                               return OkStatus();
                             }));
    return session
        ->Exec(kInsertPercentChange,
               {SqlInt(id), SqlInt(rollout.percent_bp), SqlInt(rollout.created_at_ms)})
        .status();
  });
  ALOFT_TRY(status);
  return id;
}

Result<Rollout> SqlStore::GetRollout(int64_t id) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<Rollout>(*session, kSelectRollout, {SqlInt(id)}, "store: rollout not found",
                           [](const SqlRow& row) { return ReadRollout(row, 0); });
}

Result<std::vector<Rollout>> SqlStore::ListRollouts(const RolloutQuery& query) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  std::vector<Rollout> rollouts;
  ALOFT_TRY(
      session->Query(kSelectRollouts,
                     {SqlOptionalInt(query.release_id),
                      SqlText(query.state ? RolloutStateName(*query.state) : std::string_view())},
                     [&](const SqlRow& row) -> Status {
                       ALOFT_TRY_ASSIGN(Rollout rollout, ReadRollout(row, 0));
                       rollouts.push_back(std::move(rollout));
                       return OkStatus();
                     }));
  return rollouts;
}

Result<std::vector<ActiveRollout>> SqlStore::ListActiveRollouts(std::string_view project,
                                                                std::string_view chip) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  std::vector<ActiveRollout> active;
  ALOFT_TRY(session->Query(
      kSelectActiveRollouts, {SqlText(project), SqlText(chip)}, [&](const SqlRow& row) -> Status {
        ALOFT_TRY_ASSIGN(Rollout rollout, ReadRollout(row, 0));
        active.push_back(ActiveRollout{std::move(rollout), ReadRelease(row, kRolloutColumnCount)});
        return OkStatus();
      }));
  return active;
}

Status SqlStore::SetRolloutState(int64_t id, RolloutState state, std::string_view reason,
                                 int64_t now_ms, std::optional<RolloutState> expected) {
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  return InTransaction(*session, [&]() -> Status {
    ALOFT_TRY_ASSIGN(
        int64_t changed,
        session->Exec(
            kUpdateRolloutState,
            {SqlInt(id), SqlText(RolloutStateName(state)), SqlText(reason), SqlInt(now_ms),
             SqlText(expected ? RolloutStateName(*expected) : std::string_view())}));
    if (changed == 1) {
      return OkStatus();
    }
    ALOFT_TRY_ASSIGN(bool exists, Exists(*session, kSelectRolloutExists, {SqlInt(id)}));
    if (!exists) {
      return NotFound("store: rollout not found");
    }
    return FailedPrecondition("store: rollout is not in the expected state");
  });
}

Status SqlStore::SetRolloutPercent(int64_t id, uint32_t percent_bp, int64_t now_ms) {
  ALOFT_TRY(CheckPercent(percent_bp));
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kFlush));
  return InTransaction(*session, [&]() -> Status {
    ALOFT_TRY_ASSIGN(
        int64_t changed,
        session->Exec(kUpdateRolloutPercent, {SqlInt(id), SqlInt(percent_bp), SqlInt(now_ms)}));
    if (changed == 0) {
      return NotFound("store: rollout not found");
    }
    return session->Exec(kInsertPercentChange, {SqlInt(id), SqlInt(percent_bp), SqlInt(now_ms)})
        .status();
  });
}

Result<std::vector<RolloutPercentChange>> SqlStore::ListRolloutPercentChanges(int64_t id) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  ALOFT_TRY_ASSIGN(bool exists, Exists(*session, kSelectRolloutExists, {SqlInt(id)}));
  if (!exists) {
    return NotFound("store: rollout not found");
  }
  std::vector<RolloutPercentChange> changes;
  ALOFT_TRY(session->Query(kSelectPercentChanges, {SqlInt(id)}, [&](const SqlRow& row) {
    changes.push_back(RolloutPercentChange{U32(row, 0), row.Int(1)});
    return OkStatus();
  }));
  return changes;
}

// --- rollout devices ---

Status SqlStore::UpsertRolloutDevice(const RolloutDevice& entry, OnExisting on_existing) {
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kRelaxed));
  Status status = session
                      ->Exec(on_existing == OnExisting::kReplace ? kUpsertRolloutDevice
                                                                 : kInsertRolloutDeviceIfAbsent,
                             {SqlInt(entry.rollout_id), SqlText(entry.device_id),
                              SqlText(UpdateStateName(entry.state)), SqlText(entry.reason),
                              SqlInt(entry.updated_at_ms)})
                      .status();
  if (status.ok()) {
    return status;
  }
  return DiagnoseMissing(*session, status, std::string_view(entry.device_id), entry.rollout_id,
                         std::nullopt);
}

Result<RolloutDevice> SqlStore::GetRolloutDevice(int64_t rollout_id, std::string_view device_id) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  return QueryOne<RolloutDevice>(*session, kSelectRolloutDevice,
                                 {SqlInt(rollout_id), SqlText(device_id)},
                                 "store: rollout device not found", ReadRolloutDevice);
}

Result<RolloutCounts> SqlStore::CountRolloutDevices(int64_t rollout_id) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  RolloutCounts counts;
  ALOFT_TRY(
      session->Query(kCountRolloutDevices, {SqlInt(rollout_id)}, [&](const SqlRow& row) -> Status {
        ALOFT_TRY_ASSIGN(UpdateState state, ReadUpdateState(row, 0));
        counts.by_state[static_cast<size_t>(state)] = row.Int(1);
        return OkStatus();
      }));
  return counts;
}

Result<std::vector<std::string>> SqlStore::ListFailedRolloutDevices(int64_t rollout_id) {
  ALOFT_TRY_ASSIGN(auto session, Read());
  std::vector<std::string> device_ids;
  ALOFT_TRY(session->Query(kSelectFailedRolloutDevices, {SqlInt(rollout_id)},
                           [&](const SqlRow& row) -> Status {
                             device_ids.emplace_back(row.Text(0));
                             return OkStatus();
                           }));
  return device_ids;
}

// --- events ---

Result<EventInsert> SqlStore::RecordEvent(const Event& event) {
  if (!IsValidEventId(event.event_id)) {
    return InvalidArgument("store: invalid event id");
  }
  if (event.state == UpdateState::kOffered) {
    return InvalidArgument("store: offered is not a device event");
  }
  std::string_view state = UpdateStateName(event.state);
  ALOFT_TRY_ASSIGN(auto session, Write(SqlDurability::kRelaxed));
  EventInsert outcome = EventInsert::kDuplicate;
  // One transaction: the event row and its effects commit together or not at all, so an event
  // answered 2xx is never half-stored, and a retried one (kDuplicate) changes nothing.
  Status status = InTransaction(*session, [&]() -> Status {
    ALOFT_TRY_ASSIGN(
        int64_t inserted,
        session->Exec(
            kInsertEvent,
            {SqlText(event.device_id), SqlText(event.event_id), SqlOptionalInt(event.rollout_id),
             SqlOptionalInt(event.release_id), SqlText(state), SqlOptionalInt(event.progress_bytes),
             SqlText(event.reason), SqlText(event.version), SqlOptionalInt(event.device_time_ms),
             SqlInt(event.received_at_ms)}));
    if (inserted == 0) {
      return OkStatus();
    }
    outcome = EventInsert::kNew;
    ALOFT_TRY(session
                  ->Exec(kUpdateDeviceLastEvent,
                         {SqlText(event.device_id), SqlInt(event.received_at_ms), SqlText(state)})
                  .status());
    if (event.rollout_id) {
      ALOFT_TRY(session
                    ->Exec(kUpsertRolloutDevice,
                           {SqlInt(*event.rollout_id), SqlText(event.device_id), SqlText(state),
                            SqlText(event.reason), SqlInt(event.received_at_ms)})
                    .status());
    }
    return OkStatus();
  });
  if (!status.ok()) {
    return DiagnoseMissing(*session, status, std::string_view(event.device_id), event.rollout_id,
                           event.release_id);
  }
  return outcome;
}

Result<std::vector<Event>> SqlStore::ListDeviceEvents(std::string_view device_id, uint32_t limit) {
  ALOFT_TRY(CheckLimit(limit));
  ALOFT_TRY_ASSIGN(auto session, Read());
  std::vector<Event> events;
  ALOFT_TRY(session->Query(kSelectEvents, {SqlText(device_id), SqlInt(limit)},
                           [&](const SqlRow& row) -> Status {
                             ALOFT_TRY_ASSIGN(Event event, ReadEvent(row));
                             events.push_back(std::move(event));
                             return OkStatus();
                           }));
  return events;
}

}  // namespace aloft::server::internal
