#pragma once
// The ESP-IDF partition table: its binary form (the 0xC00 bytes at CONFIG_PARTITION_TABLE_OFFSET),
// the in-memory table, the checks gen_esp32part.py runs on it, and the lookups the flash image
// builder, the boot logic and the emulator need. The CSV form is in partition_csv.h.
//
// Byte-compatible with ESP-IDF v5.5's components/partition_table/gen_esp32part.py (the
// reference: where this file and the tool disagree, it is a bug here unless listed under
// "Divergences" in docs/formats/partition-table.md). Spec: ../shared/spec/esp-idf-ota.md §1.
// Vectors: tests/vectors/partition-table/.
//
// Binary layout (little-endian), one 32-byte row per partition, in table (CSV) order:
//
//   0      2     3        4        8        12                 28       32
//   +------+-----+--------+--------+--------+------------------+--------+
//   |AA 50 |type |subtype | offset |  size  | label (16 bytes, | flags  |
//   |      |     |        |  u32   |  u32   |  NUL-padded)     |  u32   |
//   +------+-----+--------+--------+--------+------------------+--------+
//
// then one MD5 row (EB EB, 14 x FF, MD5 of every entry row before it), then 0xFF up to 0xC00.
// The first all-0xFF row ends the table. The last 1 KiB of the 4 KiB sector is left for a
// Secure Boot v1 signature and never written here.
//
// No heap: a PartitionTable is a fixed array of kMaxPartitionEntries entries (about 8.5 KB).
// Every function here is pure apart from the hashing it asks of port::Crypto; none keeps state,
// so all may be called from any thread on distinct or const tables.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

// ---- Sizes and magics (spec §1.1) ----

inline constexpr size_t kPartitionEntrySize = 32;
// What the tool writes: entries, MD5 row, 0xFF padding (MAX_PARTITION_LENGTH).
inline constexpr size_t kPartitionTableBinarySize = 0xC00;
// The flash sector the table occupies (PARTITION_TABLE_SIZE); partitions start after it.
inline constexpr uint32_t kPartitionTableSectorSize = 0x1000;
inline constexpr uint32_t kDefaultPartitionTableOffset = 0x8000;
// The tool fails when rows x 32 (+32 for the MD5 row) >= 0xC00.
inline constexpr size_t kMaxPartitionEntries = kPartitionTableBinarySize / kPartitionEntrySize - 1;
inline constexpr size_t kMaxPartitionEntriesWithMd5 = kMaxPartitionEntries - 1;
static_assert(kMaxPartitionEntries == 95 && kMaxPartitionEntriesWithMd5 == 94);

inline constexpr uint16_t kPartitionMagic = 0x50AA;     // bytes AA 50
inline constexpr uint16_t kPartitionMd5Magic = 0xEBEB;  // bytes EB EB

// Field offsets inside one 32-byte row.
inline constexpr size_t kPartitionMagicOffset = 0;
inline constexpr size_t kPartitionTypeOffset = 2;
inline constexpr size_t kPartitionSubtypeOffset = 3;
inline constexpr size_t kPartitionOffsetOffset = 4;
inline constexpr size_t kPartitionSizeOffset = 8;
inline constexpr size_t kPartitionLabelOffset = 12;
inline constexpr size_t kPartitionLabelSize = 16;
inline constexpr size_t kPartitionFlagsOffset = 28;
inline constexpr size_t kPartitionMd5DigestOffset = 16;  // in the MD5 row
inline constexpr size_t kPartitionMd5DigestSize = 16;
static_assert(kPartitionFlagsOffset + 4 == kPartitionEntrySize);
static_assert(kPartitionMd5DigestOffset + kPartitionMd5DigestSize == kPartitionEntrySize);

// How much of a CSV name is kept. The binary label is the first kPartitionLabelSize bytes.
inline constexpr size_t kPartitionNameCapacity = 64;

// ---- Types, subtypes, flags (spec §1.2, §1.3) ----

inline constexpr uint8_t kPartitionTypeApp = 0x00;
inline constexpr uint8_t kPartitionTypeData = 0x01;
inline constexpr uint8_t kPartitionTypeBootloader = 0x02;
inline constexpr uint8_t kPartitionTypePartitionTable = 0x03;

