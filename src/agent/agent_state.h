#pragma once
// The agent's decision, as data: AgentState (a Phase) × Event → Transition (the next phase and
// the ordered actions the loop performs). Pure: no I/O, no clock, no data beyond the two enums,
// so tests enumerate the whole product (agent_state_test.cc). The loop (agent.h) decodes what
// happened into an Event, calls Decide, and applies the Transition through the ports.
//
//   Idle ──timer──► Checking ──none/failed──► Idle
//                      │ offer (fresh, signed, allowed)
//                      ▼
//   Downloading ◄─dropped (back-off, then Range resume)─┐
//      │ done                                            │
//      ▼                                                 │
//   Verifying ──verification failed──► Idle (failed)     │
//      │ installed (otadata NEW)
//      ▼
//   AwaitingReboot ──reboot──► [bootloader] ──old booted──► Idle (rolled_back)
//      │ new booted, PENDING_VERIFY
//      ▼
//   Trial ──self-test pass──► confirm ──► Idle (confirmed)
//      │ self-test fail                  reset before confirming ──► Idle (rolled_back)
//      ▼
//   RollingBack ──reject, reboot──► old booted ──► Idle (rolled_back)
//
// Which phases are persisted, and what a power cut at each point leads to: README.md.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "agent/protocol.h"

namespace aloft::agent {

enum class Phase : uint8_t {
  kIdle,            // nothing in progress: waiting to check in
  kChecking,        // a check-in is in flight (RAM only: persisted as kIdle)
  kDownloading,     // an accepted release streams into the passive slot (offset persisted)
  kVerifying,       // every byte is in flash: hash, identity and signature checks, then Finish
  kAwaitingReboot,  // installed: otadata selects the new slot (NEW); the next reset tries it
  kTrial,           // the new image booted (PENDING_VERIFY): its self-test decides
  kRollingBack,     // the self-test failed: mark INVALID and reset into the old image
};
inline constexpr size_t kPhaseCount = 7;
const char* PhaseName(Phase phase);  // "idle", "checking", ...

// What happened. Boot events come once per boot, from comparing the running partition and its
// otadata state with the persisted target; the others are the outcomes of actions.
enum class Event : uint8_t {
  kBootedIntoOld,       // not running the target release; the running image is settled
  kBootedIntoNew,       // running the target release, PENDING_VERIFY
  kBootedIntoNewValid,  // running the target release, already VALID (or rollback disabled)
  kBootedUnknownTrial,  // running an image on trial that is not the target (installed otherwise)
  kTimerFired,          // the wait scheduled by kScheduleNext is over
  kCheckinNone,         // an authentic answer: no update
  kCheckinOffer,        // an authentic, signed release this device may install
  kCheckinRefused,      // an answer came but was refused (MAC, nonce, parse, signature, policy)
  kCheckinFailed,       // no answer: transport error, server error
  kDownloadProgress,    // more bytes are durably in flash (the transfer goes on)
  kDownloadDone,        // exactly the manifest's size is in flash
  kDownloadDropped,     // the transfer broke off (transient): resume later with Range
  kVerificationFailed,  // bytes or image refused (corrupt, too many, wrong image, bad signature)
  kInstalled,           // Finish verified the image and switched the boot slot
  kSelfTestPass,
  kSelfTestFail,
  kRejectFailed,  // no image to roll back to (esp_ota_mark_app_invalid_rollback refused)
  kReportSent,    // every queued report was acknowledged
  kReportFailed,  // some could not be sent: they stay queued
};
inline constexpr size_t kEventCount = 19;
const char* EventName(Event event);  // "booted_into_old", ...

enum class Action : uint8_t {
  kPersist,        // commit the transition (phase, release, offset, new reports) to KeyValue
  kCountFailure,   // one more consecutive failure: lengthens the next wait (back-off)
  kResetFailures,  // a success: back to the regular check interval
  kScheduleNext,   // wait (check interval with jitter, or back-off), then kTimerFired
  kSendReports,    // POST the queued reports (a failure keeps them queued)
  kCheckIn,        // → kCheckinNone / Offer / Refused / Failed
  kStartDownload,  // Begin, or Resume + Range at the persisted offset → Progress* then Done /
                   // Dropped / VerificationFailed
  kInstallFinish,  // → kInstalled / kVerificationFailed
  kRunSelfTest,    // → kSelfTestPass / kSelfTestFail
  kConfirm,        // mark the running app VALID
  kReject,         // mark the running app INVALID (→ kRejectFailed when impossible)
  kReboot,         // ask System for a reset; the next boot brings a boot event
};
const char* ActionName(Action action);

inline constexpr size_t kMaxActions = 4;
inline constexpr size_t kMaxTransitionReports = 2;

struct Transition {
  Phase next = Phase::kIdle;
  std::array<Action, kMaxActions> actions{};
  uint8_t action_count = 0;
  // Reports queued by this transition's kPersist (in the same record write, so a report is
  // queued exactly when its transition is durable).
  std::array<EventState, kMaxTransitionReports> reports{};
  uint8_t report_count = 0;
  // The reason for a failed / rolled_back report; nullptr: the failing action's own reason.
  const char* reason = nullptr;
  // The event does not belong to this phase (the loop never produces it there); the
  // transition keeps the phase and only schedules a wait, so the agent stays live.
  bool ignored = false;

  std::span<const Action> action_list() const { return {actions.data(), action_count}; }
  std::span<const EventState> report_list() const { return {reports.data(), report_count}; }
};

Transition Decide(Phase phase, Event event);

// The phase that is written to KeyValue for `phase` (kChecking is not worth persisting).
constexpr Phase PersistedPhase(Phase phase) {
  return phase == Phase::kChecking ? Phase::kIdle : phase;
}

}  // namespace aloft::agent
