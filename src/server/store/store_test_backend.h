#pragma once
// Test fixtures for the Store contract suite: a fresh, empty database of either backend for
// each test, removed afterwards, plus raw SQL access to it for the checks the Store interface
// cannot make (schema_migrations rows, forcing a newer schema, terminating connections).
//   SQLite: a file in a fresh temp dir.
//   PostgreSQL: a fresh schema in the database named by the environment variable ALOFT_TEST_PG
//   (a conninfo; scripts/with-postgres.sh starts a throwaway cluster and sets it). The store's
//   connections select the schema through search_path and are tagged with its name as
//   application_name, so a test can terminate its own connections without touching others.
// Header-only: the tests are collected by glob from *_test.cc.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <random>
#include <span>
#include <string>

#include "server/store/migrations.h"
#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"
#include "server/store/store.h"
#include "support/vectors.h"

namespace aloft::server::testing {

enum class Backend { kSqlite, kPostgres };

inline std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

// The conninfo of the test cluster, or empty when PostgreSQL tests are not configured.
inline std::string TestPostgresConninfo() {
  const char* value = std::getenv("ALOFT_TEST_PG");
  return value != nullptr ? value : "";
}

class TestDatabase {
 public:
  virtual ~TestDatabase() = default;
  virtual Backend backend() const = 0;
  // Opens a store on this database (migrating it to the last version of `migrations`).
  virtual Result<std::unique_ptr<Store>> Open(
      const StoreOptions& options = {},
      std::span<const Migration> migrations = SchemaMigrations()) const = 0;
  // The location string OpenStore accepts for this database.
  virtual std::string location() const = 0;
  // Runs SQL on the same database (and schema); fails the test on an error.
  virtual void Exec(const std::string& sql) = 0;
  // The first column of the first row of `sql` as an integer (-1 and a test failure on error).
  virtual int64_t QueryInt(const std::string& sql) = 0;
  // Terminates every server connection of the stores opened on this database and waits until
  // they are gone. PostgreSQL only.
  virtual void TerminateConnections() = 0;
  // The application_name of the stores' connections (PostgreSQL; empty for SQLite).
  virtual std::string application_name() const = 0;
};

class SqliteTestDatabase final : public TestDatabase {
 public:
  Backend backend() const override { return Backend::kSqlite; }
  Result<std::unique_ptr<Store>> Open(const StoreOptions& options,
                                      std::span<const Migration> migrations) const override {
    return OpenSqliteStore(path_, options, migrations);
  }
  std::string location() const override { return "sqlite:" + path_; }
  void Exec(const std::string& sql) override {
    sqlite3* db = OpenRaw();
    char* message = nullptr;
    if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      ADD_FAILURE() << "sqlite: " << (message ? message : "?") << " in: " << sql;
    }
    sqlite3_free(message);
    sqlite3_close(db);
  }
  int64_t QueryInt(const std::string& sql) override {
    sqlite3* db = OpenRaw();
    sqlite3_stmt* statement = nullptr;
    int64_t value = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK &&
        sqlite3_step(statement) == SQLITE_ROW) {
      value = sqlite3_column_int64(statement, 0);
    } else {
      ADD_FAILURE() << "sqlite: " << sqlite3_errmsg(db) << " in: " << sql;
    }
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
  }
  void TerminateConnections() override { ADD_FAILURE() << "sqlite has no server connections"; }
  std::string application_name() const override { return ""; }

 private:
  sqlite3* OpenRaw() const {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
    sqlite3_busy_timeout(db, 5000);
    return db;
  }

  aloft::testing::TempDir dir_;
  std::string path_ = (dir_ / "aloft.db").string();
};

class PostgresTestDatabase final : public TestDatabase {
 public:
  explicit PostgresTestDatabase(std::string conninfo) : base_(std::move(conninfo)) {
    static std::atomic<int> counter{0};
    std::random_device random;
    schema_ = "aloft_t" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
              std::to_string(random() % 1000000);
    admin_ = PQconnectdb(base_.c_str());
    if (PQstatus(admin_) != CONNECTION_OK) {
      ADD_FAILURE() << "cannot connect to ALOFT_TEST_PG: " << PQerrorMessage(admin_);
      return;
    }
    PQsetNoticeProcessor(
        admin_, [](void*, const char*) {}, nullptr);
    Run("CREATE SCHEMA " + schema_);
  }
  ~PostgresTestDatabase() override {
    Run("DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    PQfinish(admin_);
  }

  Backend backend() const override { return Backend::kPostgres; }
  Result<std::unique_ptr<Store>> Open(const StoreOptions& options,
                                      std::span<const Migration> migrations) const override {
    return OpenPostgresStore(location(), options, migrations);
  }
  std::string location() const override {
    std::string extra = "options=-csearch_path%3D" + schema_ + "&application_name=" + schema_;
    if (base_.starts_with("postgres")) {
      return base_ + (base_.find('?') == std::string::npos ? "?" : "&") + extra;
    }
    return base_ + " options='-csearch_path=" + schema_ + "' application_name=" + schema_;
  }
  void Exec(const std::string& sql) override { Run("SET search_path TO " + schema_ + ";" + sql); }
  int64_t QueryInt(const std::string& sql) override {
    // Statistics views are snapshotted once per transaction; a poll inside one must refresh.
    Run("SET search_path TO " + schema_ + "; SELECT pg_stat_clear_snapshot()");
    PGresult* result = PQexec(admin_, sql.c_str());
    int64_t value = -1;
    if (PQresultStatus(result) == PGRES_TUPLES_OK && PQntuples(result) > 0) {
      value = std::strtoll(PQgetvalue(result, 0, 0), nullptr, 10);
    } else {
      ADD_FAILURE() << "postgresql: " << PQresultErrorMessage(result) << " in: " << sql;
    }
    PQclear(result);
    return value;
  }
  std::string application_name() const override { return schema_; }
  void TerminateConnections() override {
    // pg_terminate_backend(pid, timeout) waits until the backend has exited.
    EXPECT_GT(QueryInt("SELECT COUNT(*) FROM (SELECT pg_terminate_backend(pid, 10000)"
                       " FROM pg_stat_activity WHERE application_name = '" +
                       schema_ + "') AS terminated"),
              0);
    EXPECT_EQ(QueryInt("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = '" +
                       schema_ + "'"),
              0);
  }

 private:
  void Run(const std::string& sql) {
    PGresult* result = PQexec(admin_, sql.c_str());
    ExecStatusType status = PQresultStatus(result);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      ADD_FAILURE() << "postgresql: " << PQresultErrorMessage(result) << " in: " << sql;
    }
    PQclear(result);
  }

  std::string base_;
  std::string schema_;
  PGconn* admin_ = nullptr;
};

// A fresh database of `backend`, or null when PostgreSQL tests are not configured (the caller
// skips).
inline std::unique_ptr<TestDatabase> MakeTestDatabase(Backend backend) {
  if (backend == Backend::kSqlite) {
    return std::make_unique<SqliteTestDatabase>();
  }
  std::string conninfo = TestPostgresConninfo();
  if (conninfo.empty()) {
    return nullptr;
  }
  return std::make_unique<PostgresTestDatabase>(conninfo);
}

}  // namespace aloft::server::testing

// In a fixture's SetUp: skips the test when its backend is not configured.
#define ALOFT_SKIP_IF_NO_BACKEND(database)                                                      \
  if ((database) == nullptr) {                                                                  \
    GTEST_SKIP() << "PostgreSQL tests need ALOFT_TEST_PG (run under scripts/with-postgres.sh)"; \
  }
