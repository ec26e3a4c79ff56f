#pragma once
// WebFiles: the fleet dashboard's static files (web/, docs/dashboard.md), served by aloftd at
// "/" next to the API. Only files found when the server starts are served, each on its own
// exact route, so there is no directory listing and no path to traverse: a request path is
// compared with the known routes byte for byte, never decoded or joined onto a directory
// ("/../x", "/%2e%2e/x", "//etc/passwd", "/js/" all match nothing and get the router's 404).
//
// What the scan accepts: regular files (or symlinks whose target, fully resolved, is a regular
// file inside the resolved root) whose every path segment is made of A-Z a-z 0-9 . _ - and
// does not start with '.', and whose extension has a known content type (WebContentType).
// Everything else is skipped (counted, and logged at debug): hidden files, editor backups, files
// of unknown type, special files, symlinks out of the root, directories that link back up. At
// most kMaxWebFiles directory entries in all (served or not), kMaxWebDepth directories deep.
//
// Each answer streams the file (FileResponse: ETag from size and modification time, 304 on
// If-None-Match, Range) with Cache-Control: no-cache (browsers revalidate, so a new dashboard
// shows at once) and the security headers of a no-CDN app (kWebContentSecurityPolicy,
// nosniff, no referrer, no framing). The file is opened when asked for, with O_NOFOLLOW: a
// file replaced by a symlink or a special file after the scan is not served (404).
//
// Thread-safe after construction (const).

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "server/http/http_types.h"
#include "server/http/router.h"

namespace aloft::server {

inline constexpr size_t kMaxWebFiles = 1000;
inline constexpr int kMaxWebDepth = 8;

// No inline script or style, nothing from another origin, no framing; connect-src 'self' is the
// admin API on the same origin.
inline constexpr std::string_view kWebContentSecurityPolicy =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

// The Content-Type for a file name by its extension (ASCII case-insensitive): text types carry
// charset=utf-8 ("app.js" → "text/javascript; charset=utf-8"). nullopt for an unknown or missing
// extension: such files are not served.
std::optional<std::string_view> WebContentType(std::string_view file_name);

// True if `segment` (one file or directory name) may appear in a served path: 1 to 128 of
// A-Z a-z 0-9 . _ - and not starting with '.' (so neither "." nor ".." nor hidden files).
bool IsServableSegment(std::string_view segment);

// The directory aloftd serves, from its setting (the --web flag, else aloftd.conf's "web"):
//   "none"            → nullopt (no dashboard)
//   "" (not set)      → `installed` if it is a directory holding index.html, else nullopt
//   a relative path   → base_dir / setting (base_dir: the working directory for the flag, the
//                       data dir for the config file)
//   an absolute path  → itself
// Existence of an explicit directory is checked by WebFiles::Scan, not here.
std::optional<std::filesystem::path> ChooseWebRoot(std::string_view setting,
                                                   const std::filesystem::path& base_dir,
                                                   const std::filesystem::path& installed);

// Where an installed aloftd finds its dashboard: PREFIX/share/aloft/web for PREFIX/bin/aloftd
// (`cmake --install` puts web/ there). `executable` is aloftd's own path.
std::filesystem::path InstalledWebRoot(const std::filesystem::path& executable);

// One servable file: its route ("/js/app.js"; "/" is added for "/index.html") and where it is.
struct WebFile {
  std::string route;
  std::filesystem::path path;  // fully resolved, inside the resolved root
  std::string content_type;
};

class WebFiles {
 public:
  // Scans `root`. kNotFound "web: root is not a directory"; kResourceExhausted "web: too many
  // files" past kMaxWebFiles entries; kNotFound "web: no index.html" when the root has no servable
  // index.html (a directory without the dashboard is a mistake worth stopping for).
  static Result<WebFiles> Scan(const std::filesystem::path& root);

  const std::filesystem::path& root() const { return root_; }
  // Sorted by route.
  const std::vector<WebFile>& files() const { return files_; }
  // How many entries the scan left out.
  size_t skipped() const { return skipped_; }

  // Adds a GET route (HEAD follows GET) per file, and "/" for index.html. The handlers copy
  // what they need: the router may outlive this object.
  Status AddRoutes(Router& router) const;

 private:
  std::filesystem::path root_;
  std::vector<WebFile> files_;
  size_t skipped_ = 0;
};

// The answer for GET or HEAD of `file`: 200/206/304 streamed from the file with the headers
// above, or JsonError 404 "not_found" if it cannot be opened as a regular file any more.
HttpResponse ServeWebFile(const HttpRequest& request, const WebFile& file);

// Routes "/" and "/index.html" to a JSON 404 "dashboard_not_served" that says how to turn the
// dashboard on (--web DIR, or "web" in aloftd.conf), for a server started without one.
Status AddNoDashboardRoutes(Router& router);

}  // namespace aloft::server
