#pragma once
// AgentRecord: everything the agent must remember across a reset, kept in ONE KeyValue record so
// that one atomic write (port::KeyValue's promise) commits a transition together with the
// reports it queues: after a power cut the record is the old one or the new one, never a new
// phase without its report or a report without its phase. What is in it and why: README.md.
//
// Byte layout (little-endian, version 1), then a CRC-32 (EspRomCrc32Le) of everything before it:
//   "ALAG" u8 version u8 phase u32 epoch u32 next_seq
//   u16 manifest size + bytes (canonical, verified when accepted; 0 for an adopted image)
//   u8 len + artifact path | u8 id flags (1 release, 2 rollout) | i64 release_id | i64 rollout_id
//   i8 target slot | u8 len + target version | u32 offset | u8 len + reason | u32 dropped reports
//   u8 report count, then per report: u32 seq | u8 state | u8 flags (1 progress, 2 bytes,
//   4 release, 8 rollout) | u8 progress | u32 bytes | u8 len + reason | u8 len + version |
//   i64 release_id | i64 rollout_id | u64 time_ms
// No heap. A plain value (about 3.5 KiB: keep it out of small stacks).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "agent/agent_state.h"
#include "agent/protocol.h"
#include "core/boot/slot_layout.h"
#include "core/bytes.h"
#include "core/release/manifest.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::agent {

inline constexpr std::string_view kAgentRecordMagic = "ALAG";
inline constexpr uint8_t kAgentRecordVersion = 1;
inline constexpr size_t kMaxPendingReports = 16;
inline constexpr size_t kVersionTextMax = core::kManifestTextMax;
static_assert(kMaxPendingReports <= kMaxEventsPerRequest, "all queued reports fit one request");

using ReasonText = core::BoundedText<kMaxReasonSize>;
using VersionText = core::BoundedText<kVersionTextMax>;

// A report waiting to be acknowledged by the server. Its id is "<epoch as 8 hex>-<seq>".
struct PendingReport {
  uint32_t seq = 0;
  EventState state = EventState::kDownloading;
  std::optional<uint8_t> progress;
  std::optional<uint32_t> bytes;
  ReasonText reason;
  VersionText version;  // what the device was running when it happened
  std::optional<int64_t> release_id;
  std::optional<int64_t> rollout_id;
  uint64_t time_ms = 0;

  friend bool operator==(const PendingReport&, const PendingReport&) = default;
};

inline constexpr size_t kPendingReportMaxBytes =
    4 + 1 + 1 + 1 + 4 + (1 + kMaxReasonSize) + (1 + kVersionTextMax) + 8 + 8 + 8;
inline constexpr size_t kMaxAgentRecordSize = 4 + 1 + 1 + 4 + 4 + (2 + core::kMaxManifestSize) +
                                              (1 + kMaxArtifactPathSize) + 1 + 8 + 8 + 1 +
                                              (1 + kVersionTextMax) + 4 + (1 + kMaxReasonSize) + 4 +
                                              1 + kMaxPendingReports * kPendingReportMaxBytes + 4;
static_assert(kMaxAgentRecordSize == 3281);

struct AgentRecord {
  Phase phase = Phase::kIdle;  // never kChecking (PersistedPhase)
  // Chosen at random when the record is first made: with the sequence number it makes report
  // ids unique per device even after the store is wiped and the sequence starts again.
  uint32_t epoch = 0;
  uint32_t next_seq = 1;

  // The release in progress (phase != kIdle).
  std::array<std::byte, core::kMaxManifestSize> manifest{};
  uint16_t manifest_size = 0;
  core::BoundedText<kMaxArtifactPathSize> artifact_path;
  std::optional<int64_t> release_id;
  std::optional<int64_t> rollout_id;
  int8_t target_slot = static_cast<int8_t>(core::kInvalidIndex);
  VersionText target_version;
  uint32_t offset = 0;  // bytes durably in the target slot (StreamInstaller::written())
  ReasonText reason;    // why the self-test failed, for the rolled_back report after the reset

  uint32_t dropped_reports = 0;  // reports lost because the queue was full (oldest first)
  std::array<PendingReport, kMaxPendingReports> reports{};
  uint8_t report_count = 0;

  ConstByteSpan manifest_bytes() const { return ConstByteSpan(manifest).first(manifest_size); }
  std::span<const PendingReport> pending() const { return {reports.data(), report_count}; }

  // Forgets the release in progress (back to idle); reports and ids stay.
  void ClearRelease();
  // Appends a report; when the queue is full the oldest is dropped and counted.
  void QueueReport(const PendingReport& report);
  // Removes every report whose flag is set, keeping the order of the rest.
  // REQUIRES: acknowledged.size() == report_count.
  void RemoveReports(std::span<const bool> acknowledged);

  // Writes the layout above to `out`; returns its size. kResourceExhausted "agent record:
  // buffer too small". Always fits kMaxAgentRecordSize.
  Result<size_t> SaveTo(ByteSpan out) const;
  // Replaces *this with the record in `bytes` (a method rather than a Result, so 3 KiB are not
  // copied through the stack). kDataLoss "agent record: bad magic", "agent record: unknown
  // version", "agent record: truncated", "agent record: crc mismatch", "agent record: field out
  // of range", "agent record: trailing bytes". On error *this is unspecified.
  Status LoadFrom(ConstByteSpan bytes);

  friend bool operator==(const AgentRecord&, const AgentRecord&) = default;
};

// "<epoch as 8 lower-case hex>-<seq decimal>" into `out`; returns the length (at most 19).
size_t FormatReportId(uint32_t epoch, uint32_t seq, std::span<char, 20> out);

}  // namespace aloft::agent
