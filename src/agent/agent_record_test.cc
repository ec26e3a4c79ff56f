#include "agent/agent_record.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "support/status_testing.h"

namespace aloft::agent {
namespace {

PendingReport Report(uint32_t seq, EventState state) {
  PendingReport report;
  report.seq = seq;
  report.state = state;
  report.progress = 40;
  report.bytes = 123456;
  EXPECT_TRUE(report.reason.Assign("update: image sha256 differs from the manifest"));
  EXPECT_TRUE(report.version.Assign("1.0.0"));
  report.release_id = 7;
  report.time_ms = 1767225600000;
  return report;
}

AgentRecord Full() {
  AgentRecord record;
  record.phase = Phase::kDownloading;
  record.epoch = 0xdeadbeef;
  record.next_seq = 42;
  record.manifest_size = core::kMaxManifestSize;
  for (size_t i = 0; i < record.manifest.size(); ++i) {
    record.manifest[i] = static_cast<std::byte>(i);
  }
  EXPECT_TRUE(record.artifact_path.Assign(std::string(kMaxArtifactPathSize, 'p')));
  record.release_id = 9;
  record.rollout_id = -1;
  record.target_slot = 1;
  EXPECT_TRUE(record.target_version.Assign(std::string(32, 'v')));
  record.offset = 0x123000;
  EXPECT_TRUE(record.reason.Assign(std::string(kMaxReasonSize, 'r')));
  record.dropped_reports = 3;
  for (uint32_t i = 0; i < kMaxPendingReports; ++i) {
    PendingReport report = Report(i, static_cast<EventState>(i % kEventStateCount));
    EXPECT_TRUE(report.reason.Assign(std::string(kMaxReasonSize, 'x')));
    EXPECT_TRUE(report.version.Assign(std::string(32, 'y')));
    report.rollout_id = 5;
    record.QueueReport(report);
  }
  return record;
}

TEST(AgentRecord, FullRecord_RoundTripsAtItsMaximumSize) {
  const AgentRecord record = Full();
  std::array<std::byte, kMaxAgentRecordSize> bytes{};
  Result<size_t> size = record.SaveTo(bytes);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, kMaxAgentRecordSize);
  AgentRecord back;
  ASSERT_TRUE(back.LoadFrom(ConstByteSpan(bytes).first(*size)).ok());
  EXPECT_TRUE(back == record);
  std::array<std::byte, kMaxAgentRecordSize - 1> small{};
  EXPECT_STATUS(record.SaveTo(small).status(), ResourceExhausted("agent record: buffer too small"));
}

TEST(AgentRecord, CheckingIsSavedAsIdle) {
  AgentRecord record;
  record.phase = Phase::kChecking;
  std::array<std::byte, kMaxAgentRecordSize> bytes{};
  Result<size_t> size = record.SaveTo(bytes);
  ASSERT_TRUE(size.ok());
  AgentRecord back;
  ASSERT_TRUE(back.LoadFrom(ConstByteSpan(bytes).first(*size)).ok());
  EXPECT_EQ(back.phase, Phase::kIdle);
}

TEST(AgentRecord, EveryCorruptedByteOrTruncation_IsDataLoss) {
  AgentRecord record;
  record.phase = Phase::kTrial;
  record.QueueReport(Report(1, EventState::kConfirmed));
  std::array<std::byte, kMaxAgentRecordSize> bytes{};
  const size_t size = record.SaveTo(bytes).value();
  for (size_t i = 0; i < size; ++i) {
    std::array<std::byte, kMaxAgentRecordSize> copy = bytes;
    copy[i] ^= std::byte{0x10};
    AgentRecord back;
    const Status status = back.LoadFrom(ConstByteSpan(copy).first(size));
    EXPECT_EQ(status.code(), Status::Code::kDataLoss) << "byte " << i;
  }
  for (size_t length = 0; length < size; ++length) {
    AgentRecord back;
    EXPECT_EQ(back.LoadFrom(ConstByteSpan(bytes).first(length)).code(), Status::Code::kDataLoss)
        << length;
  }
}

TEST(AgentRecord, FullQueue_DropsTheOldestAndCountsIt) {
  AgentRecord record;
  for (uint32_t i = 0; i < kMaxPendingReports + 3; ++i) {
    record.QueueReport(Report(i, EventState::kDownloading));
  }
  EXPECT_EQ(record.report_count, kMaxPendingReports);
  EXPECT_EQ(record.dropped_reports, 3u);
  EXPECT_EQ(record.reports[0].seq, 3u);
  EXPECT_EQ(record.reports[kMaxPendingReports - 1].seq, kMaxPendingReports + 2);
}

TEST(AgentRecord, RemoveReports_KeepsTheUnacknowledgedInOrder) {
  AgentRecord record;
  for (uint32_t i = 0; i < 5; ++i) {
    record.QueueReport(Report(i, EventState::kDownloading));
  }
  const bool acked[] = {true, false, true, false, true};
  record.RemoveReports(acked);
  ASSERT_EQ(record.report_count, 2);
  EXPECT_EQ(record.reports[0].seq, 1u);
  EXPECT_EQ(record.reports[1].seq, 3u);
}

TEST(AgentRecord, ReportIds_AreEpochAndSequence) {
  std::array<char, 20> id{};
  size_t n = FormatReportId(0x00c0ffee, 0, id);
  EXPECT_EQ(std::string(id.data(), n), "00c0ffee-0");
  n = FormatReportId(0xffffffff, 4294967295u, id);
  EXPECT_EQ(std::string(id.data(), n), "ffffffff-4294967295");
}

}  // namespace
}  // namespace aloft::agent
