#include "server/api_context.h"

#include <chrono>

namespace aloft::server {

Result<std::unique_ptr<ApiContext>> ApiContext::Create(Store& store, ApiOptions options) {
  Result<ArtifactStore> artifacts = ArtifactStore::Open(options.artifact_directory);
  if (!artifacts.ok()) {
    return artifacts.status();
  }
  if (!options.now_ms) {
    options.now_ms = [] {
      return static_cast<int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count());
    };
  }
  return std::unique_ptr<ApiContext>(
      new ApiContext(store, std::move(options), std::move(artifacts).value()));
}

ApiContext::ApiContext(Store& store_ref, ApiOptions api_options, ArtifactStore artifact_store)
    : store(store_ref),
      options(std::move(api_options)),
      artifacts(std::move(artifact_store)),
      auth(store, this->options.master_key, this->options.auth),
      rollouts(store, this->options.rollouts),
      checkins(store, this->options.checkins) {}

}  // namespace aloft::server
