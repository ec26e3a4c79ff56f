#pragma once
// The routes of aloftd's API (docs/protocol.md, docs/openapi.yaml) and the two hooks the HTTPS
// layer calls around them: the per-request body limit (artifact uploads may be large, JSON
// calls may not) and the access log (download counters and, optionally, one log line per
// request).

#include <cstdint>
#include <string_view>

#include "core/status.h"
#include "server/api_context.h"
#include "server/http/https_server.h"
#include "server/http/router.h"

namespace aloft::server {

// Adds every endpoint to `router`. `context` must outlive the router.
//   GET  /healthz                                       open
//   GET  /metrics                                       admin
//   POST /api/v1/check                                  device
//   POST /api/v1/events                                 device
//   GET  /api/v1/artifacts/{sha256}   (and HEAD)        device or admin
//   PUT  /api/v1/artifacts/{sha256}                     admin
//   GET  /api/v1/releases, POST /api/v1/releases        admin
//   GET  /api/v1/releases/{id}                          admin (id or version)
//   GET  /api/v1/rollouts, POST /api/v1/rollouts        admin
//   GET  /api/v1/rollouts/{id}                          admin
//   POST /api/v1/rollouts/{id}/pause|resume|percent     admin
//   GET  /api/v1/devices, POST /api/v1/devices          admin
//   GET  /api/v1/devices/{id}                           admin
//   GET  /api/v1/projects/{project}/keys, POST ...      admin
//   POST /api/v1/projects/{project}/keys/{digest}/revoke  admin
Status AddApiRoutes(ApiContext& context, Router& router);

// The body limit for a request line: max_artifact_bytes for PUT /api/v1/artifacts/...,
// max_json_body_bytes for everything else.
uint64_t ApiBodyLimit(const ApiOptions& options, std::string_view method, std::string_view target);

// Counts artifact downloads (GET with 200 or 206) and their bytes; with `log_requests`, also
// writes one "request" line to the log.
void RecordAccess(ApiContext& context, const AccessLogEntry& entry, bool log_requests);

}  // namespace aloft::server
