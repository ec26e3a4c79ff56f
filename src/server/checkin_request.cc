#include "server/checkin_request.h"

#include <algorithm>

#include "core/hex.h"
#include "server/api_json.h"
#include "server/json_fields.h"
#include "server/store/records.h"

namespace aloft::server {

std::optional<CheckinFieldProblem> CheckCheckinValues(CheckinRequest& checkin) {
  if (!IsValidDeviceId(checkin.device_id)) {
    return CheckinFieldProblem{"device_id", "must be 1 to 64 of A-Z a-z 0-9 . _ -"};
  }
  if (!IsValidManifestText(checkin.project)) {
    return CheckinFieldProblem{"project",
                               "must be 1 to 32 printable ASCII characters without spaces"};
  }
  if (!IsKnownChipName(checkin.chip)) {
    return CheckinFieldProblem{"chip", "is not a known chip name (esp32, esp32c3, esp32s3, ...)"};
  }
  if (!IsValidManifestText(checkin.version)) {
    return CheckinFieldProblem{"version",
                               "must be 1 to 32 printable ASCII characters without spaces"};
  }
  if (!std::all_of(checkin.tags.begin(), checkin.tags.end(),
                   [](const std::string& tag) { return IsValidTag(tag); })) {
    return CheckinFieldProblem{"tags", "items must be 1 to 64 of A-Z a-z 0-9 . _ - : = /"};
  }
  if (checkin.nonce_hex.size() != kCheckinNonceHexChars ||
      !core::HexDecode(checkin.nonce_hex, checkin.nonce).ok()) {
    return CheckinFieldProblem{"nonce", "must be 32 hex digits (16 random bytes)"};
  }
  return std::nullopt;
}

ApiResult<CheckinRequest> ParseCheckinDocument(std::string_view body) {
  ApiResult<boost::json::object> object = ParseJsonObject(body, "check-in");
  if (!object.ok()) {
    return object.error();
  }
  JsonFields fields(*object, "check-in");
  CheckinRequest checkin;
  checkin.device_id = fields.String("device_id", kMaxIdBytes);
  checkin.project = fields.String("project", kCheckinProjectMaxBytes);
  checkin.chip = fields.String("chip", kCheckinChipMaxBytes);
  checkin.version = fields.String("version", kCheckinVersionMaxBytes);
  checkin.secure_version = static_cast<uint32_t>(fields.Integer("secure_version", 0, UINT32_MAX));
  checkin.tags = fields.OptionalStringArray("tags", kMaxTags, kMaxIdBytes);
  checkin.nonce_hex = fields.String("nonce", kCheckinNonceHexChars);
  if (fields.ok()) {
    if (std::optional<CheckinFieldProblem> problem = CheckCheckinValues(checkin)) {
      fields.FailField(problem->field, problem->problem);
    }
  }
  if (std::optional<ApiError> error = fields.Finish()) {
    return *error;
  }
  checkin.tags = CanonicalTags(std::move(checkin.tags));
  return checkin;
}

ApiResult<CheckinRequest> ParseCheckin(std::string_view body) {
  if (std::optional<CheckinRequest> scanned = ScanCheckin(body)) {
    return std::move(*scanned);
  }
  return ParseCheckinDocument(body);
}

}  // namespace aloft::server
