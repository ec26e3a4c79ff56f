#pragma once
// SqliteStore: the Store (store.h) in one SQLite file, the default backend of aloftd (the file
// lives in the data dir). It is SqlStore (internal/sql_store.h) over SQLite connections:
//   - WAL journal, foreign keys on, a 5 s busy timeout, statements prepared once per connection;
//   - one writer connection behind a mutex (SQLite admits one writer at a time anyway, so
//     queueing in-process costs nothing and never meets SQLITE_BUSY) and a pool of read-only
//     connections, which in WAL mode read while the writer writes;
//   - synchronous=FULL for rare writes that cannot be redone and NORMAL for check-ins, events
//     and rollout-device states (StoreOptions::sqlite_sync_every_commit makes every commit
//     FULL). Both survive SIGKILL; what a power loss may cost: README.md "Durability".
// One aloftd process per database file: several processes would each have their own writer.

#include <memory>
#include <span>
#include <string_view>

#include "core/result.h"
#include "server/store/migrations.h"
#include "server/store/store.h"

namespace aloft::server {

// Opens or creates the database at `path` and migrates it (migrations.h).
//   kUnavailable "store: cannot open sqlite database" (path missing, no permission),
//   kFailedPrecondition "store: sqlite database is not in WAL mode" (e.g. on a file system
//     without shared memory), and the migration errors.
Result<std::unique_ptr<Store>> OpenSqliteStore(
    std::string_view path, const StoreOptions& options,
    std::span<const Migration> migrations = SchemaMigrations());

}  // namespace aloft::server
