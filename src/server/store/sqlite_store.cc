#include "server/store/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/log.h"
#include "core/try.h"
#include "server/store/internal/sql_database.h"
#include "server/store/internal/sql_store.h"
#include "server/store/migrations.h"

namespace aloft::server {
namespace {

using internal::SqlAccess;
using internal::SqlDatabase;
using internal::SqlDialect;
using internal::SqlDurability;
using internal::SqlParam;
using internal::SqlRow;
using internal::SqlRowCallback;
using internal::SqlSession;

constexpr int kBusyTimeoutMs = 5000;

// Maps a SQLite result code to a Status (see sql_database.h). Constraint violations are normal
// outcomes (a duplicate, a missing parent) and are not logged; everything else is, with
// SQLite's message.
Status SqliteError(int rc, sqlite3* db) {
  switch (rc) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
      return AlreadyExists("store: unique constraint violated");
    case SQLITE_CONSTRAINT_FOREIGNKEY:
      return FailedPrecondition("store: foreign key violated");
    case SQLITE_CONSTRAINT_CHECK:
    case SQLITE_CONSTRAINT_NOTNULL:
      return InvalidArgument("store: check constraint violated");
    default:
      break;
  }
  ALOFT_LOG_ERROR("store: sqlite error %d: %s", rc, db != nullptr ? sqlite3_errmsg(db) : "");
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Unavailable("store: sqlite database is busy");
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return DataLoss("store: sqlite database is corrupt");
    case SQLITE_FULL:
      return ResourceExhausted("store: disk full");
    case SQLITE_IOERR:
    case SQLITE_CANTOPEN:
      return Unavailable("store: sqlite i/o error");
    default:
      return Internal("store: sqlite error");
  }
}

// "$12" → "?12": the shared statements use PostgreSQL's placeholders; SQLite's numbered form
// binds by the same numbers. (No statement has a '$' inside a string literal.)
std::string ToSqlitePlaceholders(const char* sql) {
  std::string out(sql);
  for (char& c : out) {
    if (c == '$') {
      c = '?';
    }
  }
  return out;
}

// One sqlite3 connection and its prepared statements, used by one thread at a time.
class SqliteConnection {
 public:
  SqliteConnection() = default;
  SqliteConnection(const SqliteConnection&) = delete;
  SqliteConnection& operator=(const SqliteConnection&) = delete;
  ~SqliteConnection() {
    for (auto& [sql, statement] : statements_) {
      sqlite3_finalize(statement);
    }
    sqlite3_close_v2(db_);
  }

  static Result<std::unique_ptr<SqliteConnection>> Open(const std::string& path, bool read_only) {
    auto connection = std::make_unique<SqliteConnection>();
    // NOMUTEX: each connection is used by one thread at a time (the pool guarantees it), so
    // SQLite's own per-connection mutex would be pure cost.
    int rc =
        sqlite3_open_v2(path.c_str(), &connection->db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      ALOFT_LOG_ERROR("store: cannot open sqlite database %s: %s", path.c_str(),
                      connection->db_ != nullptr ? sqlite3_errmsg(connection->db_) : "no memory");
      return Unavailable("store: cannot open sqlite database");
    }
    sqlite3_extended_result_codes(connection->db_, 1);
    sqlite3_busy_timeout(connection->db_, kBusyTimeoutMs);
    std::string journal_mode;
    ALOFT_TRY(connection->Pragma("PRAGMA journal_mode=WAL", &journal_mode));
    if (journal_mode != "wal") {
      ALOFT_LOG_ERROR("store: %s: journal_mode is '%s', not 'wal'", path.c_str(),
                      journal_mode.c_str());
      return FailedPrecondition("store: sqlite database is not in WAL mode");
    }
    ALOFT_TRY(connection->Pragma("PRAGMA foreign_keys=ON", nullptr));
    if (read_only) {
      ALOFT_TRY(connection->Pragma("PRAGMA query_only=ON", nullptr));
    }
    return connection;
  }

  sqlite3* db() const { return db_; }

  // A prepared statement for `sql`, from the cache or prepared now. REQUIRES: `sql` has static
  // storage duration.
  Result<sqlite3_stmt*> Prepare(const char* sql) {
    auto found = statements_.find(sql);
    if (found != statements_.end()) {
      return found->second;
    }
    std::string text = ToSqlitePlaceholders(sql);
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size() + 1),
                                SQLITE_PREPARE_PERSISTENT, &statement, nullptr);
    if (rc != SQLITE_OK) {
      ALOFT_LOG_ERROR("store: cannot prepare: %s", text.c_str());
      return SqliteError(rc, db_);
    }
    statements_.emplace(sql, statement);
    return statement;
  }

  // Sets synchronous=FULL (true) or NORMAL (false) unless it already is. Outside transactions.
  Status SetSynchronousFull(bool full) {
    if (synchronous_full_ == full) {
      return OkStatus();
    }
    ALOFT_TRY(Pragma(full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL", nullptr));
    synchronous_full_ = full;
    return OkStatus();
  }

 private:
  // Runs a PRAGMA; its first result column goes to `*value` if given.
  Status Pragma(const char* sql, std::string* value) {
    sqlite3_stmt* statement = nullptr;
    int rc = sqlite3_prepare_v2(db_, sql, -1, &statement, nullptr);
    if (rc != SQLITE_OK) {
      return SqliteError(rc, db_);
    }
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
      if (value != nullptr) {
        const unsigned char* text = sqlite3_column_text(statement, 0);
        *value = text != nullptr ? reinterpret_cast<const char*>(text) : "";
      }
    }
    sqlite3_finalize(statement);
    return rc == SQLITE_DONE ? OkStatus() : SqliteError(rc, db_);
  }

  sqlite3* db_ = nullptr;
  std::unordered_map<const char*, sqlite3_stmt*> statements_;
  std::optional<bool> synchronous_full_;
};