inline constexpr uint8_t kAppSubtypeFactory = 0x00;
inline constexpr uint8_t kAppSubtypeOtaMin = 0x10;  // ota_0; ota_k = 0x10 + k
inline constexpr uint8_t kAppSubtypeOtaMax = 0x1F;  // ota_15
inline constexpr uint32_t kMaxOtaAppSubtypes = 16;  // ota_0..ota_15 (slot_layout.h: kMaxOtaSlots)
inline constexpr uint8_t kAppSubtypeTest = 0x20;
inline constexpr uint8_t kAppSubtypeTee0 = 0x30;
inline constexpr uint8_t kAppSubtypeTee1 = 0x31;

inline constexpr uint8_t kDataSubtypeOta = 0x00;  // otadata
inline constexpr uint8_t kDataSubtypePhy = 0x01;
inline constexpr uint8_t kDataSubtypeNvs = 0x02;
inline constexpr uint8_t kDataSubtypeCoredump = 0x03;
inline constexpr uint8_t kDataSubtypeNvsKeys = 0x04;
inline constexpr uint8_t kDataSubtypeEfuse = 0x05;
inline constexpr uint8_t kDataSubtypeUndefined = 0x06;  // what an empty CSV subtype becomes
inline constexpr uint8_t kDataSubtypeEsphttpd = 0x80;
inline constexpr uint8_t kDataSubtypeFat = 0x81;
inline constexpr uint8_t kDataSubtypeSpiffs = 0x82;
inline constexpr uint8_t kDataSubtypeLittlefs = 0x83;
inline constexpr uint8_t kDataSubtypeTeeOta = 0x90;

inline constexpr uint8_t kBootloaderSubtypePrimary = 0x00;
inline constexpr uint8_t kBootloaderSubtypeOta = 0x01;
inline constexpr uint8_t kBootloaderSubtypeRecovery = 0x02;
inline constexpr uint8_t kPartitionTableSubtypePrimary = 0x00;
inline constexpr uint8_t kPartitionTableSubtypeOta = 0x01;

inline constexpr uint32_t kPartitionFlagEncrypted = 1u << 0;
inline constexpr uint32_t kPartitionFlagReadonly = 1u << 1;
inline constexpr uint32_t kPartitionKnownFlags = kPartitionFlagEncrypted | kPartitionFlagReadonly;

// Sizes the checks require (B6, C5, C7).
inline constexpr uint32_t kNvsReadWriteMinSize = 0x3000;
inline constexpr uint32_t kOtadataRequiredSize = 0x2000;

// A CSV keyword and the number it stands for.
struct PartitionKeyword {
  std::string_view name;
  uint32_t value;
};

// The type keywords in the tool's order (bootloader, partition_table, app, data); this order
// is the "Known keywords" list of its error messages.
std::span<const PartitionKeyword> PartitionTypeKeywords();
// The subtype keywords of `type`, in the tool's order; empty for types without keywords.
std::span<const PartitionKeyword> PartitionSubtypeKeywords(uint8_t type);
// The flag words in bit order: encrypted (bit 0), readonly (bit 1). `value` is the bit mask.
std::span<const PartitionKeyword> PartitionFlagWords();

// The keyword for a value, if it has one.
std::optional<std::string_view> PartitionTypeKeyword(uint8_t type);
std::optional<std::string_view> PartitionSubtypeKeyword(uint8_t type, uint8_t subtype);

// Short printable text (no heap): a keyword, or a number in decimal.
struct PartitionKeywordText {
  std::array<char, 16> chars{};
  uint8_t size = 0;
  std::string_view view() const { return {chars.data(), size}; }
};
// The keyword if known, else the value in decimal: what gen_esp32part.py writes in a CSV
// ("ota_0", "nvs", "64").
PartitionKeywordText PartitionTypeName(uint8_t type);
PartitionKeywordText PartitionSubtypeName(uint8_t type, uint8_t subtype);

// Offset alignment (B1, and automatic offsets): 0x10000 for app, 0x1000 for every other type.
uint32_t PartitionOffsetAlignment(uint8_t type);

