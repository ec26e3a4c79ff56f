#include "server/web_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <system_error>
#include <utility>

#include "core/try.h"
#include "server/http/file_range.h"
#include "server/log.h"

namespace aloft::server {
namespace {

namespace fs = std::filesystem;

struct ContentTypeEntry {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array<ContentTypeEntry, 14> kContentTypes = {{
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"txt", "text/plain; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"webp", "image/webp"},
    {"ico", "image/vnd.microsoft.icon"},
    {"woff2", "font/woff2"},
    {"wasm", "application/wasm"},
}};

// True if `inner` is `root` or lies under it. Both must be fully resolved (canonical).
bool IsInside(const fs::path& root, const fs::path& inner) {
  auto [root_end, inner_end] = std::mismatch(root.begin(), root.end(), inner.begin(), inner.end());
  return root_end == root.end();
}

class Scanner {
 public:
  explicit Scanner(fs::path root) : root_(std::move(root)) {}

  // Walks `directory` (resolved, inside the root), whose route prefix is `prefix` ("/js/").
  Status Walk(const fs::path& directory, const std::string& prefix, int depth) {
    std::error_code error;
    fs::directory_iterator it(directory, error);
    if (error) {
      Skip(directory, "directory cannot be read");
      return OkStatus();
    }
    for (; it != fs::directory_iterator(); it.increment(error)) {
      if (error) {
        Skip(directory, "directory cannot be read");
        return OkStatus();
      }
      // Every entry counts, served or not: pointing --web at a big tree fails fast.
      if (++entries_ > kMaxWebFiles) {
        return ResourceExhausted("web: too many files", static_cast<uint32_t>(kMaxWebFiles));
      }
      const fs::path entry = it->path();
      const std::string name = entry.filename().string();
      if (!IsServableSegment(name)) {
        Skip(entry, "name is hidden or has characters outside A-Z a-z 0-9 . _ -");
        continue;
      }
      // Symlinks are resolved in full and must stay inside the root.
      const fs::path resolved = fs::canonical(entry, error);
      if (error) {
        Skip(entry, "cannot be resolved (dangling symlink?)");
        continue;
      }
      if (!IsInside(root_, resolved)) {
        Skip(entry, "resolves outside the web root");
        continue;
      }
      const fs::file_status status = fs::status(resolved, error);
      if (error) {
        Skip(entry, "cannot be read");
        continue;
      }
      if (fs::is_directory(status)) {
        if (IsInside(resolved, directory)) {
          Skip(entry, "links back to a directory above it");
          continue;
        }
        if (depth >= kMaxWebDepth) {
          Skip(entry, "too deep");
          continue;
        }
        ALOFT_TRY(Walk(resolved, prefix + name + "/", depth + 1));
        continue;
      }
      if (!fs::is_regular_file(status)) {
        Skip(entry, "not a regular file");
        continue;
      }
      std::optional<std::string_view> type = WebContentType(name);
      if (!type) {
        Skip(entry, "unknown file type");
        continue;
      }
      files_.push_back(WebFile{prefix + name, resolved, std::string(*type)});
    }
    return OkStatus();
  }

  std::vector<WebFile> TakeFiles() { return std::move(files_); }
  size_t skipped() const { return skipped_; }

 private:
  // At debug level: a dashboard directory normally holds a README or two.
  void Skip(const fs::path& path, const char* reason) {
    ++skipped_;
    Log(LogLevel::kDebug, "web_file_skipped", {{"path", path.string()}, {"reason", reason}});
  }

