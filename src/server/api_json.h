#pragma once
// The JSON shapes of the API's records (docs/protocol.md, docs/openapi.yaml), in one place so
// every endpoint that returns a release, rollout, device, event or key returns the same shape,
// and the checks shared by several handlers (project and version text, chip names, query
// integers, resolving "VERSION|ID" to a release).

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/api_context.h"
#include "server/api_error.h"
#include "server/store/records.h"

namespace aloft::server {

boost::json::object ReleaseToJson(const Release& release);
boost::json::object RolloutToJson(const Rollout& rollout);
boost::json::object DeviceToJson(const Device& device);
boost::json::object EventToJson(const Event& event);
boost::json::object ReleaseKeyToJson(const ReleaseKey& key);
boost::json::object CountsToJson(const RolloutCounts& counts);
// A percentage in basis points as a JSON number: an integer when whole (100, not 1E2).
boost::json::value PercentToJson(uint32_t percent_bp);

// Project names and versions as manifests carry them: 1..32 bytes of 0x21..0x7E.
bool IsValidManifestText(std::string_view text);
// A chip name exactly as kChips spells it ("esp32c3").
bool IsKnownChipName(std::string_view chip);

// A decimal query parameter within [min, max], or nullopt when absent; 400 when malformed.
ApiResult<std::optional<int64_t>> QueryInteger(const HttpRequest& request, std::string_view name,
                                               int64_t min, int64_t max);

// A positive decimal id of at most 18 digits (no sign, no spaces), or nullopt.
std::optional<int64_t> ParsePositiveId(std::string_view text);

// The release named by `ref`: all digits → a release id; otherwise a version, narrowed by
// `project` and `chip` when given. 404 "release_not_found"; 409 "ambiguous_release" when
// several projects or chips have that version.
ApiResult<Release> ResolveRelease(ApiContext& context, std::string_view ref,
                                  std::string_view project, std::string_view chip);

// A store failure as an API error (StatusToApiError), logged when it is the server's fault.
ApiError StoreError(const Status& status, std::string_view what);

}  // namespace aloft::server
