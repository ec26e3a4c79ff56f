// Devices (admin): register one (docs/protocol.md §1: a fresh token, shown once and stored
// hashed, and the derived freshness secret), list them one page at a time (filters: id
// prefix, version, tag, project), and show one with its recent events.

#include <boost/json/array.hpp>

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/json_fields.h"
#include "server/log.h"

namespace aloft::server {
namespace {

constexpr int64_t kDefaultEventCount = 20;

}  // namespace

HttpResponse HandleRegisterDevice(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<boost::json::object> object = ParseJsonObject(request.body, "device");
  if (!object.ok()) {
    return object.error().ToResponse();
  }
  JsonFields fields(*object, "device");
  Device device;
  device.id = fields.String("id", kMaxIdBytes);
  device.project = fields.String("project", 32);
  device.chip = fields.String("chip", 16);
  device.tags = fields.OptionalStringArray("tags", kMaxTags, kMaxIdBytes);
  device.current_version = fields.OptionalString("version", 32).value_or("");
  device.secure_version =
      static_cast<uint32_t>(fields.OptionalInteger("secure_version", 0, UINT32_MAX).value_or(0));
  if (fields.ok() && !IsValidDeviceId(device.id)) {
    fields.FailField("id", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
  }
  if (fields.ok() && !IsValidManifestText(device.project)) {
    fields.FailField("project", "must be 1 to 32 printable ASCII characters without spaces");
  }
  if (fields.ok() && !IsKnownChipName(device.chip)) {
    fields.FailField("chip", "is not a known chip name (esp32, esp32c3, esp32s3, ...)");
  }
  for (const std::string& tag : device.tags) {
    if (fields.ok() && !IsValidTag(tag)) {
      fields.FailField("tags", "items must be 1 to 64 of A-Z a-z 0-9 . _ - : = /");
    }
  }
  if (fields.ok() && !device.current_version.empty() &&
      !IsValidManifestText(device.current_version)) {
    fields.FailField("version", "must be printable ASCII without spaces");
  }
  if (std::optional<ApiError> error = fields.Finish()) {
    return error->ToResponse();
  }
  Result<std::string> token = GenerateToken();
  if (!token.ok()) {
    return StatusToApiError(token.status()).ToResponse();
  }
  device.token_hash = TokenHash(*token);
  device.tags = CanonicalTags(std::move(device.tags));
  device.created_at_ms = context.NowMs();
  const Status registered = context.store.RegisterDevice(device);
  if (registered.code() == Status::Code::kAlreadyExists) {
    return JsonError(409, "device_exists", "device " + device.id + " is already registered");
  }
  if (!registered.ok()) {
    return StoreError(registered, "register device").ToResponse();
  }
  Log(LogLevel::kInfo, "device_registered",
      {{"device", device.id}, {"project", device.project}, {"admin", caller->name}});
  return JsonResponse(201, boost::json::object{
                               {"id", device.id},
                               {"project", device.project},
                               {"chip", device.chip},
                               {"token", *token},
                               {"secret", HexEncode(context.auth.SecretOf(device.id))},
                           });
}

HttpResponse HandleListDevices(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  DeviceQuery query;
  const std::pair<const char*, std::string*> filters[] = {{"project", &query.project},
                                                          {"prefix", &query.id_prefix},
                                                          {"version", &query.version},
                                                          {"tag", &query.tag},
                                                          {"after", &query.after_id}};
  for (const auto& [name, target] : filters) {
    if (const std::string* value = request.Query(name)) {
      *target = *value;
    }
  }
  ApiResult<std::optional<int64_t>> limit = QueryInteger(request, "limit", 1, kMaxPageSize);
  if (!limit.ok()) {
    return limit.error().ToResponse();
  }
  query.limit = static_cast<uint32_t>(limit->value_or(100));
  if ((!query.id_prefix.empty() && !IsValidDeviceId(query.id_prefix)) ||
      (!query.after_id.empty() && !IsValidDeviceId(query.after_id))) {
    return BadRequest("'prefix' and 'after' must be device ids (A-Z a-z 0-9 . _ -)").ToResponse();
  }
  if (!query.tag.empty() && !IsValidTag(query.tag)) {
    return BadRequest("'tag' is not a valid tag").ToResponse();
  }
  Result<DevicePage> page = context.store.ListDevices(query);
  if (!page.ok()) {
    return StoreError(page.status(), "list devices").ToResponse();
  }
  boost::json::array devices;
  for (const Device& device : page->devices) {
    devices.emplace_back(DeviceToJson(device));
  }
  return JsonResponse(200, boost::json::object{{"devices", std::move(devices)},
                                               {"next_after", page->next_after_id}});
}

HttpResponse HandleGetDevice(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  const std::string& id = *request.PathParam("id");
  if (!IsValidDeviceId(id)) {
    return BadRequest("a device id is 1 to 64 of A-Z a-z 0-9 . _ -").ToResponse();
  }
  ApiResult<std::optional<int64_t>> count = QueryInteger(request, "events", 1, kMaxPageSize);
  if (!count.ok()) {
    return count.error().ToResponse();
  }
  Result<Device> device = context.store.GetDevice(id);
  if (!device.ok()) {
    if (device.status().code() == Status::Code::kNotFound) {
      return JsonError(404, "device_not_found", "no device " + id);
    }
    return StoreError(device.status(), "get device").ToResponse();
  }
  Result<std::vector<Event>> events = context.store.ListDeviceEvents(
      id, static_cast<uint32_t>(count->value_or(kDefaultEventCount)));
  if (!events.ok()) {
    return StoreError(events.status(), "list device events").ToResponse();
  }
  boost::json::object json = DeviceToJson(*device);
  boost::json::array list;
  for (const Event& event : *events) {
    list.emplace_back(EventToJson(event));
  }
  json["events"] = std::move(list);
  return JsonResponse(200, json);
}

}  // namespace aloft::server
