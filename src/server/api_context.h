#pragma once
// ApiContext: what aloftd's API handlers share — the store, the artifact files, the
// authenticator, the rollout cache, the check-in buffer, the metrics, a clock and the limits —
// built once by the server and passed to every handler (api_routes.h). Handlers are thin: they
// read the request, call the pure decisions (rollout_policy.h, release_admission.h) and the
// store, and answer JSON. Every member is thread-safe; the context outlives the HTTPS server.

#include <cstdint>
#include <functional>
#include <memory>

#include "ports/host/openssl_crypto.h"
#include "server/artifact_store.h"
#include "server/authenticator.h"
#include "server/checkin_buffer.h"
#include "server/credentials.h"
#include "server/metrics.h"
#include "server/rollout_cache.h"
#include "server/store/store.h"

namespace aloft::server {

struct ApiOptions {
  std::filesystem::path artifact_directory;  // DATA/artifacts
  MasterKey master_key{};                    // DATA/device-master.key
  AuthenticatorOptions auth;
  RolloutCacheOptions rollouts;
  CheckinBufferOptions checkins;
  // Request bodies: JSON endpoints take at most max_json_body_bytes, an artifact upload at most
  // max_artifact_bytes (the HTTPS layer answers 413 before reading more).
  uint64_t max_json_body_bytes = 64 * 1024;
  uint64_t max_artifact_bytes = 32 * 1024 * 1024;
  // Wall-clock milliseconds since the epoch (server_time_ms, stored times). Default: the
  // system clock.
  std::function<int64_t()> now_ms;
};

class ApiContext {
 public:
  // Opens the artifact directory. Errors: ArtifactStore::Open's.
  static Result<std::unique_ptr<ApiContext>> Create(Store& store, ApiOptions options);

  Store& store;
  const ApiOptions options;
  ArtifactStore artifacts;
  Authenticator auth;
  RolloutCache rollouts;
  CheckinBuffer checkins;
  Metrics metrics;
  host::OpensslCrypto crypto;

  int64_t NowMs() const { return options.now_ms(); }

 private:
  ApiContext(Store& store_ref, ApiOptions api_options, ArtifactStore artifact_store);
};

}  // namespace aloft::server
