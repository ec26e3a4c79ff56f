// POST /api/v1/events: a device reports state changes (docs/protocol.md §4). The whole batch
// is validated — syntax, the device's identity, every referenced rollout and release — before
// the first event is written, so bad input stores nothing. Each event then commits in one store
// transaction with its effects (Store::RecordEvent), and the answer (2xx) is sent only after
// all of them committed. Terminal events (confirmed, failed, rolled_back) re-evaluate their
// rollout's halt rule; a halt is a compare-and-set on the rollout's state, so two servers
// cannot undo each other's decisions. A device whose latest state in a rollout becomes failed
// or rolled_back is added to the rollout cache's failed set at once, so its next check-in
// here is not offered that rollout again (other servers read it from the store within their
// cache TTL).

#include <boost/json/array.hpp>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/json_fields.h"
#include "server/log.h"
#include "server/rollout_policy.h"

namespace aloft::server {
namespace {

constexpr size_t kMaxEventsPerRequest = 100;
constexpr size_t kMaxReasonBytes = 1024;

struct EventsRequest {
  std::string device_id;
  std::vector<Event> events;
};

ApiResult<EventsRequest> ParseEvents(const std::string& body, int64_t now_ms) {
  ApiResult<boost::json::object> object = ParseJsonObject(body, "events");
  if (!object.ok()) {
    return object.error();
  }
  JsonFields fields(*object, "events");
  EventsRequest parsed;
  parsed.device_id = fields.String("device_id", kMaxIdBytes);
  const boost::json::value* list = fields.Value("events", true);
  if (fields.ok() && !IsValidDeviceId(parsed.device_id)) {
    fields.FailField("device_id", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
  }
  if (fields.ok() && !list->is_array()) {
    return ApiError{400, "wrong_type", "events: field 'events' must be an array of objects"};
  }
  if (fields.ok() &&
      (list->get_array().empty() || list->get_array().size() > kMaxEventsPerRequest)) {
    fields.FailField("events",
                     "must hold 1 to " + std::to_string(kMaxEventsPerRequest) + " events");
  }
  if (std::optional<ApiError> error = fields.Finish()) {
    return *error;
  }
  std::set<std::string> ids;
  const boost::json::array& array = list->get_array();
  for (size_t i = 0; i < array.size(); ++i) {
    const std::string where = "events[" + std::to_string(i) + "]";
    if (!array[i].is_object()) {
      return ApiError{400, "wrong_type", where + ": must be an object"};
    }
    JsonFields item(array[i].get_object(), where);
    Event event;
    event.device_id = parsed.device_id;
    event.event_id = item.String("id", kMaxIdBytes);
    const std::string state = item.String("state", 16);
    const std::optional<int64_t> progress = item.OptionalInteger("progress", 0, 100);
    event.progress_bytes = item.OptionalInteger("bytes", 0, INT64_MAX);
    event.reason = item.OptionalString("reason", kMaxReasonBytes, true).value_or("");
    event.version = item.String("version", 32);
    event.release_id = item.OptionalInteger("release_id", 1, INT64_MAX);
    event.rollout_id = item.OptionalInteger("rollout_id", 1, INT64_MAX);
    event.device_time_ms = item.OptionalInteger("time_ms", 0, INT64_MAX);
    event.received_at_ms = now_ms;
    (void)progress;  // validated; the store keeps byte progress (`bytes`), not percent
    if (item.ok() && !IsValidEventId(event.event_id)) {
      item.FailField("id", "must be 1 to 64 of A-Z a-z 0-9 . _ -");
    }
    if (item.ok()) {
      const std::optional<UpdateState> parsed_state = ParseUpdateState(state);
      if (!parsed_state.has_value() || *parsed_state == UpdateState::kOffered) {
        item.FailField("state",
                       "must be downloading, downloaded, verified, rebooting, confirmed, failed "
                       "or rolled_back");
      } else {
        event.state = *parsed_state;
      }
    }
    if (item.ok() && !IsValidManifestText(event.version)) {
      item.FailField("version", "must be 1 to 32 printable ASCII characters without spaces");
    }
    if (item.ok() && !ids.insert(event.event_id).second) {
      item.FailField("id", "appears twice in one request");
    }
    if (std::optional<ApiError> error = item.Finish()) {
      return *error;
    }
    parsed.events.push_back(std::move(event));
  }
  return parsed;
}

// Checks every referenced rollout and release exists and agree, and fills a missing release_id
// from the rollout, so nothing is written for a batch that would fail half-way.
ApiResult<std::map<int64_t, Rollout>> CheckReferences(ApiContext& context,
                                                      std::vector<Event>& events) {
  std::map<int64_t, Rollout> rollouts;
  std::set<int64_t> releases;
  for (Event& event : events) {
    if (event.rollout_id.has_value()) {
      auto it = rollouts.find(*event.rollout_id);
      if (it == rollouts.end()) {
        Result<Rollout> rollout = context.store.GetRollout(*event.rollout_id);
        if (!rollout.ok()) {
          if (rollout.status().code() == Status::Code::kNotFound) {
            return ApiError{422, "unknown_rollout",
                            "event " + event.event_id + ": no rollout with id " +
                                std::to_string(*event.rollout_id)};
          }
          return StoreError(rollout.status(), "get rollout");
        }
        it = rollouts.emplace(*event.rollout_id, std::move(rollout).value()).first;
      }
      if (!event.release_id.has_value()) {
        event.release_id = it->second.release_id;
      } else if (*event.release_id != it->second.release_id) {
        return ApiError{422, "release_mismatch",
                        "event " + event.event_id + ": rollout " +
                            std::to_string(*event.rollout_id) + " is not of release " +
                            std::to_string(*event.release_id)};
      }
    }
    if (event.release_id.has_value() && releases.count(*event.release_id) == 0) {
      Result<Release> release = context.store.GetRelease(*event.release_id);
      if (!release.ok()) {
        if (release.status().code() == Status::Code::kNotFound) {
          return ApiError{422, "unknown_release",
                          "event " + event.event_id + ": no release with id " +
                              std::to_string(*event.release_id)};
        }
        return StoreError(release.status(), "get release");
      }
      releases.insert(*event.release_id);
    }
  }
  return rollouts;
}

// Re-evaluates the halt rule of a rollout that just got a terminal event.
void EvaluateHalt(ApiContext& context, const Rollout& known) {
  Result<Rollout> rollout = context.store.GetRollout(known.id);
  if (!rollout.ok() ||
      (rollout->state != RolloutState::kActive && rollout->state != RolloutState::kPaused)) {
    return;
  }
  Result<RolloutCounts> counts = context.store.CountRolloutDevices(rollout->id);
  if (!counts.ok()) {
    Log(LogLevel::kError, "halt_check_failed",
        {{"rollout", rollout->id}, {"reason", counts.status().reason()}});
    return;
  }
  const HaltDecision decision =
      DecideHalt(*counts, rollout->halt_failure_rate, rollout->min_sample);
  if (!decision.halt) {
    return;
  }
  const Status halted = context.store.SetRolloutState(
      rollout->id, RolloutState::kHalted, decision.reason, context.NowMs(), rollout->state);
  if (halted.ok()) {
    context.rollouts.Invalidate();
    Log(LogLevel::kWarn, "rollout_halted",
        {{"rollout", rollout->id},
         {"release_id", rollout->release_id},
         {"finished", decision.finished},
         {"failures", decision.failures},
         {"reason", decision.reason}});
  } else if (halted.code() != Status::Code::kFailedPrecondition) {
    // kFailedPrecondition: another server (or an admin) changed the state first.
    Log(LogLevel::kError, "halt_failed", {{"rollout", rollout->id}, {"reason", halted.reason()}});
  }
}

}  // namespace

HttpResponse HandleEvents(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireDevice(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<EventsRequest> parsed = ParseEvents(request.body, context.NowMs());
  if (!parsed.ok()) {
    return parsed.error().ToResponse();
  }
  if (parsed->device_id != caller->name) {
    return JsonError(403, "wrong_device", "a device may only report its own events");
  }
  ApiResult<std::map<int64_t, Rollout>> rollouts = CheckReferences(context, parsed->events);
  if (!rollouts.ok()) {
    return rollouts.error().ToResponse();
  }

  boost::json::array accepted;
  boost::json::array duplicates;
  std::set<int64_t> halt_candidates;
  std::map<int64_t, UpdateState> latest_states;  // rollout id → the batch's last new state
  for (const Event& event : parsed->events) {
    Result<EventInsert> inserted = context.store.RecordEvent(event);
    if (!inserted.ok()) {
      // Events before this one are committed; the device resends the batch and they come back
      // as duplicates, so the answer stays exact.
      return StoreError(inserted.status(), "record event").ToResponse();
    }
    if (*inserted == EventInsert::kDuplicate) {
      duplicates.emplace_back(event.event_id);
      continue;
    }
    accepted.emplace_back(event.event_id);
    context.metrics.CountEvent(event.state);
    if (event.rollout_id.has_value()) {
      latest_states[*event.rollout_id] = event.state;
      if (IsTerminalState(event.state)) {
        halt_candidates.insert(*event.rollout_id);
      }
    }
  }
  for (const auto& [rollout_id, state] : latest_states) {
    if (IsFailureState(state)) {
      context.rollouts.RecordFailure(rollout_id, parsed->device_id);
    }
  }
  for (int64_t rollout_id : halt_candidates) {
    EvaluateHalt(context, rollouts->at(rollout_id));
  }
  return JsonResponse(200, boost::json::object{{"accepted", std::move(accepted)},
                                               {"duplicates", std::move(duplicates)}});
}

}  // namespace aloft::server
