#include "server/api_json.h"

#include <algorithm>
#include <charconv>

#include "core/format/app_image.h"
#include "server/log.h"
#include "server/rollout_policy.h"

namespace aloft::server {
namespace {

boost::json::value OptionalTime(const std::optional<int64_t>& time) {
  return time.has_value() ? boost::json::value(*time) : boost::json::value(nullptr);
}

boost::json::array TagsToJson(const std::vector<std::string>& tags) {
  boost::json::array array;
  for (const std::string& tag : tags) {
    array.emplace_back(tag);
  }
  return array;
}

}  // namespace

boost::json::object ReleaseToJson(const Release& release) {
  return boost::json::object{
      {"id", release.id},
      {"project", release.project},
      {"chip", release.chip},
      {"chip_id", release.chip_id},
      {"version", release.version},
      {"secure_version", release.secure_version},
      {"size", release.size_bytes},
      {"sha256", release.sha256},
      {"min_running_version", release.min_running_version.empty()
                                  ? boost::json::value(nullptr)
                                  : boost::json::value(release.min_running_version)},
      {"signing_key_digest", release.signing_key_digest},
      {"artifact_url", "/api/v1/artifacts/" + release.sha256},
      {"created_at_ms", release.created_at_ms},
  };
}

boost::json::object RolloutToJson(const Rollout& rollout) {
  return boost::json::object{
      {"id", rollout.id},
      {"release_id", rollout.release_id},
      {"percent", PercentToJson(rollout.percent_bp)},
      {"percent_bp", rollout.percent_bp},
      {"tags", TagsToJson(rollout.tags)},
      {"min_version", rollout.min_version.empty() ? boost::json::value(nullptr)
                                                  : boost::json::value(rollout.min_version)},
      {"halt_failure_rate", rollout.halt_failure_rate},
      {"min_sample", rollout.min_sample},
      {"state", RolloutStateName(rollout.state)},
      {"reason", rollout.state_reason},
      {"halted", rollout.state == RolloutState::kHalted},
      {"created_at_ms", rollout.created_at_ms},
      {"updated_at_ms", rollout.updated_at_ms},
  };
}

boost::json::object DeviceToJson(const Device& device) {
  return boost::json::object{
      {"id", device.id},
      {"project", device.project},
      {"chip", device.chip},
      {"tags", TagsToJson(device.tags)},
      {"version", device.current_version},
      {"secure_version", device.secure_version},
      {"created_at_ms", device.created_at_ms},
      {"last_checkin_at_ms", OptionalTime(device.last_checkin_at_ms)},
      {"last_event_at_ms", OptionalTime(device.last_event_at_ms)},
      {"last_event_state", device.last_event_state.has_value()
                               ? boost::json::value(UpdateStateName(*device.last_event_state))
                               : boost::json::value(nullptr)},
  };
}

boost::json::object EventToJson(const Event& event) {
  return boost::json::object{
      {"id", event.event_id},
      {"state", UpdateStateName(event.state)},
      {"rollout_id", OptionalTime(event.rollout_id)},
      {"release_id", OptionalTime(event.release_id)},
      {"bytes", OptionalTime(event.progress_bytes)},
      {"reason", event.reason},
      {"version", event.version},
      {"time_ms", OptionalTime(event.device_time_ms)},
      {"received_at_ms", event.received_at_ms},
  };
}

boost::json::object ReleaseKeyToJson(const ReleaseKey& key) {
  return boost::json::object{
      {"project", key.project},
      {"key_digest", key.key_digest},
      {"public_pem", key.public_pem},
      {"created_at_ms", key.created_at_ms},
      {"revoked", key.revoked_at_ms.has_value()},
      {"revoked_at_ms", OptionalTime(key.revoked_at_ms)},
  };
}

boost::json::object CountsToJson(const RolloutCounts& counts) {
  boost::json::object object;
  for (size_t i = 0; i < kUpdateStateCount; ++i) {
    object[UpdateStateName(static_cast<UpdateState>(i))] = counts.by_state[i];
  }
  return object;
}

boost::json::value PercentToJson(uint32_t percent_bp) {
  if (percent_bp % 100 == 0) {
    return boost::json::value(static_cast<int64_t>(percent_bp / 100));
  }
  return boost::json::value(static_cast<double>(percent_bp) / 100);
}

bool IsValidManifestText(std::string_view text) {
  return !text.empty() && text.size() <= 32 &&
         std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

bool IsKnownChipName(std::string_view chip) {
  return std::any_of(core::kChips.begin(), core::kChips.end(),
                     [chip](const core::Chip& known) { return known.name == chip; });
}

ApiResult<std::optional<int64_t>> QueryInteger(const HttpRequest& request, std::string_view name,
                                               int64_t min, int64_t max) {
  const std::string* text = request.Query(name);
  if (text == nullptr) {
    return std::optional<int64_t>();
  }
  int64_t value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size() || text->empty() || value < min ||
      value > max) {
    return BadRequest("query parameter '" + std::string(name) + "' must be an integer from " +
                      std::to_string(min) + " to " + std::to_string(max));
  }
  return std::optional<int64_t>(value);
}

ApiError StoreError(const Status& status, std::string_view what) {
  ApiError error = StatusToApiError(status);
  if (error.status >= 500) {
    Log(LogLevel::kError, "store_error",
        {{"during", what}, {"code", CodeName(status.code())}, {"reason", status.reason()}});
  }
  return error;
}

std::optional<int64_t> ParsePositiveId(std::string_view text) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  int64_t id = 0;
  std::from_chars(text.data(), text.data() + text.size(), id);  // 18 digits always fit
  if (id <= 0) {
    return std::nullopt;
  }
  return id;
}

ApiResult<Release> ResolveRelease(ApiContext& context, std::string_view ref,
                                  std::string_view project, std::string_view chip) {
  const bool numeric = !ref.empty() && std::all_of(ref.begin(), ref.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  if (numeric) {
    const std::optional<int64_t> id = ParsePositiveId(ref);
    if (!id.has_value()) {
      return ApiError{404, "release_not_found", "no release with id " + std::string(ref)};
    }
    Result<Release> release = context.store.GetRelease(*id);
    if (!release.ok()) {
      if (release.status().code() == Status::Code::kNotFound) {
        return ApiError{404, "release_not_found", "no release with id " + std::string(ref)};
      }
      return StoreError(release.status(), "get release");
    }
    if ((!project.empty() && release->project != project) ||
        (!chip.empty() && release->chip != chip)) {
      return ApiError{404, "release_not_found",
                      "release " + std::string(ref) + " is not of that project and chip"};
    }
    return std::move(release).value();
  }
  if (!IsValidManifestText(ref)) {
    return BadRequest("release must be a release id or a version");
  }
  Result<std::vector<Release>> releases = context.store.ListReleases(
      ReleaseQuery{std::string(project), std::string(chip), std::string(ref)});
  if (!releases.ok()) {
    return StoreError(releases.status(), "list releases");
  }
  if (releases->empty()) {
    return ApiError{404, "release_not_found", "no release with version " + std::string(ref)};
  }
  if (releases->size() > 1) {
    return ApiError{409, "ambiguous_release",
                    "several releases have version " + std::string(ref) +
                        "; name the project and chip, or give the release id"};
  }
  return std::move(releases->front());
}

}  // namespace aloft::server
