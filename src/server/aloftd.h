#pragma once
// Aloftd: the whole update server assembled from its parts — the store (opened and migrated),
// the data dir's secrets (master key, admin token made known to the database), the API
// (api_routes.h) with its caches and check-in buffer, and the HTTPS server. main.cc runs one
// under signals; the tests run them in-process on ephemeral ports.
//
// Stop is the graceful shutdown: stop accepting, let requests in flight finish (up to the
// grace period), flush the buffered check-ins, close the store. Thread-safe: Stop may be
// called from any thread but the server's own.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>

#include "core/result.h"
#include "server/api_context.h"
#include "server/http/https_server.h"
#include "server/server_config.h"
#include "server/store/store.h"

namespace aloft::server {

struct AloftdOptions {
  std::filesystem::path data_dir;
  ServerConfig config;
  std::function<int64_t()> now_ms;  // default: the system clock
};

class Aloftd {
 public:
  // Starts a server. Errors (each also logged with its detail): ParseListenAddress's; the data
  // dir's (ReadMasterKey, ReadAdminToken); OpenStore's (including migration); EnsureAdminToken's;
  // ApiContext::Create's; HttpsServer::Start's.
  static Result<std::unique_ptr<Aloftd>> Start(AloftdOptions options);

  Aloftd(const Aloftd&) = delete;
  Aloftd& operator=(const Aloftd&) = delete;
  // Stop() with no grace if still running.
  ~Aloftd();

  uint16_t port() const;
  // Graceful stop; returns the check-in flush's status. Idempotent.
  Status Stop(std::chrono::milliseconds grace);

  Store& store() { return *store_; }
  ApiContext& context() { return *context_; }

 private:
  Aloftd() = default;

  std::unique_ptr<Store> store_;
  std::unique_ptr<ApiContext> context_;
  std::unique_ptr<HttpsServer> https_;
  std::mutex stop_mutex_;
  bool stopped_ = false;
};

}  // namespace aloft::server
