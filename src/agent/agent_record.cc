#include "agent/agent_record.h"

#include <algorithm>

#include "core/crc32.h"

namespace aloft::agent {
namespace {

class Writer {
 public:
  explicit Writer(ByteSpan out) : out_(out) {}
  void U8(uint8_t v) {
    if (Room(1)) {
      StoreU8(out_, size_++, v);
    }
  }
  void U16(uint16_t v) {
    if (Room(2)) {
      StoreLe16(out_, size_, v);
      size_ += 2;
    }
  }
  void U32(uint32_t v) {
    if (Room(4)) {
      StoreLe32(out_, size_, v);
      size_ += 4;
    }
  }
  void U64(uint64_t v) {
    U32(static_cast<uint32_t>(v));
    U32(static_cast<uint32_t>(v >> 32));
  }
  void Bytes(ConstByteSpan bytes) {
    if (Room(bytes.size())) {
      std::copy(bytes.begin(), bytes.end(), out_.begin() + static_cast<std::ptrdiff_t>(size_));
      size_ += bytes.size();
    }
  }
  void Text(std::string_view text) {
    U8(static_cast<uint8_t>(text.size()));
    Bytes(AsBytes(text));
  }
  bool overflow() const { return overflow_; }
  size_t size() const { return size_; }

 private:
  bool Room(size_t n) {
    if (overflow_ || out_.size() - size_ < n) {
      overflow_ = true;
      return false;
    }
    return true;
  }
  ByteSpan out_;
  size_t size_ = 0;
  bool overflow_ = false;
};

class Reader {
 public:
  explicit Reader(ConstByteSpan bytes) : bytes_(bytes) {}
  uint8_t U8() { return Room(1) ? LoadU8(bytes_, at_++) : 0; }
  uint16_t U16() {
    if (!Room(2)) {
      return 0;
    }
    at_ += 2;
    return LoadLe16(bytes_, at_ - 2);
  }
  uint32_t U32() {
    if (!Room(4)) {
      return 0;
    }
    at_ += 4;
    return LoadLe32(bytes_, at_ - 4);
  }
  uint64_t U64() {
    const uint64_t low = U32();
    return low | (static_cast<uint64_t>(U32()) << 32);
  }
  ConstByteSpan Bytes(size_t n) {
    if (!Room(n)) {
      return {};
    }
    at_ += n;
    return bytes_.subspan(at_ - n, n);
  }
  template <size_t N>
  bool Text(core::BoundedText<N>& text) {
    const size_t n = U8();
    if (n > N) {
      range_ = true;
      return false;
    }
    const ConstByteSpan bytes = Bytes(n);
    return text.Assign({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
  }
  bool truncated() const { return truncated_; }
  bool out_of_range() const { return range_; }
  void MarkOutOfRange() { range_ = true; }
  size_t at() const { return at_; }

 private:
  bool Room(size_t n) {
    if (truncated_ || bytes_.size() - at_ < n) {
      truncated_ = true;
      return false;
    }
    return true;
  }
  ConstByteSpan bytes_;
  size_t at_ = 0;
  bool truncated_ = false;
  bool range_ = false;
};

void WriteId(Writer& w, const std::optional<int64_t>& id) {
  w.U64(static_cast<uint64_t>(id.value_or(0)));
}

std::optional<int64_t> ReadId(Reader& r, bool present) {
  const auto value = static_cast<int64_t>(r.U64());
  return present ? std::optional<int64_t>(value) : std::nullopt;
}

}  // namespace

void AgentRecord::ClearRelease() {
  phase = Phase::kIdle;
  manifest = {};
  manifest_size = 0;
  artifact_path = {};
  release_id.reset();
  rollout_id.reset();
  target_slot = static_cast<int8_t>(core::kInvalidIndex);
  target_version = {};
  offset = 0;
  reason = {};
}

void AgentRecord::QueueReport(const PendingReport& report) {
  if (report_count == kMaxPendingReports) {
    // Oldest first: the latest reports say where the device is now.
    std::move(reports.begin() + 1, reports.end(), reports.begin());
    --report_count;
    ++dropped_reports;
  }
  reports[report_count++] = report;
}

void AgentRecord::RemoveReports(std::span<const bool> acknowledged) {
  ALOFT_CHECK(acknowledged.size() == report_count);
  uint8_t kept = 0;
  for (uint8_t i = 0; i < report_count; ++i) {
    if (!acknowledged[i]) {
      reports[kept++] = reports[i];
    }
  }
  for (uint8_t i = kept; i < report_count; ++i) {
    reports[i] = PendingReport{};
  }
  report_count = kept;
}

Result<size_t> AgentRecord::SaveTo(ByteSpan out) const {
  Writer w(out);
  w.Bytes(AsBytes(kAgentRecordMagic));
  w.U8(kAgentRecordVersion);
  w.U8(static_cast<uint8_t>(PersistedPhase(phase)));
  w.U32(epoch);
  w.U32(next_seq);
  w.U16(manifest_size);
  w.Bytes(manifest_bytes());
  w.Text(artifact_path.view());
  w.U8(static_cast<uint8_t>((release_id ? 1 : 0) | (rollout_id ? 2 : 0)));
  WriteId(w, release_id);
  WriteId(w, rollout_id);
  w.U8(static_cast<uint8_t>(target_slot));
  w.Text(target_version.view());
  w.U32(offset);
  w.Text(reason.view());
  w.U32(dropped_reports);
  w.U8(report_count);
  for (const PendingReport& report : pending()) {
    w.U32(report.seq);
    w.U8(static_cast<uint8_t>(report.state));
    w.U8(static_cast<uint8_t>((report.progress ? 1 : 0) | (report.bytes ? 2 : 0) |
                              (report.release_id ? 4 : 0) | (report.rollout_id ? 8 : 0)));
    w.U8(report.progress.value_or(0));
    w.U32(report.bytes.value_or(0));
    w.Text(report.reason.view());
    w.Text(report.version.view());
    WriteId(w, report.release_id);
    WriteId(w, report.rollout_id);
    w.U64(report.time_ms);
  }
  if (w.overflow() || out.size() - w.size() < 4) {
    return ResourceExhausted("agent record: buffer too small");
  }
  const size_t body = w.size();
  StoreLe32(out, body, EspRomCrc32Le(0, out.first(body)));
  return body + 4;
}

Status AgentRecord::LoadFrom(ConstByteSpan bytes) {
  if (bytes.size() < kAgentRecordMagic.size() + 1 + 4) {
    return DataLoss("agent record: truncated");
  }
  if (!std::equal(kAgentRecordMagic.begin(), kAgentRecordMagic.end(),
                  reinterpret_cast<const char*>(bytes.data()))) {
    return DataLoss("agent record: bad magic");
  }
  if (LoadU8(bytes, 4) != kAgentRecordVersion) {
    return DataLoss("agent record: unknown version");
  }
  const ConstByteSpan body = bytes.first(bytes.size() - 4);
  if (EspRomCrc32Le(0, body) != LoadLe32(bytes, body.size())) {
    return DataLoss("agent record: crc mismatch");
  }
  *this = AgentRecord{};
  Reader r(body);
  r.Bytes(5);
  const uint8_t phase_value = r.U8();
  if (phase_value >= kPhaseCount || static_cast<Phase>(phase_value) == Phase::kChecking) {
    r.MarkOutOfRange();
  }
  phase = static_cast<Phase>(phase_value);
  epoch = r.U32();
  next_seq = r.U32();
  manifest_size = r.U16();
  if (manifest_size > manifest.size()) {
    return DataLoss("agent record: field out of range");
  }
  const ConstByteSpan manifest_in = r.Bytes(manifest_size);
  std::copy(manifest_in.begin(), manifest_in.end(), manifest.begin());
  r.Text(artifact_path);
  const uint8_t id_flags = r.U8();
  release_id = ReadId(r, (id_flags & 1) != 0);
  rollout_id = ReadId(r, (id_flags & 2) != 0);
  target_slot = static_cast<int8_t>(r.U8());
  r.Text(target_version);
  offset = r.U32();
  r.Text(reason);
  dropped_reports = r.U32();
  report_count = r.U8();
  if (report_count > kMaxPendingReports) {
    return DataLoss("agent record: field out of range");
  }
  for (uint8_t i = 0; i < report_count && !r.truncated(); ++i) {
    PendingReport& report = reports[i];
    report.seq = r.U32();
    const uint8_t state = r.U8();
    if (state >= kEventStateCount) {
      r.MarkOutOfRange();
    }
    report.state = static_cast<EventState>(state);
    const uint8_t flags = r.U8();
    const uint8_t progress = r.U8();
    if ((flags & 1) != 0) {
      if (progress > 100) {
        r.MarkOutOfRange();
      }
      report.progress = progress;
    }
    const uint32_t byte_count = r.U32();
    if ((flags & 2) != 0) {
      report.bytes = byte_count;
    }
    r.Text(report.reason);
    r.Text(report.version);
    report.release_id = ReadId(r, (flags & 4) != 0);
    report.rollout_id = ReadId(r, (flags & 8) != 0);
    report.time_ms = r.U64();
  }
  if (r.truncated()) {
    return DataLoss("agent record: truncated");
  }
  if (r.out_of_range()) {
    return DataLoss("agent record: field out of range");
  }
  if (r.at() != body.size()) {
    return DataLoss("agent record: trailing bytes");
  }
  return OkStatus();
}

size_t FormatReportId(uint32_t epoch, uint32_t seq, std::span<char, 20> out) {
  constexpr char kDigits[] = "0123456789abcdef";
  size_t n = 0;
  for (int shift = 28; shift >= 0; shift -= 4) {
    out[n++] = kDigits[(epoch >> shift) & 0xF];
  }
  out[n++] = '-';
  char digits[10];
  size_t count = 0;
  do {
    digits[count++] = static_cast<char>('0' + seq % 10);
    seq /= 10;
  } while (seq != 0);
  while (count > 0) {
    out[n++] = digits[--count];
  }
  return n;
}

}  // namespace aloft::agent
