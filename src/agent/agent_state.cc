#include "agent/agent_state.h"

#include <initializer_list>

namespace aloft::agent {
namespace {

using A = Action;
using E = EventState;
using P = Phase;

Transition Make(Phase next, std::initializer_list<Action> actions,
                std::initializer_list<EventState> reports = {}, const char* reason = nullptr) {
  Transition t;
  t.next = next;
  for (Action action : actions) {
    t.actions[t.action_count++] = action;
  }
  for (EventState report : reports) {
    t.reports[t.report_count++] = report;
  }
  t.reason = reason;
  return t;
}

// An event that cannot happen in this phase: keep the phase (a check-in in flight is over) and
// wait, so the timer brings the phase's own work back.
Transition Ignored(Phase phase) {
  Transition t = Make(phase == P::kChecking ? P::kIdle : phase, {A::kScheduleNext});
  t.ignored = true;
  return t;
}

// The end of an update attempt that did not install: report it, back off.
Transition Failure(EventState report, const char* reason = nullptr) {
  return Make(P::kIdle, {A::kPersist, A::kCountFailure, A::kSendReports}, {report}, reason);
}

Transition Confirmed() {
  return Make(P::kIdle, {A::kPersist, A::kResetFailures, A::kSendReports}, {E::kConfirmed});
}

// The work a phase does when its timer fires (or after a boot that changed nothing).
Transition Resume(Phase phase) {
  switch (phase) {
    case P::kIdle:
    case P::kChecking:
      // Reports first: the server hears what happened before it is asked again.
      return Make(P::kChecking, {A::kSendReports, A::kCheckIn});
    case P::kDownloading:
      return Make(P::kDownloading, {A::kStartDownload});
    case P::kVerifying:
      return Make(P::kVerifying, {A::kInstallFinish});
    case P::kAwaitingReboot:
      return Make(P::kAwaitingReboot, {A::kReboot});
    case P::kTrial:
      return Make(P::kTrial, {A::kRunSelfTest});
    case P::kRollingBack:
      return Make(P::kRollingBack, {A::kReject, A::kReboot});
  }
  return Ignored(phase);
}

}  // namespace

Transition Decide(Phase phase, Event event) {
  switch (event) {
    case Event::kBootedIntoOld:
      switch (phase) {
        case P::kIdle:
        case P::kChecking:
          return Make(P::kIdle, {A::kScheduleNext});
        case P::kDownloading:  // power was lost mid-download: Resume re-checks flash, Range on
        case P::kVerifying:    // power was lost before the boot slot changed: check again
          return Resume(phase);
        case P::kAwaitingReboot:
          // otadata selected the new image, yet the old one runs: the bootloader refused it.
          return Failure(E::kRolledBack, "rollback: the new firmware did not boot");
        case P::kTrial:
          // It booted, then reset before confirming: the bootloader marked it ABORTED.
          return Failure(E::kRolledBack, "rollback: the new firmware reset before confirming");
        case P::kRollingBack:
          return Failure(E::kRolledBack);  // the self-test's reason, kept in the record
      }
      break;
    case Event::kBootedIntoNew:
      switch (phase) {
        case P::kIdle:
        case P::kChecking:
        case P::kDownloading:  // cannot target the running slot; adopt the trial anyway
          return Make(P::kTrial, {A::kPersist, A::kRunSelfTest});
        case P::kVerifying:  // Finish's otadata write landed, then power was lost
        case P::kAwaitingReboot:
          return Make(P::kTrial, {A::kPersist, A::kRunSelfTest});
        case P::kTrial:  // only without rollback can PENDING_VERIFY survive a reset
        case P::kRollingBack:
          return Resume(phase);
      }
      break;
    case Event::kBootedIntoNewValid:
      switch (phase) {
        case P::kIdle:
        case P::kChecking:
          return Make(P::kIdle, {A::kScheduleNext});
        case P::kDownloading:
        case P::kVerifying:
        case P::kAwaitingReboot:  // rollback disabled: no trial, the image is final
        case P::kTrial:           // confirmed, then power was lost before the record said so
          return Confirmed();
        case P::kRollingBack:
          return Failure(E::kFailed, "rollback: self-test failed but the firmware is confirmed");
      }
      break;
    case Event::kBootedUnknownTrial:
      switch (phase) {
        case P::kIdle:
        case P::kChecking:
          return Make(P::kTrial, {A::kPersist, A::kRunSelfTest});
        case P::kDownloading:
        case P::kVerifying:
        case P::kAwaitingReboot:
        case P::kTrial:
        case P::kRollingBack:
          return Make(P::kTrial, {A::kPersist, A::kRunSelfTest}, {E::kFailed},
                      "update: superseded by another image");
      }
      break;
    case Event::kTimerFired:
      return Resume(phase);
    case Event::kCheckinNone:
      if (phase != P::kChecking) {
        return Ignored(phase);
      }
      return Make(P::kIdle, {A::kResetFailures, A::kScheduleNext});
    case Event::kCheckinOffer:
      if (phase != P::kChecking) {
        return Ignored(phase);
      }
      // Persisted before the first byte is written, so a reset mid-download resumes it.
      return Make(P::kDownloading, {A::kPersist, A::kSendReports, A::kStartDownload},
                  {E::kDownloading});
    case Event::kCheckinRefused:
      if (phase != P::kChecking) {
        return Ignored(phase);
      }
      return Failure(E::kFailed);
    case Event::kCheckinFailed:
      if (phase != P::kChecking) {
        return Ignored(phase);
      }
      return Make(P::kIdle, {A::kCountFailure, A::kScheduleNext});
    case Event::kDownloadProgress:
      if (phase != P::kDownloading) {
        return Ignored(phase);
      }
      // No follow-up action: the transfer that reported progress goes on.
      return Make(P::kDownloading, {A::kPersist});
    case Event::kDownloadDone:
      if (phase != P::kDownloading) {
        return Ignored(phase);
      }
      return Make(P::kVerifying, {A::kPersist, A::kInstallFinish}, {E::kDownloaded});
    case Event::kDownloadDropped:
      if (phase != P::kDownloading) {
        return Ignored(phase);
      }
      return Make(P::kDownloading, {A::kPersist, A::kCountFailure, A::kScheduleNext});
    case Event::kVerificationFailed:
      if (phase != P::kDownloading && phase != P::kVerifying) {
        return Ignored(phase);
      }
      return Failure(E::kFailed);
    case Event::kInstalled:
      if (phase != P::kVerifying) {
        return Ignored(phase);
      }
      // Reports go out before the reset (best effort: what is not sent stays queued).
      return Make(P::kAwaitingReboot, {A::kPersist, A::kSendReports},
                  {E::kVerified, E::kRebooting});
    case Event::kSelfTestPass:
      if (phase != P::kTrial) {
        return Ignored(phase);
      }
      // Confirm before the record changes: the persisted kTrial is the intent, and otadata
      // VALID the outcome, which the next boot reads (kBootedIntoNewValid) if power is lost
      // between the two.
      return Make(P::kIdle, {A::kConfirm, A::kPersist, A::kResetFailures, A::kSendReports},
                  {E::kConfirmed});
    case Event::kSelfTestFail:
      if (phase != P::kTrial) {
        return Ignored(phase);
      }
      // The rolled_back report is made after the reset, from the old image (see kBootedIntoOld).
      return Make(P::kRollingBack, {A::kPersist, A::kReject, A::kReboot});
    case Event::kRejectFailed:
      if (phase != P::kRollingBack) {
        return Ignored(phase);
      }
      // This image is the only bootable one: confirming it is what keeps the device alive.
      return Make(P::kIdle, {A::kConfirm, A::kPersist, A::kCountFailure, A::kSendReports},
                  {E::kFailed}, "rollback: self-test failed but no image to roll back to");
    case Event::kReportSent:
    case Event::kReportFailed:
      switch (phase) {
        case P::kIdle:
          return Make(P::kIdle, {A::kScheduleNext});
        case P::kAwaitingReboot:
          return Make(P::kAwaitingReboot, {A::kReboot});
        case P::kChecking:
        case P::kDownloading:
        case P::kVerifying:
        case P::kTrial:
        case P::kRollingBack:
          return Ignored(phase);
      }
      break;
  }
  return Ignored(phase);
}

const char* PhaseName(Phase phase) {
  switch (phase) {
    case P::kIdle:
      return "idle";
    case P::kChecking:
      return "checking";
    case P::kDownloading:
      return "downloading";
    case P::kVerifying:
      return "verifying";
    case P::kAwaitingReboot:
      return "awaiting_reboot";
    case P::kTrial:
      return "trial";
    case P::kRollingBack:
      return "rolling_back";
  }
  return "unknown";
}

const char* EventName(Event event) {
  switch (event) {
    case Event::kBootedIntoOld:
      return "booted_into_old";
    case Event::kBootedIntoNew:
      return "booted_into_new";
    case Event::kBootedIntoNewValid:
      return "booted_into_new_valid";
    case Event::kBootedUnknownTrial:
      return "booted_unknown_trial";
    case Event::kTimerFired:
      return "timer_fired";
    case Event::kCheckinNone:
      return "checkin_none";
    case Event::kCheckinOffer:
      return "checkin_offer";
    case Event::kCheckinRefused:
      return "checkin_refused";
    case Event::kCheckinFailed:
      return "checkin_failed";
    case Event::kDownloadProgress:
      return "download_progress";
    case Event::kDownloadDone:
      return "download_done";
    case Event::kDownloadDropped:
      return "download_dropped";
    case Event::kVerificationFailed:
      return "verification_failed";
    case Event::kInstalled:
      return "installed";
    case Event::kSelfTestPass:
      return "self_test_pass";
    case Event::kSelfTestFail:
      return "self_test_fail";
    case Event::kRejectFailed:
      return "reject_failed";
    case Event::kReportSent:
      return "report_sent";
    case Event::kReportFailed:
      return "report_failed";
  }
  return "unknown";
}

const char* ActionName(Action action) {
  switch (action) {
    case A::kPersist:
      return "persist";
    case A::kCountFailure:
      return "count_failure";
    case A::kResetFailures:
      return "reset_failures";
    case A::kScheduleNext:
      return "schedule_next";
    case A::kSendReports:
      return "send_reports";
    case A::kCheckIn:
      return "check_in";
    case A::kStartDownload:
      return "start_download";
    case A::kInstallFinish:
      return "install_finish";
    case A::kRunSelfTest:
      return "run_self_test";
    case A::kConfirm:
      return "confirm";
    case A::kReject:
      return "reject";
    case A::kReboot:
      return "reboot";
  }
  return "unknown";
}

}  // namespace aloft::agent
