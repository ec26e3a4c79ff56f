// POST /api/v1/check: a device asks whether there is an update for it (docs/protocol.md §2).
// The hot path: the caller comes from the authenticator's cache, the rollouts (and the devices
// that failed each, which are not offered it again) from the rollout cache, the decision from
// rollout_policy.h, and the last-seen update goes to the check-in buffer, so a check-in touches
// no database. The answer is bound to the device's nonce by the freshness MAC
// (core/release/freshness.h) under the device's own secret.

#include <algorithm>
#include <string>

#include "core/format/app_image.h"
#include "core/release/freshness.h"
#include "server/api_handlers.h"
#include "server/api_json.h"
#include "server/checkin_request.h"
#include "server/rollout_policy.h"

namespace aloft::server {

HttpResponse HandleCheckin(ApiContext& context, const HttpRequest& request) {
  ApiResult<Caller> caller = context.auth.RequireDevice(request);
  if (!caller.ok()) {
    return caller.error().ToResponse();
  }
  ApiResult<CheckinRequest> parsed = ParseCheckin(request.body);
  if (!parsed.ok()) {
    return parsed.error().ToResponse();
  }
  CheckinRequest& checkin = *parsed;
  if (checkin.device_id != caller->name) {
    return JsonError(403, "wrong_device", "a device may only check in as itself");
  }

  Result<std::shared_ptr<const RolloutSet>> rollouts =
      context.rollouts.Get(checkin.project, checkin.chip);
  if (!rollouts.ok()) {
    return StoreError(rollouts.status(), "list active rollouts").ToResponse();
  }
  const RolloutSet& set = **rollouts;
  const std::vector<int64_t> failed_rollouts = set.FailedRollouts(checkin.device_id);
  const CheckinFacts facts{checkin.device_id,      checkin.project, checkin.chip,   checkin.version,
                           checkin.secure_version, checkin.tags,    failed_rollouts};
  const std::optional<size_t> choice = ChooseRollout(facts, set.rollouts);
  const int64_t now_ms = context.NowMs();

  // The body is assembled as text: the release object is spliced in as published (compacted
  // once, in the cache), and the MAC covers exactly these bytes.
  std::string body;
  body.reserve(choice.has_value() ? set.release_json[*choice].size() + 320 : 96);
  body += "{\"nonce\":\"";
  body += checkin.nonce_hex;
  body += "\",\"server_time_ms\":";
  body += std::to_string(now_ms);
  body += ",\"update\":";
  if (choice.has_value()) {
    const ActiveRollout& offer = set.rollouts[*choice];
    body += "{\"release\":";
    body += set.release_json[*choice];
    body += ",\"artifact_url\":\"/api/v1/artifacts/";
    body += offer.release.sha256;
    body += "\",\"size\":";
    body += std::to_string(offer.release.size_bytes);
    body += ",\"sha256\":\"";
    body += offer.release.sha256;
    body += "\",\"release_id\":";
    body += std::to_string(offer.release.id);
    body += ",\"rollout_id\":";
    body += std::to_string(offer.rollout.id);
    body += "}}";
  } else {
    body += "null}";
  }

  const std::array<std::byte, 32> body_digest = Sha256Digest(AsBytes(body));
  const core::FreshnessClaim claim{checkin.device_id, checkin.nonce, static_cast<uint64_t>(now_ms),
                                   body_digest};
  Result<std::array<std::byte, core::kFreshnessMacSize>> mac =
      core::ComputeFreshnessMac(context.crypto, caller->secret, claim);
  if (!mac.ok()) {
    return StatusToApiError(mac.status(), "internal").ToResponse();
  }

  context.checkins.Add(DeviceCheckin{checkin.device_id, checkin.version, checkin.secure_version,
                                     checkin.tags, now_ms});
  if (choice.has_value()) {
    context.checkins.AddOffer(set.rollouts[*choice].rollout.id, checkin.device_id, now_ms);
  }
  context.metrics.CountCheckin(choice.has_value());

  HttpResponse response;
  response.status = 200;
  response.headers.Reserve(3);
  response.headers.Add("Content-Type", "application/json");
  response.headers.Add("Cache-Control", "no-store");
  response.headers.Add("X-Aloft-Freshness", HexEncode(*mac));
  response.body = std::move(body);
  return response;
}

}  // namespace aloft::server
