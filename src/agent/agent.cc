#include "agent/agent.h"

#include <algorithm>

#include "core/boot/ota_ops.h"
#include "core/device/flash_image.h"
#include "core/format/app_image.h"
#include "core/hash.h"
#include "core/hex.h"
#include "core/install/trial_outcome.h"
#include "core/log.h"
#include "core/release/freshness.h"
#include "core/try.h"

namespace aloft::agent {

// Feeds a firmware download into the installer: skips what is already in flash when the
// server ignored the Range, refuses a byte beyond the manifest's size, and persists progress.
class Agent::DownloadSink final : public port::ResponseSink {
 public:
  DownloadSink(Agent& agent, uint32_t offset, uint32_t size)
      : agent_(agent), offset_(offset), size_(size), last_persisted_(offset) {}

  Status OnStart(uint16_t http_status, uint32_t first_byte, uint32_t total_size) override {
    (void)http_status;
    if (first_byte > offset_) {
      return Refuse(DataLoss("download: server resumed past the requested offset", first_byte));
    }
    // A 200 (Range ignored) starts at 0: the bytes already in flash, re-checked by Resume, are
    // skipped rather than written twice.
    skip_ = offset_ - first_byte;
    if (total_size != 0 && total_size > size_) {
      return Refuse(OutOfRange("download: artifact is larger than its manifest says", total_size));
    }
    return OkStatus();
  }

  Status OnData(ConstByteSpan chunk) override {
    agent_.bytes_downloaded_ += chunk.size();
    if (skip_ > 0) {
      const size_t skipped = std::min<size_t>(skip_, chunk.size());
      skip_ -= static_cast<uint32_t>(skipped);
      chunk = chunk.subspan(skipped);
    }
    if (chunk.empty()) {
      return OkStatus();
    }
    // Endless data: never accept a byte past what the signed manifest promised.
    if (chunk.size() > size_ - offset_) {
      return Refuse(OutOfRange("download: more bytes than the manifest's size", size_));
    }
    const Status written = agent_.installer_.Write(chunk);
    if (!written.ok()) {
      return Refuse(written);
    }
    offset_ += static_cast<uint32_t>(chunk.size());
    if (offset_ - last_persisted_ >= agent_.config_.persist_every_bytes && offset_ < size_) {
      last_persisted_ = offset_;
      agent_.OnDownloadProgress(agent_.installer_.written());
      if (agent_.dead_) {
        return Aborted("flash: power lost");
      }
    }
    return OkStatus();
  }

  uint32_t offset() const { return offset_; }
  // The sink's own refusal (not a transport error), if any.
  const Status& refusal() const { return refusal_; }

 private:
  Status Refuse(Status status) {
    refusal_ = status;
    return status;
  }

