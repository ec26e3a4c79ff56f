#include "agent/agent_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace aloft::agent {
namespace {

std::vector<Phase> AllPhases() {
  std::vector<Phase> phases;
  for (size_t i = 0; i < kPhaseCount; ++i) {
    phases.push_back(static_cast<Phase>(i));
  }
  return phases;
}

std::vector<Event> AllEvents() {
  std::vector<Event> events;
  for (size_t i = 0; i < kEventCount; ++i) {
    events.push_back(static_cast<Event>(i));
  }
  return events;
}

bool Has(const Transition& t, Action action) {
  const auto list = t.action_list();
  return std::find(list.begin(), list.end(), action) != list.end();
}

int IndexOf(const Transition& t, Action action) {
  const auto list = t.action_list();
  return static_cast<int>(std::find(list.begin(), list.end(), action) - list.begin());
}

std::string Describe(Phase phase, Event event) {
  return std::string(PhaseName(phase)) + " x " + EventName(event);
}

// The events the last action of a transition can produce (empty: it produces none by itself).
std::vector<Event> OutcomesOf(Action action) {
  switch (action) {
    case Action::kCheckIn:
      return {Event::kCheckinNone, Event::kCheckinOffer, Event::kCheckinRefused,
              Event::kCheckinFailed};
    case Action::kStartDownload:
      return {Event::kDownloadProgress, Event::kDownloadDone, Event::kDownloadDropped,
              Event::kVerificationFailed};
    case Action::kInstallFinish:
      return {Event::kInstalled, Event::kVerificationFailed};
    case Action::kRunSelfTest:
      return {Event::kSelfTestPass, Event::kSelfTestFail};
    case Action::kSendReports:
      return {Event::kReportSent, Event::kReportFailed};
    case Action::kScheduleNext:
      return {Event::kTimerFired};
    case Action::kReboot:
      return {Event::kBootedIntoOld, Event::kBootedIntoNew, Event::kBootedIntoNewValid,
              Event::kBootedUnknownTrial};
    case Action::kReject:
      return {Event::kRejectFailed};
    case Action::kPersist:
    case Action::kCountFailure:
    case Action::kResetFailures:
    case Action::kConfirm:
      return {};
  }
  return {};
}

TEST(Decide, EveryStateAndEvent_KeepsTheInvariants) {
  size_t checked = 0;
  for (Phase phase : AllPhases()) {
    for (Event event : AllEvents()) {
      const Transition t = Decide(phase, event);
      const std::string where = Describe(phase, event);
      ++checked;
      ASSERT_GE(t.action_count, 1) << where;
      // Reports are queued by the record write, so a transition with reports persists.
      if (t.report_count > 0) {
        EXPECT_TRUE(Has(t, Action::kPersist)) << where;
      }
      // A change of the durable phase is written down.
      if (PersistedPhase(t.next) != PersistedPhase(phase)) {
        EXPECT_TRUE(Has(t, Action::kPersist)) << where;
      }
      // Flash is only touched in the phase that owns the work, after the intent is durable.
      if (Has(t, Action::kStartDownload)) {
        EXPECT_EQ(t.next, Phase::kDownloading) << where;
      }
      if (Has(t, Action::kInstallFinish)) {
        EXPECT_EQ(t.next, Phase::kVerifying) << where;
      }
      if (Has(t, Action::kReject)) {
        EXPECT_EQ(t.next, Phase::kRollingBack) << where;
      }
      for (Action flash : {Action::kStartDownload, Action::kInstallFinish, Action::kReject}) {
        if (Has(t, flash) && Has(t, Action::kPersist)) {
          EXPECT_LT(IndexOf(t, Action::kPersist), IndexOf(t, flash)) << where;
        }
      }
      // Confirm only for a running image on trial, and before the record moves past it.
      if (Has(t, Action::kConfirm)) {
        EXPECT_TRUE(phase == Phase::kTrial || phase == Phase::kRollingBack) << where;
        EXPECT_LT(IndexOf(t, Action::kConfirm), IndexOf(t, Action::kPersist)) << where;
      }
      // A reset is asked for only with the boot slot switched or the running image rejected.
      if (Has(t, Action::kReboot)) {
        EXPECT_TRUE(t.next == Phase::kAwaitingReboot || t.next == Phase::kRollingBack) << where;
        EXPECT_EQ(t.action_list().back(), Action::kReboot) << where;
      }
      // Liveness: the last action brings the next event, and the next phase handles each event
      // it can bring (a progress report is the exception: the transfer goes on by itself).
      if (event == Event::kDownloadProgress && phase == Phase::kDownloading) {
        EXPECT_EQ(t.action_count, 1) << where;
        continue;
      }
      const std::vector<Event> outcomes = OutcomesOf(t.action_list().back());
      EXPECT_FALSE(outcomes.empty()) << where << " ends in " << ActionName(t.action_list().back());
      for (Event outcome : outcomes) {
        if (outcome == Event::kTimerFired || t.action_list().back() == Action::kReboot) {
          continue;  // handled in every phase (Resume); boots are checked below
        }
        EXPECT_FALSE(Decide(t.next, outcome).ignored)
            << where << " -> " << PhaseName(t.next) << " cannot handle " << EventName(outcome);
      }
      // Failures and rollbacks always come with a reason (given here or by the failing action).
      for (EventState report : t.report_list()) {
        if (report == EventState::kFailed || report == EventState::kRolledBack) {
          EXPECT_TRUE(t.reason != nullptr || event == Event::kCheckinRefused ||
                      event == Event::kVerificationFailed ||
                      (phase == Phase::kRollingBack && event == Event::kBootedIntoOld))
              << where;
        }
      }
      // An ignored event changes nothing durable and only waits.
      if (t.ignored) {
        EXPECT_EQ(PersistedPhase(t.next), PersistedPhase(phase)) << where;
        EXPECT_EQ(t.action_count, 1) << where;
        EXPECT_EQ(t.actions[0], Action::kScheduleNext) << where;
      }
    }
  }
  EXPECT_EQ(checked, kPhaseCount * kEventCount);
}

TEST(Decide, BootEvents_AreNeverIgnored) {
  for (Phase phase : AllPhases()) {
    for (Event event : {Event::kBootedIntoOld, Event::kBootedIntoNew, Event::kBootedIntoNewValid,
                        Event::kBootedUnknownTrial, Event::kTimerFired}) {
      EXPECT_FALSE(Decide(phase, event).ignored) << Describe(phase, event);
    }
  }
}

TEST(Decide, OutcomeEvents_AreIgnoredOutsideTheirPhase) {
  struct Row {
    Event event;
    std::vector<Phase> handled_in;
  };
  const Row rows[] = {
      {Event::kCheckinNone, {Phase::kChecking}},
      {Event::kCheckinOffer, {Phase::kChecking}},
      {Event::kCheckinRefused, {Phase::kChecking}},
      {Event::kCheckinFailed, {Phase::kChecking}},
      {Event::kDownloadProgress, {Phase::kDownloading}},
      {Event::kDownloadDone, {Phase::kDownloading}},
      {Event::kDownloadDropped, {Phase::kDownloading}},
      {Event::kVerificationFailed, {Phase::kDownloading, Phase::kVerifying}},
      {Event::kInstalled, {Phase::kVerifying}},
      {Event::kSelfTestPass, {Phase::kTrial}},
      {Event::kSelfTestFail, {Phase::kTrial}},
      {Event::kRejectFailed, {Phase::kRollingBack}},
      {Event::kReportSent, {Phase::kIdle, Phase::kAwaitingReboot}},
      {Event::kReportFailed, {Phase::kIdle, Phase::kAwaitingReboot}},
  };
  for (const Row& row : rows) {
    for (Phase phase : AllPhases()) {
      const bool handled =
          std::find(row.handled_in.begin(), row.handled_in.end(), phase) != row.handled_in.end();
      EXPECT_EQ(Decide(phase, row.event).ignored, !handled) << Describe(phase, row.event);
    }
  }
}

struct Expected {
  Phase phase;
  Event event;
  Phase next;
  std::vector<Action> actions;
  std::vector<EventState> reports;
};

TEST(Decide, TheUpdatePath_ReadsAsTheDesign) {
  using A = Action;
  using E = EventState;
  using P = Phase;
  const Expected rows[] = {
      {P::kIdle, Event::kBootedIntoOld, P::kIdle, {A::kScheduleNext}, {}},
      {P::kIdle, Event::kTimerFired, P::kChecking, {A::kSendReports, A::kCheckIn}, {}},
      {P::kChecking, Event::kCheckinNone, P::kIdle, {A::kResetFailures, A::kScheduleNext}, {}},
      {P::kChecking, Event::kCheckinFailed, P::kIdle, {A::kCountFailure, A::kScheduleNext}, {}},
      {P::kChecking,
       Event::kCheckinOffer,
       P::kDownloading,
       {A::kPersist, A::kSendReports, A::kStartDownload},
       {E::kDownloading}},
      {P::kChecking,
       Event::kCheckinRefused,
       P::kIdle,
       {A::kPersist, A::kCountFailure, A::kSendReports},
       {E::kFailed}},
      {P::kDownloading, Event::kDownloadProgress, P::kDownloading, {A::kPersist}, {}},
      {P::kDownloading,
       Event::kDownloadDropped,
       P::kDownloading,
       {A::kPersist, A::kCountFailure, A::kScheduleNext},
       {}},
      {P::kDownloading, Event::kTimerFired, P::kDownloading, {A::kStartDownload}, {}},
      {P::kDownloading, Event::kBootedIntoOld, P::kDownloading, {A::kStartDownload}, {}},
      {P::kDownloading,
       Event::kDownloadDone,
       P::kVerifying,
       {A::kPersist, A::kInstallFinish},
       {E::kDownloaded}},
      {P::kDownloading,
       Event::kVerificationFailed,
       P::kIdle,
       {A::kPersist, A::kCountFailure, A::kSendReports},
       {E::kFailed}},
      {P::kVerifying, Event::kBootedIntoOld, P::kVerifying, {A::kInstallFinish}, {}},
      {P::kVerifying,
       Event::kInstalled,
       P::kAwaitingReboot,
       {A::kPersist, A::kSendReports},
       {E::kVerified, E::kRebooting}},
      {P::kVerifying, Event::kBootedIntoNew, P::kTrial, {A::kPersist, A::kRunSelfTest}, {}},
      {P::kAwaitingReboot, Event::kReportSent, P::kAwaitingReboot, {A::kReboot}, {}},
      {P::kAwaitingReboot, Event::kReportFailed, P::kAwaitingReboot, {A::kReboot}, {}},
      {P::kAwaitingReboot, Event::kBootedIntoNew, P::kTrial, {A::kPersist, A::kRunSelfTest}, {}},
      {P::kAwaitingReboot,
       Event::kBootedIntoOld,
       P::kIdle,
       {A::kPersist, A::kCountFailure, A::kSendReports},
       {E::kRolledBack}},
      {P::kTrial,
       Event::kSelfTestPass,
       P::kIdle,
       {A::kConfirm, A::kPersist, A::kResetFailures, A::kSendReports},
       {E::kConfirmed}},
      {P::kTrial, Event::kSelfTestFail, P::kRollingBack, {A::kPersist, A::kReject, A::kReboot}, {}},
      {P::kTrial,
       Event::kBootedIntoOld,
       P::kIdle,
       {A::kPersist, A::kCountFailure, A::kSendReports},
       {E::kRolledBack}},
      {P::kTrial,
       Event::kBootedIntoNewValid,
       P::kIdle,
       {A::kPersist, A::kResetFailures, A::kSendReports},
       {E::kConfirmed}},
      {P::kRollingBack,
       Event::kBootedIntoOld,
       P::kIdle,
       {A::kPersist, A::kCountFailure, A::kSendReports},
       {E::kRolledBack}},
      {P::kRollingBack,
       Event::kRejectFailed,
       P::kIdle,
       {A::kConfirm, A::kPersist, A::kCountFailure, A::kSendReports},
       {E::kFailed}},
      {P::kIdle, Event::kBootedUnknownTrial, P::kTrial, {A::kPersist, A::kRunSelfTest}, {}},
      {P::kIdle, Event::kReportSent, P::kIdle, {A::kScheduleNext}, {}},
  };
  for (const Expected& row : rows) {
    const Transition t = Decide(row.phase, row.event);
    const std::string where = Describe(row.phase, row.event);
    EXPECT_FALSE(t.ignored) << where;
    EXPECT_EQ(t.next, row.next) << where;
    EXPECT_EQ(std::vector<Action>(t.action_list().begin(), t.action_list().end()), row.actions)
        << where;
    EXPECT_EQ(std::vector<EventState>(t.report_list().begin(), t.report_list().end()), row.reports)
        << where;
  }
}

TEST(Decide, RollbackReasons_NameWhatHappened) {
  EXPECT_STREQ(Decide(Phase::kAwaitingReboot, Event::kBootedIntoOld).reason,
               "rollback: the new firmware did not boot");
  EXPECT_STREQ(Decide(Phase::kTrial, Event::kBootedIntoOld).reason,
               "rollback: the new firmware reset before confirming");
  EXPECT_EQ(Decide(Phase::kRollingBack, Event::kBootedIntoOld).reason, nullptr);
}

}  // namespace
}  // namespace aloft::agent
