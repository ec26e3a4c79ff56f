#include "server/store/postgres_store.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
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

// Owns a PGresult.
struct PgResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using PgResult = std::unique_ptr<PGresult, PgResultDeleter>;

// Notices ("relation already exists, skipping") are not errors: keep them off stderr.
void IgnoreNotice(void*, const char*) {}

// One libpq connection and the statements prepared on it, used by one thread at a time.
class PgConnection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) {}
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;
  ~PgConnection() { PQfinish(conn_); }

  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& conninfo,
                                                       const std::string& application_name) {
    // expand_dbname = 1: "dbname" carries the whole conninfo or URL; the keywords after it only
    // fill what it leaves unset.
    const char* keywords[] = {"dbname", "fallback_application_name", "client_encoding", nullptr};
    const char* values[] = {conninfo.c_str(), application_name.c_str(), "UTF8", nullptr};
    PGconn* conn = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
    auto connection = std::make_unique<PgConnection>(conn);
    if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) {
      ALOFT_LOG_ERROR("store: cannot connect to postgresql: %s",
                      conn != nullptr ? PQerrorMessage(conn) : "out of memory");
      return Unavailable("store: cannot connect to postgresql");
    }
    PQsetNoticeProcessor(conn, IgnoreNotice, nullptr);
    return connection;
  }

  PGconn* conn() const { return conn_; }

  // False once the connection is known to be dead. Reads whatever the server sent while the
  // connection sat idle, without a round trip: a terminated backend sends an error and then
  // closes the socket, so the socket stays readable until libpq has seen the end of it. An
  // idle healthy connection has nothing to read and costs one poll(2).
  bool LooksAlive() {
    for (int reads = 0; reads < 4; ++reads) {
      if (PQstatus(conn_) != CONNECTION_OK) {
        return false;
      }
      pollfd readable{PQsocket(conn_), POLLIN, 0};
      if (poll(&readable, 1, 0) <= 0) {
        return true;
      }
      if (PQconsumeInput(conn_) == 0) {
        return false;
      }
    }
    return PQstatus(conn_) == CONNECTION_OK;
  }

  // The name under which `sql` is prepared on this connection, if it is. REQUIRES: `sql` has
  // static storage duration (statements are cached by address).
  const std::string* FindPrepared(const char* sql) const {
    auto found = prepared_.find(sql);
    return found != prepared_.end() ? &found->second : nullptr;
  }
  std::string NextName() const { return "aloft_" + std::to_string(prepared_.size()); }
  const std::string* Remember(const char* sql, std::string name) {
    return &prepared_.emplace(sql, std::move(name)).first->second;
  }

 private:
  PGconn* conn_;
  std::unordered_map<const char*, std::string> prepared_;
};

class PgRow final : public SqlRow {
 public:
  PgRow(const PGresult* result, int row) : result_(result), row_(row) {}
  bool IsNull(int column) const override { return PQgetisnull(result_, row_, column) == 1; }
  int64_t Int(int column) const override {
    std::string_view text = Text(column);
    int64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
  }
  double Double(int column) const override {
    return IsNull(column) ? 0.0 : std::strtod(PQgetvalue(result_, row_, column), nullptr);
  }
  std::string_view Text(int column) const override {
    return std::string_view(PQgetvalue(result_, row_, column),
                            static_cast<size_t>(PQgetlength(result_, row_, column)));
  }

 private:
  const PGresult* result_;
  int row_;
};

class PostgresDatabase;

class PgSession final : public SqlSession {
 public:
  PgSession(PostgresDatabase& database, std::unique_ptr<PgConnection> connection)
      : database_(database), connection_(std::move(connection)) {}
  ~PgSession() override;

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  Status Query(const char* sql, std::initializer_list<SqlParam> params,
               const SqlRowCallback& on_row) override {
    ALOFT_TRY_ASSIGN(PgResult result, Run(sql, params));
    int rows = PQntuples(result.get());
    for (int i = 0; i < rows; ++i) {
      ALOFT_TRY(on_row(PgRow(result.get(), i)));
    }
    return OkStatus();
  }

