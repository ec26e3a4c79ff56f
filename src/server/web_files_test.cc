#include "server/web_files.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "support/vectors.h"

namespace aloft::server {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::literals;

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

// The bytes a file response would send.
std::string FileBytes(const HttpResponse& response) {
  const FileBody* body = response.file_body();
  if (body == nullptr || !body->fd.valid()) {
    return "<no file>";
  }
  std::string bytes(body->length, '\0');
  const ssize_t got =
      ::pread(body->fd.get(), bytes.data(), bytes.size(), static_cast<off_t>(body->offset));
  return got == static_cast<ssize_t>(bytes.size()) ? bytes : "<short read>";
}

std::string StringBody(const HttpResponse& response) {
  return response.string_body() ? *response.string_body() : "<file>";
}

std::string HeaderOf(const HttpResponse& response, std::string_view name) {
  const std::string* value = response.headers.Find(name);
  return value ? *value : "<absent>";
}

HttpRequest Get(std::string path, std::string method = "GET") {
  HttpRequest request;
  request.method = std::move(method);
  request.target = path;
  request.path = std::move(path);
  return request;
}

// base/
//   secret.txt, admin.token, outside/file.txt     (outside the web root)
//   web/
//     index.html app.css favicon.svg js/app.js js/pages/x.js   served
//     alias.html -> index.html                                 served (inside the root)
//     .hidden.js notes README.md backup.js~ "we ird.js"        skipped (name or type)
//     secret.txt -> ../secret.txt, outdir -> ../outside        skipped (outside)
//     loop -> .                                                skipped (cycle)
//     pipe.js (a FIFO), dangling.js -> missing.js              skipped (not a regular file)
class WebFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    web_ = base_.path() / "web";
    fs::create_directories(web_ / "js" / "pages");
    fs::create_directories(base_.path() / "outside");
    WriteText(base_.path() / "secret.txt", "SECRET");
    WriteText(base_.path() / "admin.token", "TOKEN");
    WriteText(base_.path() / "outside" / "file.txt", "OUTSIDE");
    WriteText(web_ / "index.html", "<!doctype html><title>x</title>");
    WriteText(web_ / "app.css", "body{}");
    WriteText(web_ / "favicon.svg", "<svg/>");
    WriteText(web_ / "js" / "app.js", "export {};");
    WriteText(web_ / "js" / "pages" / "x.js", "export const x = 1;");
    fs::create_symlink("index.html", web_ / "alias.html");
    WriteText(web_ / ".hidden.js", "hidden");
    WriteText(web_ / "notes", "no extension");
    WriteText(web_ / "README.md", "unknown type");
    WriteText(web_ / "backup.js~", "backup");
    WriteText(web_ / "we ird.js", "space");
    fs::create_symlink("../secret.txt", web_ / "secret.txt");
    fs::create_symlink(base_.path() / "outside", web_ / "outdir");
    fs::create_symlink(".", web_ / "loop");
    ASSERT_EQ(::mkfifo((web_ / "pipe.js").c_str(), 0600), 0);
    fs::create_symlink("missing.js", web_ / "dangling.js");
  }

  Router Routed() {
    Result<WebFiles> files = WebFiles::Scan(web_);
    EXPECT_TRUE(files.ok()) << files.status().reason();
    Router router;
    if (files.ok()) {
      EXPECT_TRUE(files->AddRoutes(router).ok());
    }
    return router;
  }

  aloft::testing::TempDir base_;
  fs::path web_;
};

