// http_bench_server: HttpsServer with the two answers the benchmark compares against nginx
// (bench/http_vs_nginx.sh): a fixed small JSON for POST /api/v1/check and a file for
// GET /artifact (with Range and ETag, as aloftd serves artifacts). Prints "port N" once it
// listens, then runs until SIGINT or SIGTERM and stops gracefully.
//
//   http_bench_server --cert C.pem --key K.pem --file F [--port P] [--threads N]
//                     [--handler-threads N] [--chunk BYTES] [--json TEXT]

#include <signal.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "server/http/file_range.h"
#include "server/http/https_server.h"

namespace {

using aloft::server::FileBody;
using aloft::server::HttpRequest;
using aloft::server::HttpResponse;

constexpr const char* kDefaultJson =
    R"({"update":false,"nonce":"0123456789abcdef0123456789abcdef","next_check_s":3600,)"
    R"("signature":"3045022100c1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f80)"
    R"(22012345"})";

int Usage() {
  std::fprintf(stderr,
               "usage: http_bench_server --cert C.pem --key K.pem --file F [--port P] "
               "[--threads N] [--handler-threads N] [--chunk BYTES] [--json TEXT]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  aloft::server::HttpsServerOptions options;
  options.port = 0;
  options.idle_timeout = std::chrono::seconds(120);
  options.max_connections = 100'000;
  std::string file_path;
  std::string json = kDefaultJson;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) {
      return Usage();
    }
    const char* value = argv[++i];
    if (flag == "--cert") {
      options.certificate_chain_path = value;
    } else if (flag == "--key") {
      options.private_key_path = value;
    } else if (flag == "--file") {
      file_path = value;
    } else if (flag == "--port") {
      options.port = static_cast<uint16_t>(std::atoi(value));
    } else if (flag == "--threads") {
      options.io_threads = std::atoi(value);
    } else if (flag == "--handler-threads") {
      options.handler_threads = std::atoi(value);
    } else if (flag == "--chunk") {
      options.file_chunk_bytes = static_cast<size_t>(std::atol(value));
    } else if (flag == "--json") {
      json = value;
    } else {
      return Usage();
    }
  }
  struct stat file_stat {};
  if (file_path.empty() || ::stat(file_path.c_str(), &file_stat) != 0) {
    std::fprintf(stderr, "http_bench_server: cannot stat --file '%s'\n", file_path.c_str());
    return Usage();
  }
  const uint64_t file_size = static_cast<uint64_t>(file_stat.st_size);
  const std::string etag = aloft::server::StrongEtag("bench" + std::to_string(file_size) + "-" +
                                                     std::to_string(file_stat.st_mtime));

  aloft::server::Router router;
  bool routes_ok = router
                       .Add("POST", "/api/v1/check",
                            [&json](const HttpRequest&) {
                              HttpResponse response;
                              response.headers.Add("Content-Type", "application/json");
                              response.body = json;
                              return response;
                            })
                       .ok() &&
                   router
                       .Add("GET", "/artifact",
                            [&](const HttpRequest& request) {
                              FileBody file;
                              file.path = file_path;
                              file.total_size = file_size;
                              return aloft::server::FileResponse(request, std::move(file), etag,
                                                                 "application/octet-stream");
                            })
                       .ok();
  if (!routes_ok) {
    std::fprintf(stderr, "http_bench_server: cannot add routes\n");
    return 1;
  }

  // Block the stop signals before any thread starts, so every thread inherits the mask and
  // sigwait below is the only place they arrive.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  aloft::server::HttpsServer server(options, std::move(router));
  aloft::Status status = server.Start();
  if (!status.ok()) {
    std::fprintf(stderr, "http_bench_server: %s (%u)\n", status.reason(), status.context());
    return 1;
  }
  std::printf("port %u\n", static_cast<unsigned>(server.port()));
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  server.Stop(std::chrono::seconds(5));
  return 0;
}
