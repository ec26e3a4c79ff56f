#include "server/aloftd.h"

#include <thread>

#include "core/try.h"
#include "server/api_routes.h"
#include "server/data_dir.h"
#include "server/log.h"

namespace aloft::server {

Result<std::unique_ptr<Aloftd>> Aloftd::Start(AloftdOptions options) {
  const ServerConfig& config = options.config;
  const std::filesystem::path& data_dir = options.data_dir;
  ALOFT_TRY_ASSIGN(const ListenAddress listen, ParseListenAddress(config.listen));
  Result<MasterKey> master_key = ReadMasterKey(data_dir);
  if (!master_key.ok()) {
    Log(LogLevel::kError, "startup_failed",
        {{"reason", master_key.status().reason()}, {"data_dir", data_dir.string()}});
    return master_key.status();
  }
  Result<std::string> admin_token = ReadAdminToken(data_dir);
  if (!admin_token.ok()) {
    Log(LogLevel::kError, "startup_failed",
        {{"reason", admin_token.status().reason()}, {"data_dir", data_dir.string()}});
    return admin_token.status();
  }

  const std::string db = ResolveDbLocation(config.db, data_dir);
  ALOFT_TRY_ASSIGN(const StoreLocation location, ParseStoreLocation(db));
  const bool postgres = location.backend == StoreBackend::kPostgres;
  const int io_threads = config.io_threads > 0
                             ? config.io_threads
                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  // Handlers that wait on a remote database get their own pool; SQLite answers in
  // microseconds, and a check-in touches neither, so they run on the I/O threads.
  const int handler_threads =
      config.handler_threads >= 0 ? config.handler_threads : (postgres ? 16 : 0);
  StoreOptions store_options;
  store_options.pool_size =
      config.db_pool_size > 0 ? config.db_pool_size : io_threads + handler_threads + 2;

  auto server = std::unique_ptr<Aloftd>(new Aloftd());
  Result<std::unique_ptr<Store>> store = OpenStore(db, store_options);
  if (!store.ok()) {
    Log(LogLevel::kError, "startup_failed",
        {{"reason", store.status().reason()}, {"backend", postgres ? "postgresql" : "sqlite"}});
    return store.status();
  }
  server->store_ = std::move(store).value();

  ApiOptions api;
  api.artifact_directory = data_dir / kArtifactDirectory;
  api.master_key = *master_key;
  api.auth.cache_ttl = std::chrono::milliseconds(config.credential_cache_ttl_ms);
  api.rollouts.ttl = std::chrono::milliseconds(config.rollout_cache_ttl_ms);
  api.checkins.flush_interval = std::chrono::milliseconds(config.checkin_flush_interval_ms);
  api.max_json_body_bytes = config.max_json_body_bytes;
  api.max_artifact_bytes = config.max_artifact_bytes;
  api.now_ms = options.now_ms;
  ALOFT_TRY_ASSIGN(server->context_, ApiContext::Create(*server->store_, std::move(api)));
  ApiContext& context = *server->context_;
  ALOFT_TRY(EnsureAdminToken(*server->store_, *admin_token, context.NowMs()));

  Router router;
  ALOFT_TRY(AddApiRoutes(context, router));
  HttpsServerOptions https;
  https.listen_address = listen.address;
  https.port = listen.port;
  https.certificate_chain_path = (data_dir / config.certificate).string();
  https.private_key_path = (data_dir / config.private_key).string();
  if (!config.client_ca.empty()) {
    https.client_ca_path = (data_dir / config.client_ca).string();
  }
  https.io_threads = io_threads;
  https.handler_threads = handler_threads;
  https.max_body_bytes = config.max_json_body_bytes;
  https.body_limit = [&context](std::string_view method, std::string_view target) {
    return ApiBodyLimit(context.options, method, target);
  };
  https.max_connections = config.max_connections;
  https.request_timeout = std::chrono::milliseconds(config.request_timeout_ms);
  https.idle_timeout = std::chrono::milliseconds(config.idle_timeout_ms);
  const bool access_log = config.access_log;
  https.access_log = [&context, access_log](const AccessLogEntry& entry) {
    RecordAccess(context, entry, access_log);
  };
  server->https_ = std::make_unique<HttpsServer>(std::move(https), std::move(router));
  context.checkins.Start();
  const Status started = server->https_->Start();
  if (!started.ok()) {
    Log(LogLevel::kError, "startup_failed",
        {{"reason", started.reason()}, {"listen", config.listen}});
    (void)context.checkins.Stop();
    return started;
  }
  Log(LogLevel::kInfo, "started",
      {{"listen", listen.address + ":" + std::to_string(server->https_->port())},
       {"backend", postgres ? "postgresql" : "sqlite"},
       {"io_threads", io_threads},
       {"handler_threads", handler_threads},
       {"data_dir", data_dir.string()}});
  return server;
}

Aloftd::~Aloftd() { (void)Stop(std::chrono::milliseconds(0)); }

uint16_t Aloftd::port() const { return https_->port(); }

Status Aloftd::Stop(std::chrono::milliseconds grace) {
  std::lock_guard lock(stop_mutex_);
  if (stopped_) {
    return OkStatus();
  }
  stopped_ = true;
  if (https_) {
    https_->Stop(grace);  // no new requests, in-flight ones finished
  }
  Status flushed = OkStatus();
  if (context_) {
    flushed = context_->checkins.Stop();  // the last buffered check-ins reach the store
    if (!flushed.ok()) {
      Log(LogLevel::kError, "checkin_flush_failed", {{"reason", flushed.reason()}});
    }
  }
  https_.reset();
  context_.reset();
  store_.reset();  // closes the database
  Log(LogLevel::kInfo, "stopped");
  return flushed;
}

}  // namespace aloft::server
