#pragma once
// Agent: the device update agent. One object per boot: it reads its record (agent_record.h)
// and what booted, then steps through Decide (agent_state.h) one event at a time, doing the
// actions through the ports and persisting each transition through port::KeyValue before it
// acts on flash, so a reset or power cut at any point resumes or reports correctly (README.md).
//
// On a check-in answer it believes nothing before the freshness MAC (the device's own secret,
// the nonce it sent) verifies, then the manifest signature under its trusted key digests, then
// the version policy (core::EvaluateUpdate). It downloads into the passive slot through the
// StreamInstaller (resuming with Range after a drop), never accepting more bytes than the
// manifest's size, checks the SHA-256 and the image's own identity against the manifest, and
// lets Finish verify the image (and its Secure Boot v2 signature) before the boot slot changes.
//
// No heap and no exceptions: every buffer is a member (about 25 KiB in all; build the agent in
// static storage or on the heap of the host, not on a small task stack). Not thread-safe; the
// ports and everything passed by reference must outlive the agent. A reset means a new Agent:
// RAM state (back-off, the installer, the pending nonce) does not survive one, by design.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "agent/agent_record.h"
#include "agent/agent_state.h"
#include "agent/protocol.h"
#include "agent/schedule.h"
#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/install/stream_installer.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/port/key_value.h"
#include "core/port/system.h"
#include "core/port/transport.h"
#include "core/release/manifest.h"
#include "core/release/version_policy.h"
#include "core/result.h"
#include "core/signature/signature_verifier.h"
#include "core/status.h"

namespace aloft::agent {

// The firmware's own health check, run once when a new image boots on trial.
class SelfTest {
 public:
  SelfTest() = default;
  SelfTest(const SelfTest&) = delete;
  SelfTest& operator=(const SelfTest&) = delete;
  virtual ~SelfTest() = default;
  // OK: the image works, confirm it. kAborted: the device crashed or lost power while testing
  // (the agent stops; the bootloader rolls back at the next reset). Anything else: the test
  // failed; its reason is kept for the rolled_back report.
  virtual Status Run() = 0;
};

// A self-test that always passes (firmware without one).
class PassingSelfTest final : public SelfTest {
 public:
  Status Run() override { return OkStatus(); }
};

struct AgentPorts {
  port::Flash& flash;
  port::Crypto& crypto;
  port::Transport& transport;
  port::KeyValue& store;
  port::System& system;
  SelfTest& self_test;
};

inline constexpr std::string_view kDefaultRecordKey = "aloft.agent";

struct AgentConfig {
  std::string_view device_id;              // as registered with the server
  ConstByteSpan device_secret;             // the freshness key the server derived at registration
  std::span<const std::string_view> tags;  // sent with each check-in (at most kMaxTags)
  // Manifests must verify under this (the device's trusted release key digests); normally the
  // same policy as DeviceConfig::trust, which Finish uses for the image. REQUIRES: non-null.
  const core::TrustPolicy* trust = nullptr;
  core::UpdateOptions update_options;
  ScheduleConfig schedule;
  uint32_t checkin_timeout_ms = 15000;
  uint32_t download_timeout_ms = 15000;  // per stall, not the whole transfer
  uint32_t report_timeout_ms = 15000;
  uint32_t persist_every_bytes = 64 * 1024;  // download progress written this often
  std::string_view record_key = kDefaultRecordKey;
};

enum class StepResult : uint8_t {
  kProgress,         // an event was handled; call Step again
  kWaiting,          // nothing to do before wake_at_ms()
  kRebootRequested,  // System::RequestReboot was called: reset, then build a new Agent
  kDead,             // power was lost (a port returned kAborted) or the agent cannot run
};
const char* StepResultName(StepResult result);

class Agent {
 public:
  // REQUIRES: everything referenced outlives the agent; config.trust is set.
  Agent(const AgentConfig& config, const AgentPorts& ports, const core::DeviceLayout& layout,
        const core::DeviceConfig& device);
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Handles one event. The first call after construction loads the record and decodes what
  // booted into the first event. Returns kWaiting, without doing anything, until the scheduled
  // wait is over (by System::MonotonicMs).
  StepResult Step();

  // Steps until the result is not kProgress, at most `max_steps` times (a guard for tests).
  StepResult RunUntilBlocked(uint32_t max_steps = 10000);