class SqliteRow final : public SqlRow {
 public:
  explicit SqliteRow(sqlite3_stmt* statement) : statement_(statement) {}
  bool IsNull(int column) const override {
    return sqlite3_column_type(statement_, column) == SQLITE_NULL;
  }
  int64_t Int(int column) const override { return sqlite3_column_int64(statement_, column); }
  double Double(int column) const override { return sqlite3_column_double(statement_, column); }
  std::string_view Text(int column) const override {
    const unsigned char* text = sqlite3_column_text(statement_, column);
    if (text == nullptr) {
      return std::string_view();
    }
    return std::string_view(reinterpret_cast<const char*>(text),
                            static_cast<size_t>(sqlite3_column_bytes(statement_, column)));
  }

 private:
  sqlite3_stmt* statement_;
};

// Resets a statement (and drops its bindings) when the call that used it ends, whatever path
// it ends by, so a cached statement never holds a read transaction open.
class StatementReset {
 public:
  explicit StatementReset(sqlite3_stmt* statement) : statement_(statement) {}
  StatementReset(const StatementReset&) = delete;
  StatementReset& operator=(const StatementReset&) = delete;
  ~StatementReset() {
    sqlite3_reset(statement_);
    sqlite3_clear_bindings(statement_);
  }

 private:
  sqlite3_stmt* statement_;
};

Status Bind(sqlite3* db, sqlite3_stmt* statement, std::initializer_list<SqlParam> params) {
  int index = 1;
  for (const SqlParam& param : params) {
    int rc = SQLITE_OK;
    if (std::holds_alternative<std::monostate>(param)) {
      rc = sqlite3_bind_null(statement, index);
    } else if (const int64_t* value = std::get_if<int64_t>(&param)) {
      rc = sqlite3_bind_int64(statement, index, *value);
    } else if (const double* number = std::get_if<double>(&param)) {
      rc = sqlite3_bind_double(statement, index, *number);
    } else {
      std::string_view text = std::get<std::string_view>(param);
      // PostgreSQL cannot store a NUL in text; refusing it here too keeps the backends equal.
      if (text.find('\0') != std::string_view::npos) {
        return InvalidArgument("store: text contains a NUL byte", static_cast<uint32_t>(index));
      }
      // A null data pointer would bind SQL NULL; an empty view must bind ''.
      rc = sqlite3_bind_text(statement, index, text.data() != nullptr ? text.data() : "",
                             static_cast<int>(text.size()), SQLITE_STATIC);
    }
    if (rc != SQLITE_OK) {
      return SqliteError(rc, db);
    }
    ++index;
  }
  return OkStatus();
}

class SqliteDatabase;

class SqliteSession final : public SqlSession {
 public:
  SqliteSession(SqliteDatabase& database, SqliteConnection& connection, bool writer,
                std::unique_lock<std::mutex> writer_lock)
      : database_(database),
        connection_(connection),
        writer_(writer),
        writer_lock_(std::move(writer_lock)) {}
  ~SqliteSession() override;

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Status Query(const char* sql, std::initializer_list<SqlParam> params,
               const SqlRowCallback& on_row) override {
    ALOFT_TRY_ASSIGN(sqlite3_stmt * statement, connection_.Prepare(sql));
    StatementReset reset(statement);
    ALOFT_TRY(Bind(connection_.db(), statement, params));
    SqliteRow row(statement);
    for (;;) {
      int rc = sqlite3_step(statement);
      if (rc == SQLITE_DONE) {
        return OkStatus();
      }
      if (rc != SQLITE_ROW) {
        return SqliteError(rc, connection_.db());
      }
      ALOFT_TRY(on_row(row));
    }
  }

  Result<int64_t> Exec(const char* sql, std::initializer_list<SqlParam> params) override {
    ALOFT_TRY_ASSIGN(sqlite3_stmt * statement, connection_.Prepare(sql));
    StatementReset reset(statement);
    ALOFT_TRY(Bind(connection_.db(), statement, params));
    int rc = 0;
    while ((rc = sqlite3_step(statement)) == SQLITE_ROW) {
    }
    if (rc != SQLITE_DONE) {
      return SqliteError(rc, connection_.db());
    }
    return static_cast<int64_t>(sqlite3_changes64(connection_.db()));
  }

