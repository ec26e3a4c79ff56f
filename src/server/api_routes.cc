#include "server/api_routes.h"

#include "core/try.h"
#include "server/api_handlers.h"
#include "server/log.h"

namespace aloft::server {
namespace {

constexpr std::string_view kArtifactPrefix = "/api/v1/artifacts/";

}  // namespace

Status AddApiRoutes(ApiContext& context, Router& router) {
  using HandlerFunction = HttpResponse (*)(ApiContext&, const HttpRequest&);
  struct Route {
    const char* method;
    const char* pattern;
    HandlerFunction handler;
  };
  static constexpr Route kRoutes[] = {
      {"GET", "/healthz", HandleHealth},
      {"GET", "/metrics", HandleMetrics},
      {"POST", "/api/v1/check", HandleCheckin},
      {"POST", "/api/v1/events", HandleEvents},
      {"GET", "/api/v1/artifacts/{sha256}", HandleGetArtifact},
      {"PUT", "/api/v1/artifacts/{sha256}", HandlePutArtifact},
      {"GET", "/api/v1/releases", HandleListReleases},
      {"POST", "/api/v1/releases", HandleCreateRelease},
      {"GET", "/api/v1/releases/{id}", HandleGetRelease},
      {"GET", "/api/v1/rollouts", HandleListRollouts},
      {"POST", "/api/v1/rollouts", HandleCreateRollout},
      {"GET", "/api/v1/rollouts/{id}", HandleGetRollout},
      {"POST", "/api/v1/rollouts/{id}/pause", HandlePauseRollout},
      {"POST", "/api/v1/rollouts/{id}/resume", HandleResumeRollout},
      {"POST", "/api/v1/rollouts/{id}/percent", HandleSetRolloutPercent},
      {"GET", "/api/v1/devices", HandleListDevices},
      {"POST", "/api/v1/devices", HandleRegisterDevice},
      {"GET", "/api/v1/devices/{id}", HandleGetDevice},
      {"GET", "/api/v1/projects/{project}/keys", HandleListReleaseKeys},
      {"POST", "/api/v1/projects/{project}/keys", HandleAddReleaseKey},
      {"POST", "/api/v1/projects/{project}/keys/{digest}/revoke", HandleRevokeReleaseKey},
  };
  for (const Route& route : kRoutes) {
    HandlerFunction handler = route.handler;
    ALOFT_TRY(router.Add(
        route.method, route.pattern,
        [&context, handler](const HttpRequest& request) { return handler(context, request); }));
  }
  return OkStatus();
}

uint64_t ApiBodyLimit(const ApiOptions& options, std::string_view method, std::string_view target) {
  if (method == "PUT" && target.starts_with(kArtifactPrefix)) {
    return options.max_artifact_bytes;
  }
  return options.max_json_body_bytes;
}

void RecordAccess(ApiContext& context, const AccessLogEntry& entry, bool log_requests) {
  if ((entry.status == 200 || entry.status == 206) && entry.method == "GET" &&
      entry.path.starts_with(kArtifactPrefix)) {
    context.metrics.CountDownload(entry.body_bytes);
  }
  if (log_requests) {
    Log(LogLevel::kInfo, "request",
        {{"method", entry.method},
         {"path", entry.path},
         {"status", entry.status},
         {"bytes", entry.body_bytes},
         {"duration_us", static_cast<int64_t>(entry.duration.count())},
         {"remote", entry.remote_address},
         {"completed", entry.completed}});
  }
}

}  // namespace aloft::server