  Result<int64_t> Exec(const char* sql, std::initializer_list<SqlParam> params) override {
    ALOFT_TRY_ASSIGN(PgResult result, Run(sql, params));
    std::string_view count = PQcmdTuples(result.get());
    int64_t changed = 0;
    std::from_chars(count.data(), count.data() + count.size(), changed);
    return changed;
  }

  Status ExecScript(const char* sql) override {
    PgResult result(PQexec(connection_->conn(), sql));
    return Check(result.get());
  }

  Status Begin() override {
    ALOFT_TRY(ExecScript("BEGIN"));
    in_transaction_ = true;
    return OkStatus();
  }

  // The commit point: with synchronous_commit on (the default) COMMIT returns once the
  // transaction's WAL is flushed to disk.
  Status Commit() override {
    in_transaction_ = false;
    return ExecScript("COMMIT");
  }

  void Rollback() override {
    if (!in_transaction_) {
      return;
    }
    in_transaction_ = false;
    if (!broken_) {
      (void)ExecScript("ROLLBACK");
    }
  }

 private:
  // Prepares `sql` on this connection if needed and runs it with text parameters.
  Result<PgResult> Run(const char* sql, std::initializer_list<SqlParam> params) {
    PGconn* conn = connection_->conn();
    const std::string* name = connection_->FindPrepared(sql);
    if (name == nullptr) {
      std::string new_name = connection_->NextName();
      PgResult prepared(PQprepare(conn, new_name.c_str(), sql, 0, nullptr));
      ALOFT_TRY(Check(prepared.get()));
      name = connection_->Remember(sql, std::move(new_name));
    }
    // libpq wants NUL-terminated text; numbers are formatted here.
    std::vector<std::string> texts;
    std::vector<const char*> values;
    texts.reserve(params.size());
    values.reserve(params.size());
    uint32_t index = 1;
    for (const SqlParam& param : params) {
      if (std::holds_alternative<std::monostate>(param)) {
        values.push_back(nullptr);
      } else {
        if (const int64_t* value = std::get_if<int64_t>(&param)) {
          texts.push_back(std::to_string(*value));
        } else if (const double* number = std::get_if<double>(&param)) {
          char buffer[32];
          std::snprintf(buffer, sizeof(buffer), "%.17g", *number);
          texts.emplace_back(buffer);
        } else {
          std::string_view text = std::get<std::string_view>(param);
          if (text.find('\0') != std::string_view::npos) {
            return InvalidArgument("store: text contains a NUL byte", index);
          }
          texts.emplace_back(text);
        }
        values.push_back(texts.back().c_str());
      }
      ++index;
    }
    PgResult result(PQexecPrepared(conn, name->c_str(), static_cast<int>(values.size()),
                                   values.data(), nullptr, nullptr, /*resultFormat=*/0));
    ALOFT_TRY(Check(result.get()));
    return result;
  }

  // Maps a result (or its absence) to a Status (see sql_database.h); marks the connection
  // broken when the server is gone.
  Status Check(const PGresult* result) {
    ExecStatusType status = result != nullptr ? PQresultStatus(result) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
      return OkStatus();
    }
    const char* field = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
    std::string_view state = field != nullptr ? field : "";
    if (state == "23505") {
      return AlreadyExists("store: unique constraint violated");
    }
    if (state == "23503") {
      return FailedPrecondition("store: foreign key violated");
    }
    if (state == "23514" || state == "23502") {
      return InvalidArgument("store: check constraint violated");
    }
    bool lost = PQstatus(connection_->conn()) == CONNECTION_BAD || state.starts_with("08") ||
                state.starts_with("57P") || (result == nullptr);
    ALOFT_LOG_ERROR(
        "store: postgresql error %s: %s", state.empty() ? "-" : field,
        result != nullptr ? PQresultErrorMessage(result) : PQerrorMessage(connection_->conn()));
    if (lost) {
      broken_ = true;
      return Unavailable("store: postgresql connection lost");
    }
    if (state.starts_with("22")) {
      return InvalidArgument("store: value rejected by postgresql");
    }
    if (state == "40001" || state == "40P01" || state == "55P03") {
      return Unavailable("store: postgresql transaction conflict");
    }
    if (state.starts_with("53")) {
      return ResourceExhausted("store: postgresql out of resources");
    }
    return Internal("store: postgresql error");
  }

  PostgresDatabase& database_;
  std::unique_ptr<PgConnection> connection_;
  bool in_transaction_ = false;
  bool broken_ = false;
  friend class PostgresDatabase;
};