enum class SecureBootMode : uint8_t { kNone, kV1, kV2 };
// Size alignment (B2): app partitions 0x1000 (0x10000 under Secure Boot v1); 1 for the rest.
uint32_t PartitionSizeAlignment(uint8_t type, SecureBootMode secure);

// ---- The table ----

struct Partition {
  // The name: up to kPartitionNameCapacity bytes of UTF-8 (a CSV name round-trips whole; a
  // name read from a binary is at most kPartitionLabelSize bytes).
  std::array<char, kPartitionNameCapacity> name_bytes{};
  uint8_t name_size = 0;
  uint8_t type = 0;
  uint8_t subtype = 0;
  uint32_t offset = 0;
  uint32_t size = 0;
  // Known bits only (kPartitionKnownFlags).
  uint32_t flags = 0;
  // Unknown flag bits found in a binary row: the tool warns and drops them, and so does
  // SerializePartitionTableBinary; kept so the warning can be reported.
  uint32_t dropped_flags = 0;
  // 1-based physical CSV line the row came from; 0 for a row read from a binary.
  uint32_t line = 0;

  std::string_view name() const { return {name_bytes.data(), name_size}; }
  // What the binary stores: the first kPartitionLabelSize bytes of the name, cut silently (and
  // possibly inside a UTF-8 sequence) as the tool does.
  std::string_view label() const { return name().substr(0, kPartitionLabelSize); }
  // REQUIRES: name.size() <= kPartitionNameCapacity.
  void set_name(std::string_view name);
  bool encrypted() const { return (flags & kPartitionFlagEncrypted) != 0; }
  bool readonly() const { return (flags & kPartitionFlagReadonly) != 0; }
  // offset + size, without 32-bit overflow.
  uint64_t end() const { return uint64_t{offset} + size; }
};

// A partition table with room for kMaxPartitionEntries rows, kept in table (CSV) order.
class PartitionTable {
 public:
  std::span<const Partition> entries() const { return {entries_.data(), count_}; }
  std::span<Partition> mutable_entries() { return {entries_.data(), count_}; }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }
  // REQUIRES: index < size().
  const Partition& operator[](size_t index) const;

  // Appends a row. kResourceExhausted "partition table: more than 95 entries" when full.
  Status Add(const Partition& partition);
  void Clear() { count_ = 0; }

 private:
  std::array<Partition, kMaxPartitionEntries> entries_{};
  size_t count_ = 0;
};

// ---- Diagnostics ----

// Which rule rejected an input: spec §1.6 A-E, the binary reader of §1.7, and our own limits.
enum class PartitionRule : uint8_t {
  kNone,
  // CSV text (§1.4, §1.6 A).
  kUnknownVariable,          // A0: the line still starts with $NAME after expansion
  kOffsetInTableSector,      // A1: the first row's offset is below table_offset + 0x1000
  kOverlapInFileOrder,       // A2: an explicit offset below the previous row's end
  kTypeEmpty,                // A3
  kTypeInvalid,              // A4: neither a number nor a type keyword
  kAppSubtypeEmpty,          // A5
  kSubtypeInvalid,           // A6
  kNumberInvalid,            // A7: offset or size is not a number
  kSizeEmpty,                // A8
  kFlagUnknown,              // A9
  kBootloaderOffsetMissing,  // a bootloader row without a primary bootloader offset option
  kRecoveryOffsetMissing,    // a bootloader/recovery row without a recovery offset option
  kBootloaderOffsetInvalid,  // the primary bootloader offset option is not below the table
  kTextEncodingUnsupported,  // UTF-16/32 text (decoded by the CLI, not by core)
  kTextNotUtf8,              // the tool fails with a traceback
  kLineTooLong,              // a line longer than kPartitionCsvLineCapacity after expansion
  kNameTooLong,              // a name longer than kPartitionNameCapacity bytes
  kValueOutOfRange,          // a number that does not fit its binary field
  // Per partition (§1.6 B).
  kOffsetMisaligned,    // B1
  kSizeMisaligned,      // B2
  kReadonlyNotAllowed,  // B5
  kNvsTooSmall,         // B6
  // Whole table (§1.6 C).
  kDuplicateName,        // C1
  kBelowTableEnd,        // C2
  kOverlap,              // C3
  kMultipleOtadata,      // C4
  kOtadataWrongSize,     // C5
  kMultipleTeeOtadata,   // C6
  kTeeOtadataWrongSize,  // C7
  kFlashTooSmall,        // D
  kTooManyEntries,       // E
  // Binary reader (§1.7).
  kBinaryLength,  // not a multiple of 32 bytes (before any end marker)
  kBinaryNoEndMarker,
  kBinaryMd5Mismatch,
  kBinaryBadMagic,
  kBinaryLabelNotUtf8,  // the tool fails with a traceback
};

