#pragma once
// The seam between the Store's SQL (sql_store.cc, written once for both dialects) and a
// backend's connections (sqlite_store.cc, postgres_store.cc). A backend supplies SqlDatabase:
// it hands out sessions (one connection each, held until the session is destroyed), runs
// statements with `$1..$N` placeholders, and maps its errors to Status codes:
//   unique violation → kAlreadyExists, foreign-key violation → kFailedPrecondition,
//   check violation → kInvalidArgument, lost connection or lock timeout → kUnavailable,
//   corrupt file → kDataLoss, disk full → kResourceExhausted, anything else → kInternal,
// each logged with the database's own message.
// Internal to src/server/store: other rooms use store.h.

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string_view>
#include <variant>

#include "core/result.h"
#include "core/status.h"

namespace aloft::server::internal {

enum class SqlDialect : uint8_t { kSqlite, kPostgres };

// What a session will do. kRead sessions may run on a read-only connection.
enum class SqlAccess : uint8_t { kRead, kWrite };

// How hard a write session's commits flush (SQLite; PostgreSQL always flushes): kFlush survives
// a power loss, kRelaxed survives a process kill (README.md "Durability").
enum class SqlDurability : uint8_t { kFlush, kRelaxed };

// A statement parameter: NULL, an integer, a double or text (borrowed for the call).
using SqlParam = std::variant<std::monostate, int64_t, double, std::string_view>;
inline SqlParam SqlNull() { return std::monostate{}; }
inline SqlParam SqlInt(int64_t value) { return value; }
inline SqlParam SqlDouble(double value) { return value; }
inline SqlParam SqlText(std::string_view value) { return value; }
inline SqlParam SqlOptionalInt(const std::optional<int64_t>& value) {
  return value ? SqlParam(*value) : SqlNull();
}

// One result row, valid only during the row callback. Columns count from 0.
class SqlRow {
 public:
  virtual bool IsNull(int column) const = 0;
  virtual int64_t Int(int column) const = 0;  // 0 for NULL
  virtual double Double(int column) const = 0;
  virtual std::string_view Text(int column) const = 0;  // empty for NULL

 protected:
  ~SqlRow() = default;
};

using SqlRowCallback = std::function<Status(const SqlRow&)>;

// One connection, for one thread, for the length of one Store call.
class SqlSession {
 public:
  virtual ~SqlSession() = default;  // rolls back an open transaction, returns the connection
  virtual SqlDialect dialect() const = 0;

  // Runs `sql` and calls `on_row` for each row; a non-OK status from `on_row` stops and is
  // returned. REQUIRES: `sql` has static storage duration (statements are prepared once per
  // connection and cached by its address).
  virtual Status Query(const char* sql, std::initializer_list<SqlParam> params,
                       const SqlRowCallback& on_row) = 0;
  // Runs a statement that returns no rows; returns the number of rows it changed.
  virtual Result<int64_t> Exec(const char* sql, std::initializer_list<SqlParam> params) = 0;
  // Runs several `;`-separated statements without parameters (migrations).
  virtual Status ExecScript(const char* sql) = 0;

  virtual Status Begin() = 0;
  virtual Status Commit() = 0;
  virtual void Rollback() = 0;
};

class SqlDatabase {
 public:
  virtual ~SqlDatabase() = default;
  virtual SqlDialect dialect() const = 0;
  // A session on a free connection (waits for one if the pool is busy).
  // kUnavailable if no connection can be made.
  virtual Result<std::unique_ptr<SqlSession>> Acquire(SqlAccess access,
                                                      SqlDurability durability) = 0;
};

}  // namespace aloft::server::internal
