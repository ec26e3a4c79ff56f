#pragma once
// PostgresStore: the Store (store.h) in a PostgreSQL database, for fleets that run several
// aloftd processes against one database. It is SqlStore (internal/sql_store.h) over libpq:
//   - a pool of up to StoreOptions::pool_size connections, opened lazily;
//   - each statement prepared once per connection (PQprepare), executed with text parameters;
//   - idempotent inserts with ON CONFLICT DO NOTHING, multi-row operations in transactions;
//   - a dropped connection (server restart, pg_terminate_backend, network) fails the call that
//     meets it with kUnavailable; that connection and every idle one are discarded, so the next
//     call connects afresh. Idle connections are also checked (without a round trip) when taken
//     from the pool, so most calls after a drop never see it.
// Durability is the server's: with its defaults (fsync on, synchronous_commit on) a commit that
// returned is on disk.

#include <memory>
#include <span>
#include <string_view>

#include "core/result.h"
#include "server/store/migrations.h"
#include "server/store/store.h"

namespace aloft::server {

// Connects to `conninfo` (a postgresql:// URL or a "host=... dbname=..." string) and migrates
// the database (migrations.h) in the first schema of its search_path.
//   kUnavailable "store: cannot connect to postgresql" (details logged), and the migration
//   errors.
Result<std::unique_ptr<Store>> OpenPostgresStore(
    std::string_view conninfo, const StoreOptions& options,
    std::span<const Migration> migrations = SchemaMigrations());

}  // namespace aloft::server