  Status ExecScript(const char* sql) override {
    char* message = nullptr;
    int rc = sqlite3_exec(connection_.db(), sql, nullptr, nullptr, &message);
    sqlite3_free(message);
    return rc == SQLITE_OK ? OkStatus() : SqliteError(rc, connection_.db());
  }

  // The writer takes the write lock at BEGIN (IMMEDIATE), so a transaction never fails
  // half-way for want of it.
  Status Begin() override {
    ALOFT_TRY(Exec(writer_ ? "BEGIN IMMEDIATE" : "BEGIN", {}).status());
    in_transaction_ = true;
    return OkStatus();
  }

  // The commit point: once COMMIT returns OK the transaction is in the WAL file (in the OS page
  // cache at least, so it survives SIGKILL; on disk too under synchronous=FULL).
  Status Commit() override {
    Status status = Exec("COMMIT", {}).status();
    if (!status.ok()) {
      Rollback();
      return status;
    }
    in_transaction_ = false;
    return OkStatus();
  }

  void Rollback() override {
    if (!in_transaction_) {
      return;
    }
    in_transaction_ = false;
    // If SQLite already rolled back (some errors do), ROLLBACK fails harmlessly.
    if (sqlite3_get_autocommit(connection_.db()) == 0) {
      (void)Exec("ROLLBACK", {});
    }
  }

 private:
  SqliteDatabase& database_;
  SqliteConnection& connection_;
  bool writer_;
  std::unique_lock<std::mutex> writer_lock_;  // held for the session's life by the writer
  bool in_transaction_ = false;
};

class SqliteDatabase final : public SqlDatabase {
 public:
  SqliteDatabase(std::unique_ptr<SqliteConnection> writer, bool sync_every_commit)
      : writer_(std::move(writer)), sync_every_commit_(sync_every_commit) {}

  // REQUIRES: before the database is shared between threads.
  void AddReader(std::unique_ptr<SqliteConnection> reader) {
    free_readers_.push_back(reader.get());
    readers_.push_back(std::move(reader));
  }

  SqlDialect dialect() const override { return SqlDialect::kSqlite; }

  Result<std::unique_ptr<SqlSession>> Acquire(SqlAccess access, SqlDurability durability) override {
    if (access == SqlAccess::kWrite || readers_.empty()) {
      std::unique_lock<std::mutex> lock(writer_mutex_);
      bool full = sync_every_commit_ || durability == SqlDurability::kFlush;
      ALOFT_TRY(writer_->SetSynchronousFull(full));
      return std::unique_ptr<SqlSession>(
          std::make_unique<SqliteSession>(*this, *writer_, true, std::move(lock)));
    }
    std::unique_lock<std::mutex> lock(readers_mutex_);
    reader_free_.wait(lock, [&] { return !free_readers_.empty(); });
    SqliteConnection* reader = free_readers_.back();
    free_readers_.pop_back();
    return std::unique_ptr<SqlSession>(
        std::make_unique<SqliteSession>(*this, *reader, false, std::unique_lock<std::mutex>()));
  }

  void ReleaseReader(SqliteConnection& reader) {
    {
      std::lock_guard<std::mutex> lock(readers_mutex_);
      free_readers_.push_back(&reader);
    }
    reader_free_.notify_one();
  }

 private:
  std::unique_ptr<SqliteConnection> writer_;
  std::mutex writer_mutex_;
  std::vector<std::unique_ptr<SqliteConnection>> readers_;
  std::mutex readers_mutex_;
  std::condition_variable reader_free_;
  std::vector<SqliteConnection*> free_readers_;
  bool sync_every_commit_;
};

SqliteSession::~SqliteSession() {
  Rollback();
  if (!writer_) {
    database_.ReleaseReader(connection_);
  }
}

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(std::string_view path, const StoreOptions& options,
                                               std::span<const Migration> migrations) {
  if (sqlite3_threadsafe() == 0) {
    return FailedPrecondition("store: sqlite library built without thread support");
  }
  std::string file(path);
  // The writer first: it creates the file and switches it to WAL, and the migrations run on it
  // before any reader exists.
  ALOFT_TRY_ASSIGN(auto writer, SqliteConnection::Open(file, /*read_only=*/false));
  auto database =
      std::make_unique<SqliteDatabase>(std::move(writer), options.sqlite_sync_every_commit);
  {
    ALOFT_TRY_ASSIGN(auto session, database->Acquire(SqlAccess::kWrite, SqlDurability::kFlush));
    ALOFT_TRY(Migrate(*session, migrations));
  }
  for (int i = 0; i < std::max(options.pool_size, 1); ++i) {
    ALOFT_TRY_ASSIGN(auto reader, SqliteConnection::Open(file, /*read_only=*/true));
    database->AddReader(std::move(reader));
  }
  return std::unique_ptr<Store>(std::make_unique<internal::SqlStore>(std::move(database)));
}

}  // namespace aloft::server