  Agent& agent_;
  uint32_t offset_;
  uint32_t size_;
  uint32_t skip_ = 0;
  uint32_t last_persisted_;
  Status refusal_;
};

Agent::Agent(const AgentConfig& config, const AgentPorts& ports, const core::DeviceLayout& layout,
             const core::DeviceConfig& device)
    : config_(config),
      ports_(ports),
      layout_(layout),
      device_(device),
      installer_(ports.flash, ports.crypto, layout, device) {
  ALOFT_CHECK(config_.trust != nullptr);
}

StepResult Agent::RunUntilBlocked(uint32_t max_steps) {
  StepResult result = StepResult::kProgress;
  for (uint32_t i = 0; i < max_steps && result == StepResult::kProgress; ++i) {
    result = Step();
  }
  return result;
}

StepResult Agent::Step() {
  if (dead_) {
    return StepResult::kDead;
  }
  if (reboot_requested_) {
    return StepResult::kRebootRequested;
  }
  if (!started_) {
    const Status started = Start();
    if (!started.ok()) {
      ALOFT_LOG_ERROR("agent: cannot start: %s", started.reason());
      Fatal(started);
      return StepResult::kDead;
    }
    started_ = true;
  }
  if (!pending_) {
    if (ports_.system.MonotonicMs() < wake_at_ms_) {
      return StepResult::kWaiting;
    }
    pending_ = Event::kTimerFired;
  }
  const Event event = *pending_;
  pending_.reset();
  last_event_ = event;
  ++steps_;
  const Phase from = phase_;
  const Transition t = Decide(phase_, event);
  if (t.ignored) {
    ALOFT_LOG_WARN("agent: %s ignored in phase %s", EventName(event), PhaseName(from));
  } else {
    ALOFT_LOG_DEBUG("agent: %s x %s -> %s", PhaseName(from), EventName(event), PhaseName(t.next));
  }
  // The reason of the action that produced this event; the next actions may set a new one.
  current_reason_ = event_reason_;
  event_reason_ = nullptr;
  Apply(t, event, from);
  if (dead_) {
    return StepResult::kDead;
  }
  return reboot_requested_ ? StepResult::kRebootRequested : StepResult::kProgress;
}

void Agent::Fatal(const Status& status) {
  if (!status.ok()) {
    last_error_ = status;
    dead_ = true;
  }
}

Status Agent::Start() {
  // The record: the phase and release to resume, the reports still to send.
  Result<size_t> size = ports_.store.Get(config_.record_key, record_bytes_);
  if (size.ok()) {
    const Status loaded = record_.LoadFrom(ConstByteSpan(record_bytes_).first(*size));
    if (!loaded.ok()) {
      // A record that does not read back cannot be acted on; start afresh (and say so). The
      // new epoch keeps new report ids distinct from the old ones.
      ALOFT_LOG_ERROR("agent: %s; starting from idle", loaded.reason());
      last_error_ = loaded;
      record_ = AgentRecord{};
      size = NotFound("key value: no such record");
    }
  } else if (size.status().code() != Status::Code::kNotFound) {
    return size.status();
  }
  if (!size.ok()) {
    std::array<std::byte, 4> random{};
    ALOFT_TRY(ports_.system.RandomBytes(random));
    record_.epoch = LoadLe32(random, 0);
    dirty_ = true;
  }
  phase_ = record_.phase;

  // What booted.
  running_ = ports_.system.RunningPartition();
  const core::AppPartition* partition = layout_.Find(running_);
  if (partition == nullptr) {
    return FailedPrecondition("agent: running partition not in the table");
  }
  ALOFT_TRY_ASSIGN(const core::FlashImageIdentity identity,
                   core::ReadFlashImageIdentity(ports_.flash, *partition));
  chip_id_ = identity.header.chip_id;
  running_version_.Assign(identity.app_description.version.view());
  running_project_.Assign(identity.app_description.project_name.view());
  bool pending_verify = false;
  if (layout_.slots.has_otadata && running_ >= 0) {
    ALOFT_TRY_ASSIGN(const core::Otadata otadata,
                     core::ReadOtadata(ports_.flash, layout_.otadata_offset));
    const Result<core::OtaState> state = core::GetStatePartition(&otadata, layout_.slots, running_);
    pending_verify = state.ok() && *state == core::OtaState::kPendingVerify;
    RememberFailedImage(otadata);
  }
  const bool is_target = record_.phase != Phase::kIdle && running_ == record_.target_slot &&
                         running_version_ == record_.target_version;
  if (is_target) {
    pending_ = pending_verify ? Event::kBootedIntoNew : Event::kBootedIntoNewValid;
  } else {
    pending_ = pending_verify ? Event::kBootedUnknownTrial : Event::kBootedIntoOld;
  }
  return OkStatus();
}

// ESP-IDF's OTA examples refuse a new image whose version equals the one in
// esp_ota_get_last_invalid_partition(): a release that failed its self-test here would
// otherwise be downloaded and booted again at every check-in until its rollout halts.
void Agent::RememberFailedImage(const core::Otadata& otadata) {
  const std::optional<int> passive = core::GetNextUpdatePartition(layout_.slots, running_);
  const core::AppPartition* slot = passive ? layout_.Find(*passive) : nullptr;
  if (slot == nullptr) {
    return;
  }
  const Result<core::OtaState> state = core::GetStatePartition(&otadata, layout_.slots, *passive);
  // INVALID only: the image's own self-test said no, a verdict that will not change. ABORTED
  // (reset while on trial) is also what a power cut during the self-test leaves, so that release
  // is tried again.
  if (!state.ok() || *state != core::OtaState::kInvalid) {
    return;
  }
  const Result<core::FlashImageIdentity> identity =
      core::ReadFlashImageIdentity(ports_.flash, *slot);
  if (!identity.ok()) {
    return;  // the slot holds something else by now (a later download): nothing to remember
  }
  failed_slot_ = *passive;
  failed_version_.Assign(identity->app_description.version.view());
  failed_project_.Assign(identity->app_description.project_name.view());
}

void Agent::Apply(const Transition& t, Event event, Phase from) {
  phase_ = t.next;
  const auto actions = t.action_list();
  for (size_t i = 0; i < actions.size(); ++i) {
    const bool last = i + 1 == actions.size();
    Status status;
    switch (actions[i]) {
      case Action::kPersist:
        status = Commit(t, event);
        break;
      case Action::kCountFailure:
        ++failures_;
        break;
      case Action::kResetFailures:
        failures_ = 0;
        break;
      case Action::kScheduleNext:
        ScheduleNext();
        break;
      case Action::kSendReports: {
        const bool sent = SendReports();
        if (last && !dead_) {
          pending_ = sent ? Event::kReportSent : Event::kReportFailed;
        }
        break;
      }
      case Action::kCheckIn:
        pending_ = DoCheckIn();
        break;
      case Action::kStartDownload:
        pending_ = DoDownload();
        break;
      case Action::kInstallFinish:
        pending_ = DoInstall();
        break;
      case Action::kRunSelfTest:
        pending_ = DoSelfTest();
        break;
      case Action::kConfirm: {
        Result<uint32_t> confirmed =
            core::ConfirmRunningApp(ports_.flash, layout_, device_, running_);
        status = confirmed.status();
        if (!status.ok() && status.code() != Status::Code::kAborted) {
          // The image cannot be confirmed: treat it as a failed self-test (roll back).
          ALOFT_LOG_ERROR("agent: confirm failed: %s", status.reason());
          last_error_ = status;
          staged_reason_.Assign(status.reason());
          phase_ = from;
          pending_ = Event::kSelfTestFail;
          return;
        }
        break;
      }
      case Action::kReject: {
        // The answer buffer is free here; the rejection verifies the old image through it.
        const ByteSpan work(reinterpret_cast<std::byte*>(response_.data()), response_.size());
        status = core::RejectRunningApp(ports_.flash, ports_.crypto, layout_, device_, work);
        if (!status.ok() && status.code() != Status::Code::kAborted) {
          ALOFT_LOG_ERROR("agent: reject failed: %s", status.reason());
          last_error_ = status;
          pending_ = Event::kRejectFailed;
          return;
        }
        break;
      }
      case Action::kReboot:
        ports_.system.RequestReboot();
        reboot_requested_ = true;
        break;
    }
    if (dead_) {
      return;
    }
    if (!status.ok()) {
      if (status.code() == Status::Code::kAborted) {
        Fatal(status);
        return;
      }
      // The step could not be made durable (or the flash refused): nothing after it may run.
      // Keep the phase we came from and try again after a back-off.
      ALOFT_LOG_ERROR("agent: %s failed: %s", ActionName(actions[i]), status.reason());
      last_error_ = status;
      phase_ = from;
      if (actions[i] == Action::kPersist) {
        RevertToDurable();
      }
      pending_.reset();
      ++failures_;
      ScheduleNext();
      return;
    }
  }
}

Status Agent::Commit(const Transition& t, Event event) {
  switch (event) {
    case Event::kCheckinOffer:
      record_.ClearRelease();
      std::copy(staged_.manifest.begin(), staged_.manifest.end(), record_.manifest.begin());
      record_.manifest_size = staged_.manifest_size;
      record_.artifact_path = staged_.artifact_path;
      record_.release_id = staged_.release_id;
      record_.rollout_id = staged_.rollout_id;
      record_.target_slot = static_cast<int8_t>(staged_.target_slot);
      record_.target_version = staged_.version;
      break;
    case Event::kCheckinRefused:
      // Ids only from an answer whose MAC verified; the record holds no release in idle.
      record_.release_id.reset();
      record_.rollout_id.reset();
      if (staged_.authentic) {
        record_.release_id = staged_.release_id;
        record_.rollout_id = staged_.rollout_id;
      }
      break;
    case Event::kDownloadProgress:
    case Event::kDownloadDropped:
    case Event::kDownloadDone:
      record_.offset = staged_offset_;
      break;
    case Event::kSelfTestFail:
      record_.reason = staged_reason_;
      break;
    case Event::kBootedIntoOld:
    case Event::kBootedIntoNew:
    case Event::kBootedUnknownTrial:
    case Event::kBootedIntoNewValid:
    case Event::kTimerFired:
    case Event::kCheckinNone:
    case Event::kCheckinFailed:
    case Event::kVerificationFailed:
    case Event::kInstalled:
    case Event::kSelfTestPass:
    case Event::kRejectFailed:
    case Event::kReportSent:
    case Event::kReportFailed:
      break;
  }
  for (EventState state : t.report_list()) {
    const char* reason = t.reason != nullptr ? t.reason : current_reason_;
    record_.QueueReport(MakeReport(state, reason));
  }
  if (event == Event::kBootedUnknownTrial) {
    // An image on trial this agent did not install: adopt it, so its trial is decided. (Any
    // report above still names the release it replaced.)
    record_.ClearRelease();
    record_.target_slot = static_cast<int8_t>(running_);
    record_.target_version = running_version_;
  }
  if (PersistedPhase(t.next) == Phase::kIdle) {
    record_.ClearRelease();
  }
  if (event == Event::kCheckinRefused) {
    record_.release_id.reset();
    record_.rollout_id.reset();
  }
  record_.phase = PersistedPhase(t.next);
  return Persist();
}

void Agent::RevertToDurable() {
  // The transition was not written: RAM goes back to what KeyValue holds, so a retry does not
  // queue its reports twice or hand out sequence numbers a reset would hand out again.
  const uint32_t epoch = record_.epoch;
  Result<size_t> size = ports_.store.Get(config_.record_key, record_bytes_);
  if (size.ok() && record_.LoadFrom(ConstByteSpan(record_bytes_).first(*size)).ok()) {
    dirty_ = false;
    return;
  }
  if (size.status().code() == Status::Code::kAborted) {
    Fatal(size.status());
    return;
  }
  record_ = AgentRecord{};
  record_.epoch = epoch;
  dirty_ = true;
}

Status Agent::Persist() {
  Result<size_t> size = record_.SaveTo(record_bytes_);
  if (!size.ok()) {
    return size.status();
  }
  // The commit point of every transition: the record after it is the old one or this one.
  const Status status =
      ports_.store.Set(config_.record_key, ConstByteSpan(record_bytes_).first(*size));
  dirty_ = !status.ok();
  return status;
}

PendingReport Agent::MakeReport(EventState state, const char* reason) {
  PendingReport report;
  report.seq = record_.next_seq++;
  report.state = state;
  report.version = running_version_;
  report.release_id = record_.release_id;
  report.rollout_id = record_.rollout_id;
  report.time_ms = NowWallMs();
  if (state == EventState::kDownloading || state == EventState::kDownloaded) {
    Result<core::ReleaseManifest> manifest = RecordedManifest();
    const uint32_t offset = state == EventState::kDownloaded ? staged_offset_ : record_.offset;
    report.bytes = offset;
    if (manifest.ok() && manifest->size_bytes > 0) {
      report.progress =
          static_cast<uint8_t>(static_cast<uint64_t>(offset) * 100 / manifest->size_bytes);
    }
  }
  if (state == EventState::kFailed || state == EventState::kRolledBack) {
    const std::string_view text =
        reason != nullptr ? std::string_view(reason) : record_.reason.view();
    report.reason.Assign(text.substr(0, kMaxReasonSize));
  }
  return report;
}

uint64_t Agent::NowWallMs() {
  const uint64_t wall = ports_.system.WallClockMs();
  if (wall != 0 || !server_time_ms_) {
    return wall;
  }
  return *server_time_ms_ + (ports_.system.MonotonicMs() - server_time_at_ms_);
}

Result<core::ReleaseManifest> Agent::RecordedManifest() const {
  // Verified when it was accepted; the record is the device's own storage.
  return core::ParseManifest(record_.manifest_bytes());
}

void Agent::ScheduleNext() {
  std::array<std::byte, 4> random{};
  uint32_t value = 0;
  if (ports_.system.RandomBytes(random).ok()) {
    value = LoadLe32(random, 0);
  }
  const uint64_t wait = NextWaitMs(config_.schedule, failures_, !checked_since_boot_, value);
  wake_at_ms_ = ports_.system.MonotonicMs() + wait;
}

void Agent::OnDownloadProgress(uint32_t written) {
  staged_offset_ = written;
  const Transition t = Decide(phase_, Event::kDownloadProgress);
  const Status status = Commit(t, Event::kDownloadProgress);
  if (status.code() == Status::Code::kAborted) {
    Fatal(status);
  } else if (!status.ok()) {
    // Progress that is not durable only costs a longer resume after a reset.
    last_error_ = status;
  }
}

// ---- check-in ----

Event Agent::RefuseAnswer(Status why) {
  ALOFT_LOG_WARN("agent: check-in answer refused: %s", why.reason());
  last_error_ = why;
  event_reason_ = why.reason();
  return Event::kCheckinRefused;
}

Event Agent::DoCheckIn() {
  checked_since_boot_ = true;
  staged_ = StagedOffer{};
  const Status random = ports_.system.RandomBytes(nonce_);
  if (!random.ok()) {
    last_error_ = random;
    return Event::kCheckinFailed;
  }
  const CheckinRequest request{config_.device_id,
                               running_project_.view(),
                               core::ChipName(chip_id_),
                               running_version_.view(),
                               device_.efuse_secure_version,
                               config_.tags,
                               nonce_};
  Result<size_t> body_size = BuildCheckinRequest(request, request_);
  if (!body_size.ok()) {
    last_error_ = body_size.status();
    return Event::kCheckinFailed;
  }
  std::array<char, 2 * core::kFreshnessMacSize + 2> mac_hex{};
  port::HeaderCapture captures[] = {{kFreshnessHeader, mac_hex}};
  Result<port::PostResult> posted = ports_.transport.Post(
      kCheckinPath, {request_.data(), *body_size},
      ByteSpan(reinterpret_cast<std::byte*>(response_.data()), response_.size()), captures,
      config_.checkin_timeout_ms);
  if (!posted.ok()) {
    if (posted.status().code() == Status::Code::kAborted) {
      Fatal(posted.status());
    }
    ALOFT_LOG_WARN("agent: check-in failed: %s", posted.status().reason());
    last_error_ = posted.status();
    return Event::kCheckinFailed;
  }
  const std::span<char> body(response_.data(), posted->body_size);

  // The digest of the body exactly as received, before parsing rewrites it in place.
  std::array<std::byte, core::kAnswerDigestSize> digest{};
  {
    Hash hash(ports_.crypto, port::HashAlgorithm::kSha256);
    Status hashed = hash.Begin();
    if (hashed.ok()) {
      hashed = hash.Update(AsBytes({body.data(), body.size()}));
    }
    if (hashed.ok()) {
      hashed = hash.Finish(digest);
    }
    if (!hashed.ok()) {
      last_error_ = hashed;
      return Event::kCheckinFailed;
    }
  }
  std::array<std::byte, core::kFreshnessMacSize> mac{};
  if (!captures[0].present || captures[0].truncated ||
      !core::HexDecode(captures[0].text(), mac).ok()) {
    return RefuseAnswer(Unauthenticated("check-in: freshness header missing or malformed"));
  }
  Result<CheckinAnswer> answer = ParseCheckinAnswer(body, json_);
  if (!answer.ok()) {
    return RefuseAnswer(answer.status());
  }
  // Fresh and for this device: the MAC binds our id, the nonce we just sent and the body.
  const Status fresh =
      core::VerifyFreshness(ports_.crypto, config_.device_secret,
                            {config_.device_id, nonce_, answer->server_time_ms, digest}, mac);
  if (!fresh.ok()) {
    return RefuseAnswer(fresh);
  }
  if (answer->nonce != nonce_) {
    return RefuseAnswer(Unauthenticated("check-in: answer nonce differs from the request"));
  }
  server_time_ms_ = answer->server_time_ms;
  server_time_at_ms_ = ports_.system.MonotonicMs();
  if (!answer->update) {
    return Event::kCheckinNone;
  }
  const UpdateOffer& offer = *answer->update;
  staged_.authentic = true;
  staged_.release_id = offer.release_id;
  staged_.rollout_id = offer.rollout_id;

  // Authentic release: signed by a key this device trusts (checked before any field is read).
  Result<core::ReleaseManifest> manifest =
      core::VerifyManifest(ports_.crypto, offer.manifest, offer.signature, *config_.trust);
  if (!manifest.ok()) {
    return RefuseAnswer(manifest.status());
  }
  if (offer.size_bytes != manifest->size_bytes || offer.sha256 != manifest->sha256) {
    return RefuseAnswer(
        PermissionDenied("check-in: update size or sha256 differs from the signed manifest"));
  }
  // For this device, and allowed.
  const std::optional<int> target = core::GetNextUpdatePartition(layout_.slots, running_);
  const core::AppPartition* slot = target ? layout_.Find(*target) : nullptr;
  if (slot == nullptr) {
    return RefuseAnswer(FailedPrecondition("update: no slot to install into"));
  }
  const core::DeviceFacts facts{chip_id_, running_project_.view(), running_version_.view(),
                                device_.efuse_secure_version, slot->size};
  const Status allowed = core::EvaluateUpdate(facts, *manifest, config_.update_options);
  if (!allowed.ok()) {
    return RefuseAnswer(allowed);
  }
  if (*target == failed_slot_ && manifest->version.view() == failed_version_.view() &&
      manifest->project.view() == failed_project_.view()) {
    // Already reported (rolled_back or failed) when it happened; the server may keep offering
    // it until its rollout halts. Nothing to do until it offers another release.
    ALOFT_LOG_WARN("agent: %.*s already failed on this device; not trying it again",
                   static_cast<int>(failed_version_.view().size()), failed_version_.view().data());
    return Event::kCheckinNone;
  }
  // Copied out of the answer buffer, which the next exchange reuses.
  std::copy(offer.manifest.begin(), offer.manifest.end(), staged_.manifest.begin());
  staged_.manifest_size = static_cast<uint16_t>(offer.manifest.size());
  staged_.artifact_path.Assign(offer.artifact_path);
  staged_.target_slot = *target;
  staged_.version.Assign(manifest->version.view());
  staged_.complete = true;
  return Event::kCheckinOffer;
}

// ---- download and install ----

Event Agent::FailVerification(Status why) {
  if (why.code() == Status::Code::kAborted) {
    Fatal(why);
    return Event::kVerificationFailed;
  }
  ALOFT_LOG_ERROR("agent: update refused: %s", why.reason());
  installer_.Abort();
  last_error_ = why;
  event_reason_ = why.reason();
  return Event::kVerificationFailed;
}

Event Agent::DoDownload() {
  Result<core::ReleaseManifest> manifest = RecordedManifest();
  if (!manifest.ok()) {
    return FailVerification(manifest.status());
  }
  const uint32_t size = manifest->size_bytes;
  uint32_t offset = record_.offset <= size ? record_.offset : 0;
  if (offset > 0) {
    // Resume re-reads what is in flash through the validator and restarts at a sector
    // boundary at or below the offset; if flash does not hold what the record says, start over.
    Result<uint32_t> resumed = installer_.Resume(running_, offset, size);
    if (resumed.ok()) {
      offset = *resumed;
    } else if (resumed.status().code() == Status::Code::kAborted) {
      return FailVerification(resumed.status());
    } else {
      ALOFT_LOG_WARN("agent: resume refused (%s); downloading from 0", resumed.status().reason());
      offset = 0;
    }
  }
  if (offset == 0) {
    const Status begun = installer_.Begin(running_, size);
    if (!begun.ok()) {
      return FailVerification(begun);
    }
  }
  staged_offset_ = offset;
  if (offset == size) {
    return Event::kDownloadDone;
  }
  DownloadSink sink(*this, offset, size);
  const Status got =
      ports_.transport.Get(record_.artifact_path.view(), offset, sink, config_.download_timeout_ms);
  staged_offset_ = installer_.written();
  if (dead_) {
    return Event::kDownloadDropped;
  }
  if (got.ok()) {
    if (sink.offset() == size) {
      return Event::kDownloadDone;
    }
    last_error_ = Unavailable("download: body ended before the manifest's size", sink.offset());
    return Event::kDownloadDropped;
  }
  if (got.code() == Status::Code::kAborted) {
    return FailVerification(got);
  }
  if (!sink.refusal().ok()) {
    return FailVerification(sink.refusal());
  }
  if (got.code() == Status::Code::kUnavailable) {
    ALOFT_LOG_WARN("agent: download dropped at %u: %s", static_cast<unsigned>(staged_offset_),
                   got.reason());
    last_error_ = got;
    return Event::kDownloadDropped;
  }
  // 404 (withdrawn), 416 (the server has fewer bytes), 401/403: this attempt is over.
  return FailVerification(got);
}

Event Agent::DoInstall() {
  Result<core::ReleaseManifest> manifest = RecordedManifest();
  if (!manifest.ok()) {
    return FailVerification(manifest.status());
  }
  const uint32_t size = manifest->size_bytes;
  const core::AppPartition* slot = layout_.Find(record_.target_slot);
  if (slot == nullptr || size > slot->size) {
    return FailVerification(FailedPrecondition("install: no target slot"));
  }
  if (!installer_.writing() || installer_.written() != size) {
    // After a reset: re-check every byte in flash as if it streamed in now.
    Result<uint32_t> resumed = installer_.Resume(running_, size, size);
    if (!resumed.ok()) {
      return FailVerification(resumed.status());
    }
    if (*resumed != size) {
      return FailVerification(DataLoss("install: image in flash is incomplete", *resumed));
    }
  }
  // The bytes in flash are exactly the ones the signed manifest names (size and SHA-256).
  {
    Hash hash(ports_.crypto, port::HashAlgorithm::kSha256);
    Status status = hash.Begin();
    ByteSpan buffer(reinterpret_cast<std::byte*>(response_.data()), response_.size());
    for (uint32_t at = 0; status.ok() && at < size;) {
      const uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(buffer.size()), size - at);
      status = ports_.flash.Read(slot->offset + at, buffer.first(n));
      if (status.ok()) {
        status = hash.Update(buffer.first(n));
      }
      at += n;
    }
    std::array<std::byte, 32> sha256{};
    if (status.ok()) {
      status = hash.Finish(sha256);
    }
    if (status.ok()) {
      status = core::CheckDownloadAgainstManifest(*manifest, size, sha256);
    }
    if (!status.ok()) {
      return FailVerification(status);
    }
  }
  // The image says of itself what its manifest says.
  Result<core::FlashImageIdentity> identity = core::ReadFlashImageIdentity(ports_.flash, *slot);
  if (!identity.ok()) {
    return FailVerification(identity.status());
  }
  const core::ImageFacts facts{
      identity->header.chip_id, identity->app_description.project_name.view(),
      identity->app_description.version.view(), identity->app_description.secure_version};
  const Status matches = core::CheckImageMatchesManifest(*manifest, facts);
  if (!matches.ok()) {
    return FailVerification(matches);
  }
  // Finish verifies the image in flash (and its Secure Boot v2 signature) and only then writes
  // otadata: the one commit point of the install.
  Result<core::InstallResult> installed = installer_.Finish();
  if (!installed.ok()) {
    return FailVerification(installed.status());
  }
  return Event::kInstalled;
}