TEST(WebContentTypeTest, KnownExtensions_TypeWithCharsetForText) {
  EXPECT_EQ(WebContentType("index.html"), "text/html; charset=utf-8");
  EXPECT_EQ(WebContentType("app.css"), "text/css; charset=utf-8");
  EXPECT_EQ(WebContentType("app.js"), "text/javascript; charset=utf-8");
  EXPECT_EQ(WebContentType("mod.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(WebContentType("a.JSON"), "application/json");
  EXPECT_EQ(WebContentType("favicon.svg"), "image/svg+xml");
  EXPECT_EQ(WebContentType("logo.png"), "image/png");
  EXPECT_EQ(WebContentType("font.woff2"), "font/woff2");
  EXPECT_EQ(WebContentType("x.tar.txt"), "text/plain; charset=utf-8");
}

TEST(WebContentTypeTest, UnknownOrMissingExtension_Nullopt) {
  for (std::string_view name :
       {"notes", "README.md", "app.js~", "a.exe", ".js", "js", "a.", "a.html.bak"}) {
    EXPECT_EQ(WebContentType(name), std::nullopt) << name;
  }
}

TEST(IsServableSegmentTest, PlainNames_Yes_DotsSlashesAndOthers_No) {
  for (std::string_view name : {"index.html", "app-1.2_x.js", "A", "a..b.js"}) {
    EXPECT_TRUE(IsServableSegment(name)) << name;
  }
  for (std::string_view name : {""sv, "."sv, ".."sv, ".hidden"sv, "a/b"sv, "a\\b"sv, "a b"sv,
                                "%2e%2e"sv, "a~"sv, "a\0b"sv, "{x}"sv, "a:b"sv, "é.js"sv}) {
    EXPECT_FALSE(IsServableSegment(name)) << name;
  }
  EXPECT_TRUE(IsServableSegment(std::string(128, 'a')));
  EXPECT_FALSE(IsServableSegment(std::string(129, 'a')));
}

TEST(ChooseWebRootTest, Setting_NoneDefaultRelativeAbsolute) {
  aloft::testing::TempDir dir;
  const fs::path installed = dir.path() / "share" / "aloft" / "web";
  EXPECT_EQ(ChooseWebRoot("none", "/work", installed), std::nullopt);
  EXPECT_EQ(ChooseWebRoot("", "/work", installed), std::nullopt);  // nothing installed
  fs::create_directories(installed);
  EXPECT_EQ(ChooseWebRoot("", "/work", installed), std::nullopt);  // no index.html
  WriteText(installed / "index.html", "x");
  EXPECT_EQ(ChooseWebRoot("", "/work", installed), installed);
  EXPECT_EQ(ChooseWebRoot("", "/work", fs::path()), std::nullopt);
  EXPECT_EQ(ChooseWebRoot("web", "/work", installed), fs::path("/work/web"));
  EXPECT_EQ(ChooseWebRoot("/srv/web", "/work", installed), fs::path("/srv/web"));
}

TEST(InstalledWebRootTest, BinDirectory_ShareAloftWebBesideIt) {
  EXPECT_EQ(InstalledWebRoot("/usr/local/bin/aloftd"), fs::path("/usr/local/share/aloft/web"));
  EXPECT_EQ(InstalledWebRoot("/opt/aloft/bin/aloftd"), fs::path("/opt/aloft/share/aloft/web"));
}

TEST_F(WebFilesTest, Scan_Fixture_OnlySafeRegularFilesOfKnownTypeInsideTheRoot) {
  Result<WebFiles> files = WebFiles::Scan(web_);
  ASSERT_TRUE(files.ok()) << files.status().reason();
  std::vector<std::string> routes;
  for (const WebFile& file : files->files()) {
    routes.push_back(file.route);
  }
  EXPECT_THAT(routes, ElementsAre("/alias.html", "/app.css", "/favicon.svg", "/index.html",
                                  "/js/app.js", "/js/pages/x.js"));
  EXPECT_EQ(files->root(), fs::canonical(web_));
  EXPECT_EQ(files->files()[0].path, fs::canonical(web_ / "index.html"));  // the alias, resolved
  EXPECT_EQ(files->files()[4].content_type, "text/javascript; charset=utf-8");
  // .hidden.js notes README.md backup.js~ "we ird.js" secret.txt outdir loop pipe.js dangling.js
  EXPECT_EQ(files->skipped(), 10u);
}

TEST_F(WebFilesTest, Scan_RootThroughSymlink_Resolved) {
  fs::create_symlink(web_, base_.path() / "link-to-web");
  Result<WebFiles> files = WebFiles::Scan(base_.path() / "link-to-web");
  ASSERT_TRUE(files.ok());
  EXPECT_EQ(files->files().size(), 6u);
}

TEST_F(WebFilesTest, Scan_BadRoots_SpecificErrors) {
  EXPECT_EQ(WebFiles::Scan(base_.path() / "missing").status().reason(),
            std::string_view("web: root is not a directory"));
  EXPECT_EQ(WebFiles::Scan(base_.path() / "secret.txt").status().reason(),
            std::string_view("web: root is not a directory"));
  EXPECT_EQ(WebFiles::Scan(base_.path() / "outside").status().reason(),
            std::string_view("web: no index.html"));
  fs::remove(web_ / "index.html");
  EXPECT_EQ(WebFiles::Scan(web_).status().code(), Status::Code::kNotFound);
}

TEST_F(WebFilesTest, Scan_TooManyEntries_ResourceExhaustedServedOrNot) {
  const fs::path big = base_.path() / "big";
  fs::create_directories(big);
  WriteText(big / "index.html", "x");
  for (size_t i = 0; i + 1 < kMaxWebFiles; ++i) {
    WriteText(big / ("f" + std::to_string(i) + ".js"), "");
  }
  Result<WebFiles> full = WebFiles::Scan(big);
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->files().size(), kMaxWebFiles);
  WriteText(big / "one-more.md", "");  // not served, but still an entry to look at
  Result<WebFiles> files = WebFiles::Scan(big);
  EXPECT_EQ(files.status().code(), Status::Code::kResourceExhausted);
  EXPECT_EQ(files.status().reason(), std::string_view("web: too many files"));
}

TEST_F(WebFilesTest, Routes_TraversalAndListingAttempts_AllNotFound) {
  Router router = Routed();
  const std::string absolute_secret = (base_.path() / "secret.txt").string();
  const std::vector<std::string> attempts = {
      "/../secret.txt",
      "/../admin.token",
      "/%2e%2e/secret.txt",
      "/%2E%2E/admin.token",
      "/.%2e/secret.txt",
      "/js/%2e%2e/index.html",
      "/js/../index.html",
      "/js/../../secret.txt",
      "/./index.html",
      "//index.html",
      absolute_secret,        // an absolute path as the request path
      "/" + absolute_secret,  // and with the root's slash in front
      "/%2f" + absolute_secret.substr(1),
      "/js%2fapp.js",
      "/js%2Fapp.js",
      "/js/",
      "/js",
      "/js/pages/",
      "/index.html/",
      "/INDEX.HTML",
      "/index.html%00",
      "/index.html%00.js",
      "/index.html;.js",
      "/secret.txt",
      "/outdir/file.txt",
      "/outdir/",
      "/loop/index.html",
      "/.hidden.js",
      "/notes",
      "/README.md",
      "/backup.js~",
      "/we%20ird.js",
      "/pipe.js",
      "/dangling.js",
      "/..",
      "/%2e%2e",
      "/%252e%252e/secret.txt",
  };
  for (const std::string& path : attempts) {
    HttpRequest request = Get(path);
    HttpResponse response = router.Dispatch(request);
    EXPECT_EQ(response.status, 404) << path;
    EXPECT_THAT(StringBody(response), HasSubstr("\"code\":\"not_found\"")) << path;
    EXPECT_THAT(StringBody(response), Not(HasSubstr("SECRET"))) << path;
    EXPECT_EQ(response.file_body(), nullptr) << path;
  }
}

TEST_F(WebFilesTest, Get_IndexAtRootAndByName_StreamedWithTypeCachingAndSecurityHeaders) {
  Router router = Routed();
  for (const char* path : {"/", "/index.html", "/alias.html"}) {
    HttpRequest request = Get(path);
    HttpResponse response = router.Dispatch(request);
    EXPECT_EQ(response.status, 200) << path;
    EXPECT_EQ(FileBytes(response), "<!doctype html><title>x</title>") << path;
    EXPECT_EQ(HeaderOf(response, "Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(HeaderOf(response, "Cache-Control"), "no-cache");
    EXPECT_EQ(HeaderOf(response, "Content-Security-Policy"), kWebContentSecurityPolicy);
    EXPECT_EQ(HeaderOf(response, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(HeaderOf(response, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(HeaderOf(response, "X-Frame-Options"), "DENY");
    EXPECT_THAT(HeaderOf(response, "ETag"), ::testing::MatchesRegex("\"[0-9a-f]+-[0-9a-f]+\""));
  }
  HttpRequest query = Get("/js/pages/x.js");
  query.target = "/js/pages/x.js?v=2";
  HttpResponse script = router.Dispatch(query);
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(FileBytes(script), "export const x = 1;");
  EXPECT_EQ(HeaderOf(script, "Content-Type"), "text/javascript; charset=utf-8");
}

TEST_F(WebFilesTest, Head_ServedByTheGetRoute_SameHeaders) {
  Router router = Routed();
  HttpRequest request = Get("/app.css", "HEAD");
  HttpResponse response = router.Dispatch(request);
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(HeaderOf(response, "Content-Type"), "text/css; charset=utf-8");
  ASSERT_NE(response.file_body(), nullptr);  // the server sends its length, not its bytes
  EXPECT_EQ(response.file_body()->length, 6u);
}

TEST_F(WebFilesTest, IfNoneMatch_SameEtag_304WithSecurityHeaders_ChangedFile_NewEtag) {
  Router router = Routed();
  HttpRequest first = Get("/app.css");
  const std::string etag = HeaderOf(router.Dispatch(first), "ETag");
  HttpRequest again = Get("/app.css");
  again.headers.Add("If-None-Match", etag);
  HttpResponse not_modified = router.Dispatch(again);
  EXPECT_EQ(not_modified.status, 304);
  EXPECT_EQ(HeaderOf(not_modified, "Content-Security-Policy"), kWebContentSecurityPolicy);
  EXPECT_EQ(HeaderOf(not_modified, "Cache-Control"), "no-cache");

  WriteText(web_ / "app.css", "body{color:black}");
  HttpRequest changed = Get("/app.css");
  changed.headers.Add("If-None-Match", etag);
  HttpResponse fresh = router.Dispatch(changed);
  EXPECT_EQ(fresh.status, 200);
  EXPECT_NE(HeaderOf(fresh, "ETag"), etag);
  EXPECT_EQ(FileBytes(fresh), "body{color:black}");
}

TEST_F(WebFilesTest, Range_OneRange_206) {
  Router router = Routed();
  HttpRequest request = Get("/js/app.js");
  request.headers.Add("Range", "bytes=0-5");
  HttpResponse response = router.Dispatch(request);
  EXPECT_EQ(response.status, 206);
  EXPECT_EQ(FileBytes(response), "export");
}

TEST_F(WebFilesTest, FileSwappedAfterScan_SymlinkOrFifoOrGone_NotServed) {
  Router router = Routed();
  fs::remove(web_ / "app.css");
  fs::create_symlink("../secret.txt", web_ / "app.css");
  HttpRequest swapped = Get("/app.css");
  HttpResponse response = router.Dispatch(swapped);
  EXPECT_EQ(response.status, 404);
  EXPECT_THAT(StringBody(response), Not(HasSubstr("SECRET")));

  fs::remove(web_ / "favicon.svg");
  ASSERT_EQ(::mkfifo((web_ / "favicon.svg").c_str(), 0600), 0);
  HttpRequest fifo = Get("/favicon.svg");
  EXPECT_EQ(router.Dispatch(fifo).status, 404);  // and the open did not block

  fs::remove(web_ / "js" / "app.js");
  HttpRequest gone = Get("/js/app.js");
  EXPECT_EQ(router.Dispatch(gone).status, 404);
}

TEST_F(WebFilesTest, OtherMethods_405WithAllow) {
  Router router = Routed();
  HttpRequest request = Get("/", "POST");
  HttpResponse response = router.Dispatch(request);
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(HeaderOf(response, "Allow"), "GET, HEAD");
}

TEST(NoDashboardTest, RootAndIndex_404JsonNamingTheFlag) {
  Router router;
  ASSERT_TRUE(AddNoDashboardRoutes(router).ok());
  for (const char* path : {"/", "/index.html"}) {
    HttpRequest request = Get(path);
    HttpResponse response = router.Dispatch(request);
    EXPECT_EQ(response.status, 404);
    EXPECT_EQ(HeaderOf(response, "Content-Type"), "application/json");
    EXPECT_THAT(StringBody(response), HasSubstr("\"code\":\"dashboard_not_served\""));
    EXPECT_THAT(StringBody(response), HasSubstr("--web DIR"));
  }
}

}  // namespace
}  // namespace aloft::server
