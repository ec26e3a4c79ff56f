#include "server/server_config.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <charconv>

#include "ports/host/x509_certificate.h"
#include "server/json_fields.h"
#include "server/store/store.h"

namespace aloft::server {

ApiResult<ServerConfig> ParseServerConfig(std::string_view json) {
  ApiResult<boost::json::object> object = ParseJsonObject(json, "aloftd.conf");
  if (!object.ok()) {
    return object.error();
  }
  JsonFields fields(*object, "aloftd.conf");
  ServerConfig config;
  auto text = [&](const char* key, std::string& target, bool allow_empty) {
    if (auto value = fields.OptionalString(key, 4096, allow_empty)) {
      target = *value;
    }
  };
  auto integer = [&](const char* key, auto& target, int64_t min, int64_t max) {
    if (auto value = fields.OptionalInteger(key, min, max)) {
      target = static_cast<std::remove_reference_t<decltype(target)>>(*value);
    }
  };
  text("listen", config.listen, false);
  text("db", config.db, false);
  text("certificate", config.certificate, false);
  text("private_key", config.private_key, false);
  text("client_ca", config.client_ca, true);
  integer("io_threads", config.io_threads, 0, 256);
  integer("handler_threads", config.handler_threads, -1, 1024);
  integer("db_pool_size", config.db_pool_size, 0, 1024);
  text("log_format", config.log_format, false);
  text("log_level", config.log_level, false);
  text("log_file", config.log_file, true);
  if (const boost::json::value* value = fields.Value("access_log", false)) {
    if (!value->is_bool()) {
      fields.Fail("wrong_type", "field 'access_log' must be true or false");
    } else {
      config.access_log = value->get_bool();
    }
  }
  integer("rollout_cache_ttl_ms", config.rollout_cache_ttl_ms, 0, 3'600'000);
  integer("credential_cache_ttl_ms", config.credential_cache_ttl_ms, 0, 3'600'000);
  integer("checkin_flush_interval_ms", config.checkin_flush_interval_ms, 10, 3'600'000);
  integer("max_json_body_bytes", config.max_json_body_bytes, 1024, 16 << 20);
  integer("max_artifact_bytes", config.max_artifact_bytes, 4096, int64_t{1} << 32);
  integer("max_connections", config.max_connections, 1, 1'000'000);
  integer("request_timeout_ms", config.request_timeout_ms, 100, 3'600'000);
  integer("idle_timeout_ms", config.idle_timeout_ms, 100, 3'600'000);
  integer("shutdown_grace_ms", config.shutdown_grace_ms, 0, 3'600'000);
  if (fields.ok() && !ParseListenAddress(config.listen).ok()) {
    fields.FailField("listen", "must be ADDRESS:PORT (127.0.0.1:8443, [::1]:8443)");
  }
  if (fields.ok() && config.log_format != "text" && config.log_format != "json") {
    fields.FailField("log_format", "must be text or json");
  }
  if (fields.ok() && config.log_level != "error" && config.log_level != "warn" &&
      config.log_level != "info" && config.log_level != "debug") {
    fields.FailField("log_level", "must be error, warn, info or debug");
  }
  if (fields.ok() && !ParseStoreLocation(config.db).ok()) {
    fields.FailField("db", "is not a store location");
  }
  if (std::optional<ApiError> error = fields.Finish()) {
    return *error;
  }
  return config;
}

std::string DefaultServerConfigJson(std::string_view listen) {
  boost::json::object object{{"listen", listen},
                             {"db", "sqlite:aloft.db"},
                             {"certificate", "server.pem"},
                             {"private_key", "server.key"},
                             {"client_ca", "ca.pem"},
                             {"log_format", "text"},
                             {"log_level", "info"}};
  return boost::json::serialize(object) + "\n";
}

Result<ListenAddress> ParseListenAddress(std::string_view listen) {
  std::string_view host;
  std::string_view port;
  if (listen.starts_with("[")) {
    const size_t close = listen.find("]:");
    if (close == std::string_view::npos) {
      return InvalidArgument("config: listen is not ADDRESS:PORT");
    }
    host = listen.substr(1, close - 1);
    port = listen.substr(close + 2);
  } else {
    const size_t colon = listen.rfind(':');
    if (colon == std::string_view::npos || listen.find(':') != colon) {
      return InvalidArgument("config: listen is not ADDRESS:PORT");
    }
    host = listen.substr(0, colon);
    port = listen.substr(colon + 1);
  }
  unsigned value = 0;
  const auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (host.empty() || !host::IsIpAddressLiteral(host) || port.empty() || error != std::errc() ||
      end != port.data() + port.size() || value > 65535) {
    return InvalidArgument("config: listen is not ADDRESS:PORT");
  }
  return ListenAddress{std::string(host), static_cast<uint16_t>(value)};
}

std::string ResolveDbLocation(std::string_view db, const std::filesystem::path& data_dir) {
  if (db == "sqlite") {
    db = "sqlite:aloft.db";  // `--db sqlite`: the default database in the data dir
  }
  Result<StoreLocation> location = ParseStoreLocation(db);
  if (!location.ok() || location->backend != StoreBackend::kSqlite) {
    return std::string(db);
  }
  std::filesystem::path path(location->target);
  if (path.is_relative()) {
    path = data_dir / path;
  }
  return "sqlite:" + path.string();
}

}  // namespace aloft::server
