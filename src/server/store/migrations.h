#pragma once
// Versioned schema migrations for both dialects. Each migration is a version number and one
// script per dialect; a database records the versions it has applied in schema_migrations.
// At open (Migrate), inside one transaction: create schema_migrations if missing, read the
// highest applied version, refuse a database newer than this build, apply every newer
// migration in order and record each. Re-opening an up-to-date database applies nothing.
// PostgreSQL takes a transaction-scoped advisory lock first, so servers starting together
// migrate once. Rules for adding one: README.md "Migrations".

#include <cstdint>
#include <span>

#include "core/result.h"
#include "core/status.h"

namespace aloft::server {

namespace internal {
class SqlSession;  // internal/sql_database.h
}  // namespace internal

struct Migration {
  int64_t version;          // 1, 2, 3, ... with no gaps
  const char* description;  // one line, for the log
  const char* sqlite_sql;
  const char* postgres_sql;
};

// This build's schema version: the last entry of SchemaMigrations(). The macro exists so the
// refusal's reason (a string literal) can name it.
#define ALOFT_STORE_SCHEMA_VERSION 1
inline constexpr int64_t kSchemaVersion = ALOFT_STORE_SCHEMA_VERSION;

// Every migration of this build, oldest first.
std::span<const Migration> SchemaMigrations();

// Which migrations a database at `database_version` needs (pure). `migrations` must be
// ordered by version with no gaps starting at 1.
struct MigrationPlan {
  bool database_is_newer = false;      // refuse to open
  std::span<const Migration> pending;  // to apply, in order
};
MigrationPlan PlanMigrations(int64_t database_version, std::span<const Migration> migrations);

// kFailedPrecondition "store: database schema is newer than this build (schema N)", with the
// database's version as context.
Status DatabaseNewerError(int64_t database_version);

// Brings the database behind `session` to the last version of `migrations` (see the file
// comment). REQUIRES: `session` is a write session with no open transaction.
Status Migrate(internal::SqlSession& session, std::span<const Migration> migrations);

// The highest version recorded in schema_migrations (0 if none).
Result<int64_t> ReadSchemaVersion(internal::SqlSession& session);

}  // namespace aloft::server
