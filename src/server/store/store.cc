#include "server/store/store.h"

#include <string>

#include "server/store/postgres_store.h"
#include "server/store/sqlite_store.h"

namespace aloft::server {
namespace {

// True when `text` starts like a libpq conninfo: a keyword of lowercase letters and '_',
// optional spaces, then '='.
bool LooksLikeConninfo(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && ((text[i] >= 'a' && text[i] <= 'z') || text[i] == '_')) {
    ++i;
  }
  if (i == 0) {
    return false;
  }
  while (i < text.size() && text[i] == ' ') {
    ++i;
  }
  return i < text.size() && text[i] == '=';
}

}  // namespace

Result<StoreLocation> ParseStoreLocation(std::string_view location) {
  if (location.empty()) {
    return InvalidArgument("store: empty location");
  }
  if (location.starts_with("sqlite:")) {
    std::string_view path = location.substr(7);
    // "sqlite:///abs/path" is the URL spelling of "sqlite:/abs/path".
    if (path.starts_with("//")) {
      path.remove_prefix(2);
    }
    if (path.empty()) {
      return InvalidArgument("store: sqlite path is empty");
    }
    return StoreLocation{StoreBackend::kSqlite, std::string(path)};
  }
  if (location.starts_with("postgresql://") || location.starts_with("postgres://") ||
      LooksLikeConninfo(location)) {
    return StoreLocation{StoreBackend::kPostgres, std::string(location)};
  }
  return StoreLocation{StoreBackend::kSqlite, std::string(location)};
}

Result<std::unique_ptr<Store>> OpenStore(std::string_view location, const StoreOptions& options) {
  Result<StoreLocation> parsed = ParseStoreLocation(location);
  if (!parsed.ok()) {
    return parsed.status();
  }
  switch (parsed->backend) {
    case StoreBackend::kSqlite:
      return OpenSqliteStore(parsed->target, options);
    case StoreBackend::kPostgres:
      return OpenPostgresStore(parsed->target, options);
  }
  return Internal("store: unknown backend");
}

}  // namespace aloft::server