Event Agent::DoSelfTest() {
  const Status result = ports_.self_test.Run();
  if (result.ok()) {
    return Event::kSelfTestPass;
  }
  if (result.code() == Status::Code::kAborted) {
    Fatal(result);
    return Event::kSelfTestFail;
  }
  ALOFT_LOG_ERROR("agent: self-test failed: %s", result.reason());
  last_error_ = result;
  staged_reason_.Assign(std::string_view(result.reason()).substr(0, kMaxReasonSize));
  return Event::kSelfTestFail;
}

// ---- reports ----

bool Agent::SendReports() {
  if (record_.report_count == 0) {
    return true;
  }
  // Ids must be durable before they leave the device, or a reset could hand them out again.
  if (dirty_) {
    const Status persisted = Persist();
    if (!persisted.ok()) {
      if (persisted.code() == Status::Code::kAborted) {
        Fatal(persisted);
      }
      last_error_ = persisted;
      return false;
    }
  }
  std::array<std::array<char, 20>, kMaxPendingReports> id_text{};
  std::array<std::string_view, kMaxPendingReports> ids{};
  std::array<EventReport, kMaxPendingReports> events{};
  size_t count = record_.report_count;
  for (size_t i = 0; i < count; ++i) {
    const PendingReport& pending = record_.reports[i];
    const size_t n = FormatReportId(record_.epoch, pending.seq, id_text[i]);
    ids[i] = {id_text[i].data(), n};
    events[i] = EventReport{ids[i],
                            pending.state,
                            pending.progress,
                            pending.bytes,
                            pending.reason.view(),
                            pending.version.view(),
                            pending.release_id,
                            pending.rollout_id,
                            pending.time_ms};
  }
  // All of them if they fit the request buffer, else the oldest that do.
  Result<size_t> body = ResourceExhausted("protocol: output buffer too small");
  while (count > 0) {
    body = BuildEventsRequest(config_.device_id, {events.data(), count}, request_);
    if (body.ok() || body.status().code() != Status::Code::kResourceExhausted) {
      break;
    }
    --count;
  }
  if (!body.ok()) {
    last_error_ = body.status();
    return false;
  }
  Result<port::PostResult> posted = ports_.transport.Post(
      kEventsPath, {request_.data(), *body},
      ByteSpan(reinterpret_cast<std::byte*>(response_.data()), response_.size()), {},
      config_.report_timeout_ms);
  if (!posted.ok()) {
    if (posted.status().code() == Status::Code::kAborted) {
      Fatal(posted.status());
    }
    ALOFT_LOG_WARN("agent: reports not sent: %s", posted.status().reason());
    last_error_ = posted.status();
    return false;
  }
  std::array<bool, kMaxPendingReports> acknowledged{};
  const Status parsed = ParseEventsAnswer({response_.data(), posted->body_size}, json_,
                                          {ids.data(), count}, {acknowledged.data(), count});
  if (!parsed.ok()) {
    last_error_ = parsed;
    return false;
  }
  const size_t total = record_.report_count;
  const bool all = count == total && std::all_of(acknowledged.begin(),
                                                 acknowledged.begin() + static_cast<long>(count),
                                                 [](bool a) { return a; });
  record_.RemoveReports({acknowledged.data(), total});
  // If this write is lost, the reports go again and the server answers "duplicates".
  const Status persisted = Persist();
  if (persisted.code() == Status::Code::kAborted) {
    Fatal(persisted);
    return false;
  }
  return all;
}

const char* StepResultName(StepResult result) {
  switch (result) {
    case StepResult::kProgress:
      return "progress";
    case StepResult::kWaiting:
      return "waiting";
    case StepResult::kRebootRequested:
      return "reboot_requested";
    case StepResult::kDead:
      return "dead";
  }
  return "unknown";
}

}  // namespace aloft::agent