// A short stable identifier: "A0".."A9", "B1", "C1".."C7", "D", "E", or a lowercase name for
// the rules that are not the tool's ("bootloader-offset-missing", "bin-md5", ...).
const char* PartitionRuleId(PartitionRule rule);

// Which CSV column a diagnostic is about.
enum class PartitionField : uint8_t { kNone, kName, kType, kSubtype, kOffset, kSize, kFlags };

// What a failed parse or check was about, for messages naming the line, field and value.
// Filled (when the caller passes one) only when the call fails.
struct PartitionDiagnostic {
  PartitionRule rule = PartitionRule::kNone;
  // 1-based CSV line (0 when not from a CSV row).
  uint32_t line = 0;
  // The offending entry (validation), or the 32-byte row (binary reader).
  uint32_t index = 0;
  // C1: the first entry with the same name; C3: the entry it overlaps (the previous one by
  // offset); C4/C6: the first otadata entry.
  uint32_t other_index = 0;
  PartitionField field = PartitionField::kNone;
  // Rule-specific numbers:
  //   A1/A2 value = the offset set, limit = the end it must not go below;
  //   B1 value = offset, limit = alignment; B2 value = size, limit = alignment;
  //   B6 value = size, limit = 0x3000; C2 value = offset, limit = table_offset + 0x1000;
  //   C3 value = offset, limit = the other entry's end; C5/C7 value = size, limit = 0x2000;
  //   A6 value = the row's type; D value = the end of the highest partition, limit = flash size;
  //   E value = the number of entries; kValueOutOfRange value = the number.
  int64_t value = 0;
  int64_t limit = 0;
  // The offending text (a field, variable name, flag word; for kBinaryMd5Mismatch the computed
  // digest in hex), cut to the capacity.
  std::array<char, 64> text_chars{};
  uint8_t text_size = 0;

  std::string_view text() const { return {text_chars.data(), text_size}; }
  void set_text(std::string_view text);
};

// ---- Binary form ----

// Reads a binary table with gen_esp32part.py's reader semantics (spec §1.7): 32-byte rows from
// the start; the first all-0xFF row ends the table (so a whole 4 KiB flash sector reads the
// same as the 0xC00 bytes); an EB EB row must carry the MD5 of every entry row before it and is
// skipped (a table without one is accepted); every other row must start AA 50. Labels are cut
// at the first NUL. Unknown flag bits are dropped into Partition::dropped_flags. Offsets are
// taken as they are; no checks of §1.6 run here (call ValidatePartitionTable).
// Errors (context = 0-based row index):
//   kDataLoss "partition table: length is not a multiple of 32 bytes" (a short final row
//     reached before any end marker), "partition table: missing end-of-table marker",
//     "partition table: md5 mismatch", "partition table: invalid magic bytes",
//     "partition table: label is not valid UTF-8";
//   kResourceExhausted "partition table: more than 95 entries";
//   whatever the Crypto port returns for MD5.
Result<PartitionTable> ParsePartitionTableBinary(ConstByteSpan bytes, port::Crypto& crypto,
                                                 PartitionDiagnostic* diagnostic = nullptr);