class PostgresDatabase final : public SqlDatabase {
 public:
  PostgresDatabase(std::string conninfo, const StoreOptions& options)
      : conninfo_(std::move(conninfo)),
        application_name_(options.application_name),
        max_connections_(std::max(options.pool_size, 1)) {}

  SqlDialect dialect() const override { return SqlDialect::kPostgres; }

  Result<std::unique_ptr<SqlSession>> Acquire(SqlAccess, SqlDurability) override {
    std::unique_ptr<PgConnection> connection;
    std::vector<std::unique_ptr<PgConnection>> dead;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      for (;;) {
        while (!idle_.empty()) {
          std::unique_ptr<PgConnection> candidate = std::move(idle_.back());
          idle_.pop_back();
          if (candidate->LooksAlive()) {
            connection = std::move(candidate);
            break;
          }
          dead.push_back(std::move(candidate));
          --open_;
        }
        if (connection != nullptr || open_ < max_connections_) {
          break;
        }
        available_.wait(lock);
      }
      if (connection == nullptr) {
        ++open_;  // reserved; connected below, outside the lock
      }
    }
    dead.clear();
    if (connection == nullptr) {
      Result<std::unique_ptr<PgConnection>> connected =
          PgConnection::Connect(conninfo_, application_name_);
      if (!connected.ok()) {
        Unreserve();
        return connected.status();
      }
      connection = std::move(connected).value();
    }
    return std::unique_ptr<SqlSession>(std::make_unique<PgSession>(*this, std::move(connection)));
  }

  // Takes a connection back. A broken one is closed, and so is every idle one: what broke one
  // (a server restart, a terminated cluster) has almost always broken them all, and the next
  // call should not find out one connection at a time.
  void Release(std::unique_ptr<PgConnection> connection, bool broken) {
    std::vector<std::unique_ptr<PgConnection>> closing;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (broken) {
        closing.push_back(std::move(connection));
        for (auto& idle : idle_) {
          closing.push_back(std::move(idle));
        }
        open_ -= static_cast<int>(closing.size());
        idle_.clear();
      } else {
        idle_.push_back(std::move(connection));
      }
    }
    available_.notify_all();
  }

 private:
  void Unreserve() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      --open_;
    }
    available_.notify_one();
  }

  const std::string conninfo_;
  const std::string application_name_;
  const int max_connections_;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<PgConnection>> idle_;
  int open_ = 0;  // idle + in use + being connected
};

PgSession::~PgSession() {
  Rollback();
  database_.Release(std::move(connection_), broken_);
}

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(std::string_view conninfo,
                                                 const StoreOptions& options,
                                                 std::span<const Migration> migrations) {
  auto database = std::make_unique<PostgresDatabase>(std::string(conninfo), options);
  {
    ALOFT_TRY_ASSIGN(auto session, database->Acquire(SqlAccess::kWrite, SqlDurability::kFlush));
    ALOFT_TRY(Migrate(*session, migrations));
  }
  return std::unique_ptr<Store>(std::make_unique<internal::SqlStore>(std::move(database)));
}

}  // namespace aloft::server
