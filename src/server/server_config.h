#pragma once
// ServerConfig: aloftd's settings, read from DATA/aloftd.conf (a JSON object; every key is
// optional, an unknown key is an error) and overridden by command-line flags. Parsing is pure
// and strict: a wrong type or value names the key. docs/server.md lists every key.

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include "server/api_error.h"

namespace aloft::server {

struct ServerConfig {
  std::string listen = "127.0.0.1:8443";  // "ADDRESS:PORT", IPv6 as "[::1]:8443"
  // "sqlite:aloft.db" (relative paths are inside the data dir), "sqlite:/abs/path",
  // "postgresql://..." or a libpq conninfo.
  std::string db = "sqlite:aloft.db";
  std::string certificate = "server.pem";  // relative to the data dir
  std::string private_key = "server.key";
  std::string client_ca = "ca.pem";  // device client certificates; "" disables them
  int io_threads = 0;                // 0: one per core
  int handler_threads = -1;          // -1: 0 for SQLite, 16 for PostgreSQL
  int db_pool_size = 0;              // 0: io_threads + handler_threads + 2
  std::string log_format = "text";   // "text" (key=value) or "json"
  std::string log_level = "info";
  std::string log_file;     // "" = stderr
  bool access_log = false;  // one "request" line per request
  int64_t rollout_cache_ttl_ms = 2'000;
  int64_t credential_cache_ttl_ms = 30'000;
  int64_t checkin_flush_interval_ms = 1'000;
  uint64_t max_json_body_bytes = 64 * 1024;
  uint64_t max_artifact_bytes = 32 * 1024 * 1024;
  uint64_t max_connections = 10'000;
  int64_t request_timeout_ms = 30'000;
  int64_t idle_timeout_ms = 60'000;
  int64_t shutdown_grace_ms = 10'000;
};

// Reads aloftd.conf's JSON over the defaults. 400-style errors (ApiError.message names the key:
// "aloftd.conf: field 'listen' must be a string").
ApiResult<ServerConfig> ParseServerConfig(std::string_view json);
// The JSON `aloft server init` writes (listen and db; the rest at defaults).
std::string DefaultServerConfigJson(std::string_view listen);

struct ListenAddress {
  std::string address;  // IPv4 or IPv6 literal
  uint16_t port = 0;
};
// "127.0.0.1:8443", "[::1]:8443", "0.0.0.0:443". kInvalidArgument "config: listen is not
// ADDRESS:PORT".
Result<ListenAddress> ParseListenAddress(std::string_view listen);

// The store location with relative SQLite paths resolved inside `data_dir`; "sqlite" alone is
// DATA/aloft.db.
std::string ResolveDbLocation(std::string_view db, const std::filesystem::path& data_dir);

}  // namespace aloft::server