// Writes exactly kPartitionTableBinarySize bytes to the start of `out`: the entries, the MD5
// row, 0xFF padding. Labels are the first 16 bytes of each name; dropped flag bits stay dropped.
// Errors: kOutOfRange "partition table: output buffer smaller than 0xC00 bytes";
// kResourceExhausted "partition table: binary length reaches 0xC00 bytes" (E, context = the
// number of entries) when the entries and the MD5 row would not leave room for an end marker;
// the Crypto port's errors. `out` is unspecified after an error.
Status SerializePartitionTableBinary(const PartitionTable& table, port::Crypto& crypto,
                                     ByteSpan out);

// ---- Checks (spec §1.6 B, C, D) ----

struct PartitionValidationOptions {
  uint32_t table_offset = kDefaultPartitionTableOffset;
  // Flash chip size in bytes; check D runs only when set.
  std::optional<uint32_t> flash_size;
  SecureBootMode secure = SecureBootMode::kNone;
};

// Runs the tool's checks in the tool's order and returns the first failure (kInvalidArgument,
// context = index of the offending entry):
//   per entry in table order: B1 offset alignment, B2 app size alignment, B5 readonly
//     otadata/coredump, B6 read/write NVS below 0x3000;
//   C1 duplicate names (context: the second entry with the name);
//   by offset (stable sort): C2 offset below table_offset + 0x1000 (primary bootloader and
//     primary partition-table rows exempt), C3 overlap with the previous entry;
//   C4/C5 one otadata of size 0x2000 (context: second otadata / the otadata), C6/C7 the same
//     for data/tee_ota;
//   D (only with flash_size): the end of the highest-offset entry (the first of equals in
//     table order) must not pass flash_size (context: that entry).
// Warnings (B3, B4) are not failures: see FindPartitionWarnings.
Status ValidatePartitionTable(const PartitionTable& table,
                              const PartitionValidationOptions& options,
                              PartitionDiagnostic* diagnostic = nullptr);

// Entry indexes sorted by offset, stable (equal offsets keep table order), as the tool sorts
// for C2/C3. Writes table.size() indexes. REQUIRES: order.size() >= table.size().
void SortPartitionsByOffset(const PartitionTable& table, std::span<uint8_t> order);

enum class PartitionWarningKind : uint8_t {
  kNameIsTypeKeyword,     // B3: the name is a type keyword other than this row's type
  kNameIsSubtypeKeyword,  // B4: the name is a subtype keyword, but not this row's
  kNameTruncated,         // the name is longer than the 16-byte label
  kUnknownFlagBits,       // a binary row had flag bits the tool does not know (dropped)
};

struct PartitionWarning {
  uint32_t index = 0;
  PartitionWarningKind kind = PartitionWarningKind::kNameIsTypeKeyword;
};

// Finds every warning, in table order (per entry: B3, B4, truncation, unknown flags). Writes
// the first out.size() of them to `out` and returns how many there are in all.
size_t FindPartitionWarnings(const PartitionTable& table, std::span<PartitionWarning> out);

// ---- Lookups ----
// Each returns the first match in table order, as esp_partition_find_first does on the device,
// or nullptr. (The bootloader keeps the last of duplicate OTA/factory/test rows instead; the
// validator rejects duplicate otadata and `aloft partition check` rejects duplicate OTA slots.)
// The pointer lives as long as the table.

const Partition* FindPartitionByName(const PartitionTable& table, std::string_view name);
const Partition* FindPartition(const PartitionTable& table, uint8_t type, uint8_t subtype);
// data/ota.
const Partition* FindOtadataPartition(const PartitionTable& table);
// app/factory.
const Partition* FindFactoryApp(const PartitionTable& table);
// app/test.
const Partition* FindTestApp(const PartitionTable& table);
// app/ota_k; nullptr when k >= 16.
const Partition* FindOtaSlot(const PartitionTable& table, uint32_t k);
// The OTA slot number k of an app/ota_k partition.
std::optional<uint32_t> OtaSlotIndex(const Partition& partition);
// The bootloader's app_count (spec §3.1): every app row with subtype ota_0..ota_15, gaps and
// duplicates included.
uint32_t BootloaderOtaSlotCount(const PartitionTable& table);
// esp_ota_get_app_partition_count (spec §4): ota_0, ota_1, ... up to the first missing one.
uint32_t AppOtaSlotCount(const PartitionTable& table);

}  // namespace aloft::core
