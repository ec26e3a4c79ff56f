// Releases (admin): GET /api/v1/releases lists them (filters: project, chip, version); POST
// takes a RELEASE.json (docs/manifest.md) and admits it only if release_admission.h accepts it
// with the project's registered keys and the uploaded artifact; GET /api/v1/releases/{id}.

#include <boost/json/parse.hpp>

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/log.h"
#include "server/release_admission.h"

namespace aloft::server {

HttpResponse HandleListReleases(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ReleaseQuery query;
  if (const std::string* project = request.Query("project")) {
    query.project = *project;
  }
  if (const std::string* chip = request.Query("chip")) {
    query.chip = *chip;
  }
  if (const std::string* version = request.Query("version")) {
    query.version = *version;
  }
  Result<std::vector<Release>> releases = context.store.ListReleases(query);
  if (!releases.ok()) {
    return StoreError(releases.status(), "list releases").ToResponse();
  }
  boost::json::array array;
  for (const Release& release : *releases) {
    array.emplace_back(ReleaseToJson(release));
  }
  return JsonResponse(200, boost::json::object{{"releases", std::move(array)}});
}

HttpResponse HandleGetRelease(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<Release> release = ResolveRelease(context, *request.PathParam("id"), "", "");
  if (!release.ok()) {
    return release.error().ToResponse();
  }
  boost::json::object json = ReleaseToJson(*release);
  boost::system::error_code ec;
  json["release"] = boost::json::parse(release->manifest_json, ec);
  return JsonResponse(200, json);
}

HttpResponse HandleCreateRelease(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  Result<host::ReleaseDocument> document = host::ParseReleaseJson(request.body);
  if (!document.ok()) {
    return StatusToApiError(document.status(), "invalid_release").ToResponse();
  }
  const std::string project(document->manifest.project.view());
  Result<std::vector<ReleaseKey>> keys = context.store.ListReleaseKeys(project);
  if (!keys.ok()) {
    return StoreError(keys.status(), "list release keys").ToResponse();
  }
  // The signature first: nothing about an unsigned document is looked at further.
  Result<ReleaseKey> signer = FindSigningKey(context.crypto, *document, *keys);
  if (!signer.ok()) {
    if (signer.status().code() == Status::Code::kFailedPrecondition) {
      return JsonError(409, "no_release_key",
                       std::string(signer.status().reason()) +
                           ": register one with POST /api/v1/projects/" + project + "/keys");
    }
    return StatusToApiError(signer.status(), "release_rejected").ToResponse();
  }
  const std::string sha256 = HexEncode(document->manifest.sha256);
  Result<Artifact> artifact = context.store.FindArtifact(sha256);
  if (!artifact.ok()) {
    if (artifact.status().code() == Status::Code::kNotFound) {
      return JsonError(409, "artifact_missing",
                       "upload the artifact first: PUT /api/v1/artifacts/" + sha256);
    }
    return StoreError(artifact.status(), "find artifact").ToResponse();
  }
  Result<std::vector<std::byte>> image = context.artifacts.Read(sha256);
  if (!image.ok()) {
    return JsonError(409, "artifact_missing",
                     "the artifact " + sha256 + " is recorded but its file cannot be read");
  }
  Result<Release> admitted = AdmitRelease(context.crypto, *document, request.body, *keys, *image);
  if (!admitted.ok()) {
    return StatusToApiError(admitted.status(), "release_rejected").ToResponse();
  }
  admitted->created_at_ms = context.NowMs();
  Result<int64_t> id = context.store.CreateRelease(*admitted);
  if (!id.ok()) {
    if (id.status().code() == Status::Code::kAlreadyExists) {
      return JsonError(409, "release_exists",
                       "release " + admitted->version + " of " + admitted->project + " for " +
                           admitted->chip + " already exists");
    }
    return StoreError(id.status(), "create release").ToResponse();
  }
  admitted->id = *id;
  context.rollouts.Invalidate();
  Log(LogLevel::kInfo, "release_published",
      {{"release_id", *id},
       {"project", admitted->project},
       {"chip", admitted->chip},
       {"version", admitted->version},
       {"sha256", admitted->sha256},
       {"admin", caller->name}});
  return JsonResponse(201, ReleaseToJson(*admitted));
}

}  // namespace aloft::server