  Phase phase() const { return phase_; }
  const AgentRecord& record() const { return record_; }
  // Monotonic time of the next kTimerFired.
  uint64_t wake_at_ms() const { return wake_at_ms_; }
  uint32_t consecutive_failures() const { return failures_; }
  // The most recent failure of any action (OK if none): for logs and the CLI.
  Status last_error() const { return last_error_; }
  // The event handled by the most recent Step, and how many Steps have run.
  std::optional<Event> last_event() const { return last_event_; }
  uint64_t steps() const { return steps_; }
  // The running image, as read at start.
  std::string_view running_version() const { return running_version_.view(); }
  int running_partition() const { return running_; }
  // Bytes received from the server for firmware downloads since construction.
  uint64_t bytes_downloaded() const { return bytes_downloaded_; }

 private:
  class DownloadSink;

  Status Start();
  void RememberFailedImage(const core::Otadata& otadata);
  // Runs the transition's actions in order; the last one's outcome becomes the next event.
  void Apply(const Transition& t, Event event, Phase from);
  // kPersist: folds the transition into the record and writes it.
  Status Commit(const Transition& t, Event event);
  Status Persist();
  void RevertToDurable();
  void Fatal(const Status& status);  // a kAborted (power lost) or unusable port: stop
  Event DoCheckIn();
  Event RefuseAnswer(Status why);
  Event DoDownload();
  Event DoInstall();
  Event FailVerification(Status why);
  Event DoSelfTest();
  bool SendReports();
  void ScheduleNext();
  void OnDownloadProgress(uint32_t written);
  PendingReport MakeReport(EventState state, const char* reason);
  uint64_t NowWallMs();
  Result<core::ReleaseManifest> RecordedManifest() const;

  AgentConfig config_;
  AgentPorts ports_;
  const core::DeviceLayout& layout_;
  const core::DeviceConfig& device_;

  bool started_ = false;
  bool dead_ = false;
  bool reboot_requested_ = false;
  Phase phase_ = Phase::kIdle;
  std::optional<Event> pending_;
  std::optional<Event> last_event_;
  uint64_t steps_ = 0;
  uint64_t wake_at_ms_ = 0;
  uint32_t failures_ = 0;
  bool checked_since_boot_ = false;
  bool dirty_ = false;  // the record in RAM is ahead of the one in KeyValue
  Status last_error_;
  // Why the current event came about (the failing action's reason), for its report.
  const char* event_reason_ = nullptr;
  const char* current_reason_ = nullptr;

  // What the device is running.
  int running_ = core::kInvalidIndex;
  uint16_t chip_id_ = 0;
  VersionText running_version_;
  core::BoundedText<core::kManifestTextMax> running_project_;
  // The image in the passive slot when its otadata entry says its self-test failed here
  // (INVALID): that release is not tried again (kInvalidIndex: none).
  int failed_slot_ = core::kInvalidIndex;
  VersionText failed_version_;
  core::BoundedText<core::kManifestTextMax> failed_project_;

  // The server's clock, learnt from authentic answers (reports when System has no wall clock).
  std::optional<uint64_t> server_time_ms_;
  uint64_t server_time_at_ms_ = 0;

  // A check-in's nonce, and an authentic offer waiting for its kPersist.
  std::array<std::byte, core::kCheckinNonceSize> nonce_{};
  struct StagedOffer {
    std::array<std::byte, core::kMaxManifestSize> manifest{};
    uint16_t manifest_size = 0;
    core::BoundedText<kMaxArtifactPathSize> artifact_path;
    int64_t release_id = 0;
    int64_t rollout_id = 0;
    int target_slot = core::kInvalidIndex;
    VersionText version;
    bool authentic = false;  // ids may be used in a failed report
    bool complete = false;   // an offer to adopt
  };
  StagedOffer staged_;
  uint32_t staged_offset_ = 0;
  ReasonText staged_reason_;
  uint64_t bytes_downloaded_ = 0;

  AgentRecord record_;
  std::array<std::byte, kMaxAgentRecordSize> record_bytes_{};
  std::array<char, kMaxCheckinAnswerSize> response_{};
  std::array<char, 6144> request_{};
  JsonWorkspace json_;
  core::StreamInstallerBuffer<core::kInstallerMinWorkSize> installer_;
};

}  // namespace aloft::agent
