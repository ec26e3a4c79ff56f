// Rollouts (admin): start one for a release (by version or id), list them, show one with its
// device counts and halt status, pause, resume, and change the percentage. Every change
// invalidates this server's rollout cache; other servers see it within the cache TTL.

#include <boost/json/array.hpp>

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/json_fields.h"
#include "server/log.h"
#include "server/rollout_policy.h"

namespace aloft::server {
namespace {

ApiResult<Rollout> RolloutFromPath(ApiContext& context, const HttpRequest& request) {
  const std::optional<int64_t> id = ParsePositiveId(*request.PathParam("id"));
  if (!id.has_value()) {
    return ApiError{400, "invalid_rollout_id", "a rollout id is a positive integer"};
  }
  Result<Rollout> rollout = context.store.GetRollout(*id);
  if (!rollout.ok()) {
    if (rollout.status().code() == Status::Code::kNotFound) {
      return ApiError{404, "rollout_not_found", "no rollout with id " + std::to_string(*id)};
    }
    return StoreError(rollout.status(), "get rollout");
  }
  return std::move(rollout).value();
}

// The full view: the rollout, its release, its device counts, the halt rule's numbers and the
// percentage history.
ApiResult<boost::json::object> RolloutDetail(ApiContext& context, const Rollout& rollout) {
  Result<Release> release = context.store.GetRelease(rollout.release_id);
  if (!release.ok()) {
    return StoreError(release.status(), "get release");
  }
  Result<RolloutCounts> counts = context.store.CountRolloutDevices(rollout.id);
  if (!counts.ok()) {
    return StoreError(counts.status(), "count rollout devices");
  }
  Result<std::vector<RolloutPercentChange>> history =
      context.store.ListRolloutPercentChanges(rollout.id);
  if (!history.ok()) {
    return StoreError(history.status(), "list percent changes");
  }
  const HaltDecision halt = DecideHalt(*counts, rollout.halt_failure_rate, rollout.min_sample);
  boost::json::object json = RolloutToJson(rollout);
  json["release"] = boost::json::object{{"id", release->id},
                                        {"project", release->project},
                                        {"chip", release->chip},
                                        {"version", release->version}};
  json["counts"] = CountsToJson(*counts);
  json["devices"] = counts->total();
  json["finished"] = halt.finished;
  json["failures"] = halt.failures;
  json["failure_rate"] = halt.failure_rate;
  boost::json::array changes;
  for (const RolloutPercentChange& change : *history) {
    changes.emplace_back(boost::json::object{{"percent", PercentToJson(change.percent_bp)},
                                             {"at_ms", change.at_ms}});
  }
  json["percent_history"] = std::move(changes);
  return json;
}

HttpResponse DetailResponse(ApiContext& context, int status, int64_t rollout_id) {
  Result<Rollout> rollout = context.store.GetRollout(rollout_id);
  if (!rollout.ok()) {
    return StoreError(rollout.status(), "get rollout").ToResponse();
  }
  ApiResult<boost::json::object> detail = RolloutDetail(context, *rollout);
  if (!detail.ok()) {
    return detail.error().ToResponse();
  }
  return JsonResponse(status, *detail);
}

// Reads an optional {"reason": "..."} body (pause, resume).
ApiResult<std::string> OptionalReason(const HttpRequest& request, const char* what) {
  if (request.body.empty()) {
    return std::string();
  }
  ApiResult<boost::json::object> object = ParseJsonObject(request.body, what);
  if (!object.ok()) {
    return object.error();
  }
  JsonFields fields(*object, what);
  std::string reason = fields.OptionalString("reason", 1024, true).value_or("");
  if (std::optional<ApiError> error = fields.Finish()) {
    return *error;
  }
  return reason;
}

}  // namespace

HttpResponse HandleCreateRollout(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<boost::json::object> object = ParseJsonObject(request.body, "rollout");
  if (!object.ok()) {
    return object.error().ToResponse();
  }
  JsonFields fields(*object, "rollout");
  std::string release_ref;
  if (const boost::json::value* release = fields.Value("release", true)) {
    if (release->is_int64() && release->get_int64() > 0) {
      release_ref = std::to_string(release->get_int64());
    } else if (release->is_string() && !release->get_string().empty() &&
               release->get_string().size() <= 32) {
      release_ref = std::string(release->get_string());
    } else {
      fields.FailField("release", "must be a release id or a version");
    }
  }
  const std::string project = fields.OptionalString("project", 32).value_or("");
  const std::string chip = fields.OptionalString("chip", 16).value_or("");
  const double percent = fields.Number("percent", 0, 100);
  Rollout rollout;
  rollout.tags = fields.OptionalStringArray("tags", kMaxTags, kMaxIdBytes);
  rollout.min_version = fields.OptionalString("min_version", 32).value_or("");
  rollout.halt_failure_rate =
      fields.OptionalNumber("halt_failure_rate", 0, 1).value_or(kDefaultHaltFailureRate);
  rollout.min_sample = static_cast<uint32_t>(
      fields.OptionalInteger("min_sample", 1, 1'000'000).value_or(kDefaultMinSample));
  Result<uint32_t> percent_bp = PercentToBasisPoints(percent);
  if (fields.ok() && !percent_bp.ok()) {
    fields.FailField("percent", "must be from 0 to 100 with at most two decimals");
  }
  for (const std::string& tag : rollout.tags) {
    if (fields.ok() && !IsValidTag(tag)) {
      fields.FailField("tags", "items must be 1 to 64 of A-Z a-z 0-9 . _ - : = /");
    }
  }
  if (fields.ok() && !rollout.min_version.empty() && !IsValidManifestText(rollout.min_version)) {
    fields.FailField("min_version", "must be printable ASCII without spaces");
  }
  if (std::optional<ApiError> error = fields.Finish()) {
    return error->ToResponse();
  }
  ApiResult<Release> release = ResolveRelease(context, release_ref, project, chip);
  if (!release.ok()) {
    return release.error().ToResponse();
  }
  // One live (active or paused) rollout per release, so "the rollout of release X" is one.
  for (RolloutState live : {RolloutState::kActive, RolloutState::kPaused}) {
    Result<std::vector<Rollout>> existing =
        context.store.ListRollouts(RolloutQuery{release->id, live});
    if (!existing.ok()) {
      return StoreError(existing.status(), "list rollouts").ToResponse();
    }
    if (!existing->empty()) {
      return JsonError(409, "rollout_exists",
                       "release " + release->version + " already has rollout " +
                           std::to_string(existing->front().id) + " (" +
                           std::string(RolloutStateName(live)) +
                           "); change its percentage instead");
    }
  }
  rollout.release_id = release->id;
  rollout.percent_bp = *percent_bp;
  rollout.tags = CanonicalTags(std::move(rollout.tags));
  rollout.state = RolloutState::kActive;
  rollout.created_at_ms = context.NowMs();
  Result<int64_t> id = context.store.CreateRollout(rollout);
  if (!id.ok()) {
    return StoreError(id.status(), "create rollout").ToResponse();
  }
  context.rollouts.Invalidate();
  Log(LogLevel::kInfo, "rollout_started",
      {{"rollout", *id},
       {"release_id", release->id},
       {"version", release->version},
       {"percent", BasisPointsText(rollout.percent_bp)},
       {"admin", caller->name}});
  return DetailResponse(context, 201, *id);
}

HttpResponse HandleListRollouts(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  RolloutQuery query;
  if (const std::string* release = request.Query("release")) {
    const std::string* project = request.Query("project");
    const std::string* chip = request.Query("chip");
    ApiResult<Release> resolved =
        ResolveRelease(context, *release, project ? *project : "", chip ? *chip : "");
    if (!resolved.ok()) {
      return resolved.error().ToResponse();
    }
    query.release_id = resolved->id;
  }
  if (const std::string* state = request.Query("state")) {
    query.state = ParseRolloutState(*state);
    if (!query.state.has_value()) {
      return BadRequest("query parameter 'state' must be active, paused, halted or completed")
          .ToResponse();
    }
  }
  Result<std::vector<Rollout>> rollouts = context.store.ListRollouts(query);
  if (!rollouts.ok()) {
    return StoreError(rollouts.status(), "list rollouts").ToResponse();
  }
  boost::json::array array;
  for (const Rollout& rollout : *rollouts) {
    ApiResult<boost::json::object> detail = RolloutDetail(context, rollout);
    if (!detail.ok()) {
      return detail.error().ToResponse();
    }
    array.emplace_back(std::move(*detail));
  }
  return JsonResponse(200, boost::json::object{{"rollouts", std::move(array)}});
}

HttpResponse HandleGetRollout(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<Rollout> rollout = RolloutFromPath(context, request);
  if (!rollout.ok()) {
    return rollout.error().ToResponse();
  }
  ApiResult<boost::json::object> detail = RolloutDetail(context, *rollout);
  if (!detail.ok()) {
    return detail.error().ToResponse();
  }
  return JsonResponse(200, *detail);
}

HttpResponse HandlePauseRollout(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<Rollout> rollout = RolloutFromPath(context, request);
  if (!rollout.ok()) {
    return rollout.error().ToResponse();
  }
  ApiResult<std::string> reason = OptionalReason(request, "pause");
  if (!reason.ok()) {
    return reason.error().ToResponse();
  }
  const Status status = context.store.SetRolloutState(
      rollout->id, RolloutState::kPaused, reason->empty() ? "paused by " + caller->name : *reason,
      context.NowMs(), RolloutState::kActive);
  if (status.code() == Status::Code::kFailedPrecondition) {
    return JsonError(409, "rollout_not_active",
                     "rollout " + std::to_string(rollout->id) + " is " +
                         std::string(RolloutStateName(rollout->state)) + ", not active");
  }
  if (!status.ok()) {
    return StoreError(status, "pause rollout").ToResponse();
  }
  context.rollouts.Invalidate();
  Log(LogLevel::kInfo, "rollout_paused", {{"rollout", rollout->id}, {"admin", caller->name}});
  return DetailResponse(context, 200, rollout->id);
}

HttpResponse HandleResumeRollout(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<Rollout> rollout = RolloutFromPath(context, request);
  if (!rollout.ok()) {
    return rollout.error().ToResponse();
  }
  ApiResult<std::string> reason = OptionalReason(request, "resume");
  if (!reason.ok()) {
    return reason.error().ToResponse();
  }
  // A paused rollout resumes; so does a halted one, after someone has looked (its failures
  // still count, so it halts again at the next terminal event unless the rate has fallen).
  if (rollout->state != RolloutState::kPaused && rollout->state != RolloutState::kHalted) {
    return JsonError(409, "rollout_not_paused",
                     "rollout " + std::to_string(rollout->id) + " is " +
                         std::string(RolloutStateName(rollout->state)) +
                         "; only paused or halted rollouts resume");
  }
  const Status status = context.store.SetRolloutState(
      rollout->id, RolloutState::kActive, reason->empty() ? "resumed by " + caller->name : *reason,
      context.NowMs(), rollout->state);
  if (status.code() == Status::Code::kFailedPrecondition) {
    return JsonError(409, "rollout_changed", "the rollout's state changed meanwhile; try again");
  }
  if (!status.ok()) {
    return StoreError(status, "resume rollout").ToResponse();
  }
  context.rollouts.Invalidate();
  Log(LogLevel::kInfo, "rollout_resumed", {{"rollout", rollout->id}, {"admin", caller->name}});
  return DetailResponse(context, 200, rollout->id);
}

HttpResponse HandleSetRolloutPercent(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireAdmin(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<Rollout> rollout = RolloutFromPath(context, request);
  if (!rollout.ok()) {
    return rollout.error().ToResponse();
  }
  ApiResult<boost::json::object> object = ParseJsonObject(request.body, "percent");
  if (!object.ok()) {
    return object.error().ToResponse();
  }
  JsonFields fields(*object, "percent");
  const double percent = fields.Number("percent", 0, 100);
  Result<uint32_t> percent_bp = PercentToBasisPoints(percent);
  if (fields.ok() && !percent_bp.ok()) {
    fields.FailField("percent", "must be from 0 to 100 with at most two decimals");
  }
  if (std::optional<ApiError> error = fields.Finish()) {
    return error->ToResponse();
  }
  if (rollout->state == RolloutState::kCompleted) {
    return JsonError(409, "rollout_completed", "a completed rollout's percentage is final");
  }
  const Status status = context.store.SetRolloutPercent(rollout->id, *percent_bp, context.NowMs());
  if (!status.ok()) {
    return StoreError(status, "set rollout percent").ToResponse();
  }
  context.rollouts.Invalidate();
  Log(LogLevel::kInfo, "rollout_percent",
      {{"rollout", rollout->id},
       {"percent", BasisPointsText(*percent_bp)},
       {"admin", caller->name}});
  return DetailResponse(context, 200, rollout->id);
}

}  // namespace aloft::server