  fs::path root_;
  std::vector<WebFile> files_;
  size_t entries_ = 0;
  size_t skipped_ = 0;
};

void AddSecurityHeaders(HttpResponse& response) {
  response.headers.Set("Cache-Control", "no-cache");
  response.headers.Set("Content-Security-Policy", std::string(kWebContentSecurityPolicy));
  response.headers.Set("X-Content-Type-Options", "nosniff");
  response.headers.Set("Referrer-Policy", "no-referrer");
  response.headers.Set("X-Frame-Options", "DENY");
  response.headers.Set("Cross-Origin-Opener-Policy", "same-origin");
}

// A validator that changes whenever the file does: size and modification time (ns), in hex.
std::string FileEtag(const struct stat& info) {
  const uint64_t mtime_ns = static_cast<uint64_t>(info.st_mtim.tv_sec) * 1'000'000'000u +
                            static_cast<uint64_t>(info.st_mtim.tv_nsec);
  char text[48];
  std::snprintf(text, sizeof(text), "\"%llx-%llx\"", static_cast<unsigned long long>(info.st_size),
                static_cast<unsigned long long>(mtime_ns));
  return text;
}

}  // namespace

std::optional<std::string_view> WebContentType(std::string_view file_name) {
  const size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos || dot == 0) {
    return std::nullopt;
  }
  const std::string_view extension = file_name.substr(dot + 1);
  for (const ContentTypeEntry& entry : kContentTypes) {
    if (EqualsIgnoreCase(entry.extension, extension)) {
      return entry.type;
    }
  }
  return std::nullopt;
}

bool IsServableSegment(std::string_view segment) {
  if (segment.empty() || segment.size() > 128 || segment.front() == '.') {
    return false;
  }
  return std::all_of(segment.begin(), segment.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
  });
}

std::optional<fs::path> ChooseWebRoot(std::string_view setting, const fs::path& base_dir,
                                      const fs::path& installed) {
  if (setting == "none") {
    return std::nullopt;
  }
  if (setting.empty()) {
    std::error_code error;
    if (!installed.empty() && fs::is_regular_file(installed / "index.html", error)) {
      return installed;
    }
    return std::nullopt;
  }
  const fs::path path(setting);
  return path.is_absolute() ? path : base_dir / path;
}

fs::path InstalledWebRoot(const fs::path& executable) {
  return executable.parent_path().parent_path() / "share" / "aloft" / "web";
}

Result<WebFiles> WebFiles::Scan(const fs::path& root) {
  std::error_code error;
  const fs::path resolved = fs::canonical(root, error);
  if (error || !fs::is_directory(resolved, error)) {
    return NotFound("web: root is not a directory");
  }
  Scanner scanner(resolved);
  ALOFT_TRY(scanner.Walk(resolved, "/", 0));
  WebFiles files;
  files.root_ = resolved;
  files.files_ = scanner.TakeFiles();
  files.skipped_ = scanner.skipped();
  std::sort(files.files_.begin(), files.files_.end(),
            [](const WebFile& a, const WebFile& b) { return a.route < b.route; });
  const bool has_index =
      std::any_of(files.files_.begin(), files.files_.end(),
                  [](const WebFile& file) { return file.route == "/index.html"; });
  if (!has_index) {
    return NotFound("web: no index.html");
  }
  return files;
}

Status WebFiles::AddRoutes(Router& router) const {
  for (const WebFile& file : files_) {
    auto handler = [file](const HttpRequest& request) { return ServeWebFile(request, file); };
    ALOFT_TRY(router.Add("GET", file.route, handler));
    if (file.route == "/index.html") {
      ALOFT_TRY(router.Add("GET", "/", handler));
    }
  }
  return OkStatus();
}

HttpResponse ServeWebFile(const HttpRequest& request, const WebFile& file) {
  // O_NOFOLLOW: the scan resolved every symlink, so a symlink here was put there since.
  // O_NONBLOCK: opening a FIFO put there since must not hang the I/O thread.
  UniqueFd fd(::open(file.path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  struct stat info {};
  if (!fd.valid() || ::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return JsonError(404, "not_found", "no resource at " + request.path);
  }
  FileBody body;
  body.fd = std::move(fd);
  body.total_size = static_cast<uint64_t>(info.st_size);
  HttpResponse response = FileResponse(request, std::move(body), FileEtag(info), file.content_type);
  AddSecurityHeaders(response);
  return response;
}

Status AddNoDashboardRoutes(Router& router) {
  auto handler = [](const HttpRequest&) {
    return JsonError(404, "dashboard_not_served",
                     "this aloftd serves no dashboard: start it with --web DIR (the web/ directory "
                     "of aloft) or set \"web\" in aloftd.conf");
  };
  ALOFT_TRY(router.Add("GET", "/", handler));
  return router.Add("GET", "/index.html", handler);
}

}  // namespace aloft::server
