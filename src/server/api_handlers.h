#pragma once
// The API handlers, one function per endpoint, grouped one file per resource
// (checkin_api.cc, event_api.cc, artifact_api.cc, release_api.cc, rollout_api.cc,
// device_api.cc, key_api.cc, health_api.cc). api_routes.cc maps them to methods and paths;
// docs/protocol.md and docs/openapi.yaml specify each. Every handler authenticates first,
// validates everything before it writes anything, and answers errors as
// {"error": {"code", "message"}}. Thread-safe (they share only the context's thread-safe parts).

#include "server/api_context.h"
#include "server/http/http_types.h"

namespace aloft::server {

// Devices.
HttpResponse HandleCheckin(ApiContext& context, const HttpRequest& request);
HttpResponse HandleEvents(ApiContext& context, const HttpRequest& request);
HttpResponse HandleGetArtifact(ApiContext& context, const HttpRequest& request);

// Admins.
HttpResponse HandlePutArtifact(ApiContext& context, const HttpRequest& request);
HttpResponse HandleListReleases(ApiContext& context, const HttpRequest& request);
HttpResponse HandleCreateRelease(ApiContext& context, const HttpRequest& request);
HttpResponse HandleGetRelease(ApiContext& context, const HttpRequest& request);
HttpResponse HandleCreateRollout(ApiContext& context, const HttpRequest& request);
HttpResponse HandleListRollouts(ApiContext& context, const HttpRequest& request);
HttpResponse HandleGetRollout(ApiContext& context, const HttpRequest& request);
HttpResponse HandlePauseRollout(ApiContext& context, const HttpRequest& request);
HttpResponse HandleResumeRollout(ApiContext& context, const HttpRequest& request);
HttpResponse HandleSetRolloutPercent(ApiContext& context, const HttpRequest& request);
HttpResponse HandleRegisterDevice(ApiContext& context, const HttpRequest& request);
HttpResponse HandleListDevices(ApiContext& context, const HttpRequest& request);
HttpResponse HandleGetDevice(ApiContext& context, const HttpRequest& request);
HttpResponse HandleAddReleaseKey(ApiContext& context, const HttpRequest& request);
HttpResponse HandleListReleaseKeys(ApiContext& context, const HttpRequest& request);
HttpResponse HandleRevokeReleaseKey(ApiContext& context, const HttpRequest& request);

// Operations.
HttpResponse HandleHealth(ApiContext& context, const HttpRequest& request);
HttpResponse HandleMetrics(ApiContext& context, const HttpRequest& request);

}  // namespace aloft::server
