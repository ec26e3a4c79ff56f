// Release keys per project (admin): register a public key (PEM; its Secure Boot v2 digest
// identifies it), list a project's keys, revoke one. Releases are admitted only when signed by
// a registered, non-revoked key of their project (release_admission.h).

#include <boost/json/array.hpp>

#include "core/signature/signature_block.h"
#include "ports/host/release_key.h"
#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/json_fields.h"
#include "server/log.h"

namespace aloft::server {
namespace {

constexpr size_t kMaxPemBytes = 16 * 1024;

ApiResult<std::string> ProjectFromPath(const HttpRequest& request) {
  const std::string& project = *request.PathParam("project");
  if (!IsValidManifestText(project)) {
    return BadRequest("a project name is 1 to 32 printable ASCII characters without spaces");
  }
  return project;
}

}  // namespace

HttpResponse HandleAddReleaseKey(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<std::string> project = ProjectFromPath(request);
  if (!project.ok()) {
    return project.error().ToResponse();
  }
  ApiResult<boost::json::object> object = ParseJsonObject(request.body, "release key");
  if (!object.ok()) {
    return object.error().ToResponse();
  }
  JsonFields fields(*object, "release key");
  // PEM has newlines, so it is read as a raw value rather than as printable text.
  const boost::json::value* pem_value = fields.Value("public_pem", true);
  if (fields.ok() && (!pem_value->is_string() || pem_value->get_string().empty() ||
                      pem_value->get_string().size() > kMaxPemBytes)) {
    fields.FailField("public_pem", "must be a PEM public key of at most 16 KiB");
  }
  if (std::optional<ApiError> error = fields.Finish()) {
    return error->ToResponse();
  }
  const std::string pem(pem_value->get_string());
  Result<host::ReleaseKey> key = host::ReleaseKey::FromPem(pem);
  if (!key.ok()) {
    return StatusToApiError(key.status(), "invalid_key").ToResponse();
  }
  if (key->has_private_key()) {
    return JsonError(400, "private_key",
                     "that is a private key; register the public half only (aloft key public)");
  }
  Result<std::string> public_pem = key->PublicPem();
  if (!public_pem.ok()) {
    return StatusToApiError(public_pem.status(), "invalid_key").ToResponse();
  }
  ReleaseKey record;
  record.project = *project;
  record.key_digest = HexEncode(key->key_digest());
  record.public_pem = *public_pem;
  record.created_at_ms = context.NowMs();
  const Status added = context.store.AddReleaseKey(record);
  if (added.code() == Status::Code::kAlreadyExists) {
    return JsonError(409, "key_exists",
                     "key " + record.key_digest + " is already registered for " + *project);
  }
  if (!added.ok()) {
    return StoreError(added, "add release key").ToResponse();
  }
  Log(LogLevel::kInfo, "release_key_registered",
      {{"project", *project}, {"key_digest", record.key_digest}, {"admin", caller->name}});
  boost::json::object json = ReleaseKeyToJson(record);
  json["scheme"] = core::SchemeName(key->scheme());
  return JsonResponse(201, json);
}

HttpResponse HandleListReleaseKeys(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<std::string> project = ProjectFromPath(request);
  if (!project.ok()) {
    return project.error().ToResponse();
  }
  Result<std::vector<ReleaseKey>> keys = context.store.ListReleaseKeys(*project);
  if (!keys.ok()) {
    return StoreError(keys.status(), "list release keys").ToResponse();
  }
  boost::json::array array;
  for (const ReleaseKey& key : *keys) {
    array.emplace_back(ReleaseKeyToJson(key));
  }
  return JsonResponse(200, boost::json::object{{"keys", std::move(array)}});
}

HttpResponse HandleRevokeReleaseKey(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<std::string> project = ProjectFromPath(request);
  if (!project.ok()) {
    return project.error().ToResponse();
  }
  const std::string& digest = *request.PathParam("digest");
  if (!IsValidSha256Hex(digest)) {
    return BadRequest("a key digest is 64 lower-case hex digits").ToResponse();
  }
  const Status revoked = context.store.RevokeReleaseKey(*project, digest, context.NowMs());
  if (revoked.code() == Status::Code::kNotFound) {
    return JsonError(404, "key_not_found", "no key " + digest + " for " + *project);
  }
  if (!revoked.ok()) {
    return StoreError(revoked, "revoke release key").ToResponse();
  }
  Log(LogLevel::kWarn, "release_key_revoked",
      {{"project", *project}, {"key_digest", digest}, {"admin", caller->name}});
  Result<ReleaseKey> key = context.store.FindReleaseKey(*project, digest);
  if (!key.ok()) {
    return StoreError(key.status(), "find release key").ToResponse();
  }
  return JsonResponse(200, ReleaseKeyToJson(*key));
}

}  // namespace aloft::server
