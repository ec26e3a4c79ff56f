// Artifacts by SHA-256 (docs/protocol.md §3): GET/HEAD for devices and admins, with Range,
// If-Range and ETag (file_range.h), streamed from the file; PUT for admins, which stores the
// raw body only if its SHA-256 is the one in the path. Only 64 lower-case hex digits name an
// artifact, so no path ("..", "/", "%2e") can reach anything but DATA/artifacts/<sha256>.bin.

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/http/file_range.h"
#include "server/log.h"

namespace aloft::server {
namespace {

constexpr const char* kInvalidId = "an artifact is named by its SHA-256: 64 lower-case hex digits";

}  // namespace

HttpResponse HandleGetArtifact(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.Authenticate(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  const std::string* sha256 = request.PathParam("sha256");
  if (sha256 == nullptr || !IsValidSha256Hex(*sha256)) {
    return JsonError(400, "invalid_artifact_id", kInvalidId);
  }
  Result<FileBody> file = context.artifacts.OpenForReading(*sha256);
  if (!file.ok()) {
    return JsonError(404, "artifact_not_found", "no artifact " + *sha256);
  }
  HttpResponse response = FileResponse(request, std::move(file).value(), StrongEtag(*sha256),
                                       "application/octet-stream");
  response.headers.Set("Cache-Control", "private, max-age=31536000, immutable");
  return response;
}

HttpResponse HandlePutArtifact(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  const std::string* sha256 = request.PathParam("sha256");
  if (sha256 == nullptr || !IsValidSha256Hex(*sha256)) {
    return JsonError(400, "invalid_artifact_id", kInvalidId);
  }
  if (request.body.empty()) {
    return JsonError(400, "empty_artifact", "the request body (the artifact) is empty");
  }
  const std::string actual = Sha256Hex(AsBytes(request.body));
  if (actual != *sha256) {
    return JsonError(400, "digest_mismatch",
                     "the body's SHA-256 is " + actual + ", not the " + *sha256 + " in the path");
  }
  const bool existed = context.store.FindArtifact(*sha256).ok();
  const Status put = context.artifacts.Put(*sha256, AsBytes(request.body));
  if (!put.ok()) {
    Log(LogLevel::kError, "artifact_write_failed", {{"sha256", *sha256}, {"reason", put.reason()}});
    return StatusToApiError(put).ToResponse();
  }
  const Status recorded = context.store.RecordArtifact(
      Artifact{*sha256, static_cast<uint64_t>(request.body.size()), context.NowMs()});
  if (!recorded.ok()) {
    return StoreError(recorded, "record artifact").ToResponse();
  }
  Log(LogLevel::kInfo, "artifact_stored",
      {{"sha256", *sha256},
       {"size", static_cast<uint64_t>(request.body.size())},
       {"admin", caller->name}});
  return JsonResponse(existed ? 200 : 201,
                      boost::json::object{{"sha256", *sha256},
                                          {"size", request.body.size()},
                                          {"url", "/api/v1/artifacts/" + *sha256}});
}

}  // namespace aloft::server
