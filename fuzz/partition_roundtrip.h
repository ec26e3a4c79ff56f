#pragma once
// Shared checks for the partition-table fuzzers: whatever parses must encode, decode and (when
// its names survive CSV) print and re-parse to the very same binary. Aborts on a broken
// invariant so libFuzzer records the input.

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "core/format/partition_csv.h"
#include "core/format/partition_table.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::fuzz {

using namespace ::aloft::core;  // NOLINT(build/namespaces)

inline void Require(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "invariant broken: %s\n", what);
    std::abort();
  }
}

class StringSink final : public PartitionCsvSink {
 public:
  Status Write(std::string_view text) override {
    text_.append(text);
    return OkStatus();
  }
  std::string text_;
};

// Names that a CSV line carries unchanged: no separators, no whitespace to trim, no comment or
// variable at the line start.
inline bool CsvSafeName(std::string_view name) {
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

// The name the binary reader gives back: the label, cut at its first NUL.
inline std::string_view StoredName(const Partition& p) {
  const std::string_view label = p.label();
  return label.substr(0, label.find('\0'));
}

inline bool LabelsAreUtf8(const PartitionTable& table) {
  for (const Partition& p : table.entries()) {
    // A label cut inside a UTF-8 sequence: the binary reader rejects it, as the tool does.
    const std::string_view label = StoredName(p);
    size_t i = label.size();
    size_t continuation = 0;
    while (i > 0 && (static_cast<uint8_t>(label[i - 1]) & 0xC0) == 0x80) {
      --i;
      ++continuation;
    }
    if (i > 0) {
      const auto lead = static_cast<uint8_t>(label[i - 1]);
      const size_t need = lead >= 0xF0 ? 3 : lead >= 0xE0 ? 2 : lead >= 0xC0 ? 1 : 0;
      if (need != continuation) {
        return false;
      }
    }
  }
  return true;
}

// Encodes `table`, decodes it again, and checks the rows survive; then prints the decoded table
// as CSV and, when every name survives CSV and the rows are in offset order, checks the CSV
// parses back to the same bytes. Returns nothing: any broken invariant aborts.
inline void CheckRoundTrip(const PartitionTable& table, port::Crypto& crypto) {
  (void)ValidatePartitionTable(table, {});
  std::array<PartitionWarning, 8> warnings{};
  (void)FindPartitionWarnings(table, warnings);
  (void)AppOtaSlotCount(table);
  (void)BootloaderOtaSlotCount(table);

  std::array<std::byte, kPartitionTableBinarySize> image{};
  const Status encoded = SerializePartitionTableBinary(table, crypto, image);
  if (!encoded.ok()) {
    Require(table.size() >= kMaxPartitionEntriesWithMd5 + 1, "only E may stop the encoder");
    return;
  }
  Result<PartitionTable> decoded = ParsePartitionTableBinary(image, crypto);
  if (!LabelsAreUtf8(table)) {
    Require(!decoded.ok(), "a label cut inside UTF-8 must not decode");
    return;
  }
  Require(decoded.ok(), "an encoded table decodes");
  Require(decoded->size() == table.size(), "row count survives");
  bool safe = true;
  bool sorted = true;
  for (size_t i = 0; i < table.size(); ++i) {
    const Partition& a = table[i];
    const Partition& b = (*decoded)[i];
    Require(StoredName(a) == b.name() && a.type == b.type && a.subtype == b.subtype &&
                a.offset == b.offset && a.size == b.size && a.flags == b.flags,
            "rows survive encoding");
    safe = safe && CsvSafeName(b.name()) && b.type != kPartitionTypeBootloader &&
           b.type != kPartitionTypePartitionTable;
    sorted = sorted && (i == 0 || (*decoded)[i - 1].end() <= b.offset);
  }

  StringSink sink;
  Require(WritePartitionCsv(*decoded, sink).ok(), "a table prints");
  if (!safe || !sorted || decoded->empty() ||
      (*decoded)[0].offset < kDefaultPartitionTableOffset + kPartitionTableSectorSize) {
    return;
  }
  // Bytes after a label's NUL do not survive a trip through text (nor in gen_esp32part.py), so
  // the identity is checked against the decoded table's own encoding.
  std::array<std::byte, kPartitionTableBinarySize> decoded_image{};
  Require(SerializePartitionTableBinary(*decoded, crypto, decoded_image).ok(),
          "a decoded table encodes");
  Result<PartitionTable> reparsed = ParsePartitionCsv(sink.text_, {});
  Require(reparsed.ok(), "a printed table parses");
  std::array<std::byte, kPartitionTableBinarySize> again{};
  Require(SerializePartitionTableBinary(*reparsed, crypto, again).ok(), "a reparsed table encodes");
  Require(again == decoded_image, "binary -> CSV -> binary is the identity");
}

}  // namespace aloft::fuzz
