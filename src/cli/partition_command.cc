// `aloft partition gen|show|check`: ESP-IDF partition tables, byte-compatible with
// gen_esp32part.py (docs/formats/partition-table.md, docs/cli.md). The formats and checks live in
// core (core/format/partition_table.h, partition_csv.h); this file reads files, turns
// diagnostics into messages that name the file, line, partition, field and value, and prints.

#include <CLI/CLI.hpp>
#include <array>
#include <boost/json.hpp>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "core/format/partition_csv.h"
#include "core/format/partition_table.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {

// Commands are thin shells over the core formats.
using namespace ::aloft::core;  // NOLINT(build/namespaces)
namespace {

constexpr std::array<std::string_view, 8> kFlashSizes = {"1MB",  "2MB",  "4MB",  "8MB",
                                                         "16MB", "32MB", "64MB", "128MB"};

// Flags shared by the three subcommands (the tool's --offset, --flash-size, --secure and
// bootloader offsets).
struct TableFlags {
  std::string offset = "0x8000";
  std::string flash_size;
  std::string secure;
  std::string primary_bootloader_offset;
  std::string recovery_bootloader_offset;
  bool no_verify = false;

  uint32_t table_offset() const { return Number(offset).value_or(kDefaultPartitionTableOffset); }
  std::optional<uint32_t> flash_size_bytes() const {
    if (flash_size.empty()) {
      return std::nullopt;
    }
    // One of kFlashSizes (CLI11 checked): the digits before "MB".
    uint32_t megabytes = 0;
    for (char c : flash_size) {
      if (c >= '0' && c <= '9') {
        megabytes = megabytes * 10 + static_cast<uint32_t>(c - '0');
      }
    }
    return megabytes * 1024u * 1024u;
  }
  SecureBootMode secure_mode() const {
    return secure == "v1"   ? SecureBootMode::kV1
           : secure == "v2" ? SecureBootMode::kV2
                            : SecureBootMode::kNone;
  }
  PartitionCsvOptions csv_options() const {
    PartitionCsvOptions options;
    options.table_offset = table_offset();
    options.primary_bootloader_offset = Number(primary_bootloader_offset);
    options.recovery_bootloader_offset = Number(recovery_bootloader_offset);
    return options;
  }
  PartitionValidationOptions validation_options() const {
    PartitionValidationOptions options;
    options.table_offset = table_offset();
    options.flash_size = flash_size_bytes();
    options.secure = secure_mode();
    return options;
  }
  static std::optional<uint32_t> Number(const std::string& text) {
    if (text.empty()) {
      return std::nullopt;
    }
    Result<int64_t> value = ParsePartitionCsvNumber(text);
    if (!value.ok() || *value < 0 || *value > 0xFFFFFFFF) {
      return std::nullopt;
    }
    return static_cast<uint32_t>(*value);
  }
};

CLI::Validator OffsetValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        if (!TableFlags::Number(text).has_value()) {
          return "'" + text + "' is not an offset (0x8000, 32768; 0..0xffffffff)";
        }
        return {};
      },
      "OFFSET");
}

void AddTableFlags(CLI::App& command, TableFlags& flags, bool with_flash_size = true) {
  command.add_option("--offset", flags.offset, "Partition table offset (default 0x8000)")
      ->check(OffsetValidator());
  if (with_flash_size) {
    command
        .add_option("--flash-size", flags.flash_size,
                    "Flash size; checks that the table fits: 1MB 2MB 4MB 8MB 16MB 32MB 64MB 128MB")
        ->check(CLI::IsMember(std::vector<std::string>(kFlashSizes.begin(), kFlashSizes.end())));
  }
  command
      .add_option("--secure", flags.secure,
                  "Secure boot version for the app size alignment check (v1: 64 KiB, v2: 4 KiB)")
      ->check(CLI::IsMember({"v1", "v2"}));
  command
      .add_option("--primary-bootloader-offset", flags.primary_bootloader_offset,
                  "Where the bootloader starts (needed by rows of type bootloader)")
      ->check(OffsetValidator());
  command
      .add_option("--recovery-bootloader-offset", flags.recovery_bootloader_offset,
                  "Where the recovery bootloader starts (bootloader/recovery rows)")
      ->check(OffsetValidator());
}

// $NAME / ${NAME} from the process environment, as os.path.expandvars does.
class EnvironmentVariables final : public PartitionCsvVariables {
 public:
  std::optional<std::string_view> Lookup(std::string_view name) const override {
    if (name.empty() || name.find('=') != std::string_view::npos ||
        name.find('\0') != std::string_view::npos) {
      return std::nullopt;
    }
    name_.assign(name);
    const char* value = std::getenv(name_.c_str());
    if (value == nullptr) {
      return std::nullopt;
    }
    return std::string_view(value);
  }

 private:
  mutable std::string name_;
};

// ---- Text encodings (the tool's get_encoding: BOMs pick UTF-16 or UTF-32) ----

void AppendUtf8(uint32_t c, std::string& out) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

// UTF-16/32 text with a BOM, decoded to UTF-8 as Python's "utf-16"/"utf-32" codecs do (FF FE
// also starts a UTF-32 LE BOM, and the tool picks UTF-16 for it: so do we). Returns nullopt for
// any other text; sets *error for undecodable text.
std::optional<std::string> DecodeWideText(const std::vector<std::byte>& bytes, std::string* error) {
  auto byte = [&](size_t i) { return static_cast<uint32_t>(bytes[i]); };
  const size_t n = bytes.size();
  std::string out;
  if (n >= 2 && ((byte(0) == 0xFF && byte(1) == 0xFE) || (byte(0) == 0xFE && byte(1) == 0xFF))) {
    const bool little = byte(0) == 0xFF;
    if (n % 2 != 0) {
      *error = "UTF-16 text has an odd number of bytes";
      return out;
    }
    auto unit = [&](size_t i) {
      return little ? byte(i) | byte(i + 1) << 8 : byte(i) << 8 | byte(i + 1);
    };
    for (size_t i = 2; i < n; i += 2) {
      uint32_t c = unit(i);
      if (c >= 0xD800 && c <= 0xDBFF) {
        if (i + 2 >= n || unit(i + 2) < 0xDC00 || unit(i + 2) > 0xDFFF) {
          *error = "UTF-16 text has an unpaired surrogate at byte " + std::to_string(i);
          return out;
        }
        c = 0x10000 + ((c - 0xD800) << 10) + (unit(i + 2) - 0xDC00);
        i += 2;
      } else if (c >= 0xDC00 && c <= 0xDFFF) {
        *error = "UTF-16 text has an unpaired surrogate at byte " + std::to_string(i);
        return out;
      }
      AppendUtf8(c, out);
    }
    return out;
  }
  if (n >= 4 && byte(0) == 0 && byte(1) == 0 && byte(2) == 0xFE && byte(3) == 0xFF) {
    if (n % 4 != 0) {
      *error = "UTF-32 text is not a multiple of 4 bytes";
      return out;
    }
    for (size_t i = 4; i < n; i += 4) {
      const uint32_t c = byte(i) << 24 | byte(i + 1) << 16 | byte(i + 2) << 8 | byte(i + 3);
      if (c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) {
        *error = "UTF-32 text has an invalid code point at byte " + std::to_string(i);
        return out;
      }
      AppendUtf8(c, out);
    }
    return out;
  }
  return std::nullopt;
}

// ---- Messages ----

std::string Quote(std::string_view text) { return "'" + std::string(text) + "'"; }

std::string KeywordList(std::span<const PartitionKeyword> keywords) {
  std::string list;
  for (const PartitionKeyword& keyword : keywords) {
    list += list.empty() ? "" : ", ";
    list += keyword.name;
  }
  return list;
}

std::string FieldName(PartitionField field) {
  switch (field) {
    case PartitionField::kNone:
      return "line";
    case PartitionField::kName:
      return "name";
    case PartitionField::kType:
      return "type";
    case PartitionField::kSubtype:
      return "subtype";
    case PartitionField::kOffset:
      return "offset";
    case PartitionField::kSize:
      return "size";
    case PartitionField::kFlags:
      return "flags";
  }
  return "field";
}

// Python's '0x%x' of a possibly negative int ("0x-10").
std::string SignedHex(int64_t value) {
  if (value < 0) {
    return "0x-" + Hex(static_cast<uint32_t>(-value)).substr(2);
  }
  if (value > 0xFFFFFFFF) {
    char text[32];
    std::snprintf(text, sizeof text, "0x%llx", static_cast<unsigned long long>(value));
    return text;
  }
  return Hex(static_cast<uint32_t>(value));
}

std::string Megabytes(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1fMB", static_cast<double>(bytes) / (1024.0 * 1024.0));
  return text;
}

std::string PartitionLabel(const Partition& p) { return "partition " + std::string(p.name()); }

// What a message may need besides the diagnostic.
struct MessageContext {
  uint32_t table_offset = kDefaultPartitionTableOffset;
  const PartitionTable* table = nullptr;          // set for §1.6 B/C/D failures
  const std::vector<std::byte>* bytes = nullptr;  // set for binary-reader failures
};

// The message for any failure, without the location ("partition ota_1 invalid: ...").
std::string DescribeFailure(const Status& status, const PartitionDiagnostic& d,
                            const MessageContext& c) {
  static const Partition kNoPartition;
  const Partition& p =
      c.table != nullptr && d.index < c.table->size() ? (*c.table)[d.index] : kNoPartition;
  const std::string invalid = PartitionLabel(p) + " invalid: ";
  const size_t input_size = c.bytes != nullptr ? c.bytes->size() : 0;
  const std::string row = "row " + std::to_string(d.index) + " (byte " +
                          Hex(static_cast<uint32_t>(d.index * kPartitionEntrySize)) + ")";
  auto row_bytes = [&](size_t offset, size_t size) {
    return HexString(ConstByteSpan(c.bytes->data() + d.index * kPartitionEntrySize + offset, size));
  };
  switch (d.rule) {
    case PartitionRule::kNone:
      return status.reason();
    case PartitionRule::kUnknownVariable:
      return "unknown variable " + Quote(d.text());
    case PartitionRule::kOffsetInTableSector:
      return "partitions overlap: the partition sets offset " + SignedHex(d.value) +
             ", but the partition table occupies the whole sector " + Hex(c.table_offset) +
             "; use a free offset " + SignedHex(d.limit) + " or higher";
    case PartitionRule::kOverlapInFileOrder:
      return "partitions overlap: the partition sets offset " + SignedHex(d.value) +
             ", but the previous partition ends at " + SignedHex(d.limit);
    case PartitionRule::kTypeEmpty:
      return "type field can't be empty";
    case PartitionRule::kTypeInvalid:
      return "type: value " + Quote(d.text()) +
             " is not valid. Known keywords: " + KeywordList(PartitionTypeKeywords());
    case PartitionRule::kAppSubtypeEmpty:
      return "subtype: an app partition cannot have an empty subtype";
    case PartitionRule::kSubtypeInvalid: {
      const auto type = static_cast<uint8_t>(d.value);
      if (PartitionSubtypeKeywords(type).empty()) {
        return "subtype: invalid field value " + Quote(d.text()) + " (type " +
               std::to_string(type) + " has no subtype keywords, use a number)";
      }
      return "subtype: value " + Quote(d.text()) +
             " is not valid. Known keywords: " + KeywordList(PartitionSubtypeKeywords(type));
    }
    case PartitionRule::kNumberInvalid:
      return FieldName(d.field) + ": invalid field value " + Quote(d.text());
    case PartitionRule::kSizeEmpty:
      return "size field can't be empty";
    case PartitionRule::kFlagUnknown:
      return "flags: CSV flag column contains unknown flag " + Quote(d.text()) +
             " (known flags: " + KeywordList(PartitionFlagWords()) + ")";
    case PartitionRule::kBootloaderOffsetMissing:
      return "primary bootloader offset is not defined: use --primary-bootloader-offset";
    case PartitionRule::kRecoveryOffsetMissing:
      return "recovery bootloader offset is not defined: use --recovery-bootloader-offset";
    case PartitionRule::kBootloaderOffsetInvalid:
      return "the primary bootloader offset must be below the partition table offset";
    case PartitionRule::kTextEncodingUnsupported:
      return "UTF-16/32 text is not supported, save as UTF-8";
    case PartitionRule::kTextNotUtf8:
      return "text is not valid UTF-8";
    case PartitionRule::kLineTooLong:
      return "line is longer than " + std::to_string(kPartitionCsvLineCapacity) +
             " bytes after variable expansion";
    case PartitionRule::kNameTooLong:
      return "name: " + Quote(d.text()) + "... is " + std::to_string(d.value) +
             " bytes long; at most " + std::to_string(kPartitionNameCapacity) +
             " are supported (the binary label keeps only the first 16)";
    case PartitionRule::kValueOutOfRange: {
      const bool byte_field =
          d.field == PartitionField::kType || d.field == PartitionField::kSubtype;
      const std::string value = !d.text().empty() ? Quote(d.text())
                                : byte_field      ? std::to_string(d.value)
                                                  : SignedHex(d.value);
      return FieldName(d.field) + ": value " + value + " does not fit the binary field (" +
             (byte_field ? "0..255" : "0..0xffffffff") + ")";
    }
    case PartitionRule::kTooManyEntries:
      if (c.bytes != nullptr) {
        return "more than " + std::to_string(kMaxPartitionEntries) + " entries (at " + row + ")";
      }
      return "more than " + std::to_string(kMaxPartitionEntries) +
             " partitions (the binary table holds at most " +
             std::to_string(kMaxPartitionEntriesWithMd5) + " with its MD5 row)";
    case PartitionRule::kOffsetMisaligned:
      return invalid + "offset " + Hex(p.offset) + " is not aligned to " + SignedHex(d.limit);
    case PartitionRule::kSizeMisaligned:
      return invalid + "size " + Hex(p.size) + " is not aligned to " + SignedHex(d.limit);
    case PartitionRule::kReadonlyNotAllowed:
      return invalid + Quote(p.name()) + " partition of type " + std::to_string(p.type) +
             " and subtype " + std::to_string(p.subtype) +
             " is always read-write and cannot be read-only";
    case PartitionRule::kNvsTooSmall:
      return invalid + Quote(p.name()) + " partition of type " + std::to_string(p.type) +
             " and subtype " + std::to_string(p.subtype) + " of this size (" + Hex(p.size) +
             ") must be flagged as 'readonly' (the size of read/write NVS has to be at least " +
             Hex(kNvsReadWriteMinSize) + ")";
    case PartitionRule::kDuplicateName: {
      std::string where;
      for (const Partition& other : c.table->entries()) {
        if (other.name() == p.name()) {
          where += where.empty() ? "" : ", ";
          where += other.line != 0 ? "line " + std::to_string(other.line)
                                   : "entry " + std::to_string(&other - c.table->entries().data());
        }
      }
      return "partition names must be unique: " + Quote(p.name()) + " is used more than once (" +
             where + ")";
    }
    case PartitionRule::kBelowTableEnd:
      return PartitionLabel(p) + ": offset " + Hex(p.offset) + " is below " + SignedHex(d.limit) +
             " (the partition table sector at " + Hex(c.table_offset) + " comes first)";
    case PartitionRule::kOverlap: {
      const Partition& other = c.table->operator[](d.other_index);
      return PartitionLabel(p) + " at " + Hex(p.offset) + " overlaps " + PartitionLabel(other) +
             " at " + Hex(other.offset) + "-" + SignedHex(static_cast<int64_t>(other.end()) - 1);
    }
    case PartitionRule::kMultipleOtadata:
    case PartitionRule::kMultipleTeeOtadata: {
      const bool tee = d.rule == PartitionRule::kMultipleTeeOtadata;
      return std::string("found multiple ") + (tee ? "TEE " : "") + "otadata partitions (" +
             std::string(c.table->operator[](d.other_index).name()) + ", " + std::string(p.name()) +
             "); only one partition can be defined with type=\"data\"(1) and subtype=" +
             (tee ? "\"tee_ota\"(0x90)" : "\"ota\"(0)");
    }
    case PartitionRule::kOtadataWrongSize:
    case PartitionRule::kTeeOtadataWrongSize:
      return std::string(d.rule == PartitionRule::kTeeOtadataWrongSize ? "TEE " : "") +
             "otadata partition " + std::string(p.name()) +
             " must have size = " + Hex(kOtadataRequiredSize) + ", not " + Hex(p.size);
    case PartitionRule::kFlashTooSmall:
      return "partition table occupies " + Megabytes(static_cast<uint64_t>(d.value)) +
             " of flash (" + std::to_string(d.value) + " bytes, up to the end of " +
             PartitionLabel(p) + "), which does not fit in the configured flash size " +
             std::to_string(d.limit / (1024 * 1024)) +
             "MB. Change the flash size in menuconfig under the 'Serial Flasher Config' menu";
    case PartitionRule::kBinaryLength:
      return "partition table length (" + std::to_string(input_size) +
             " bytes) must be a multiple of 32 bytes: " + row +
             " is short and no end-of-table marker came before it";
    case PartitionRule::kBinaryNoEndMarker:
      return "partition table is missing an end-of-table marker (a row of 32 0xFF bytes) in " +
             std::to_string(input_size) + " bytes";
    case PartitionRule::kBinaryMd5Mismatch: {
      return "MD5 checksums don't match at " + row + " (computed: 0x" + std::string(d.text()) +
             ", stored: 0x" + row_bytes(kPartitionMd5DigestOffset, kPartitionMd5DigestSize) + ")";
    }
    case PartitionRule::kBinaryBadMagic: {
      return "invalid magic bytes " + row_bytes(0, 2) + " at " + row +
             " (an entry starts aa50, the MD5 row ebeb, the end marker is all ff)";
    }
    case PartitionRule::kBinaryLabelNotUtf8:
      return "the label at " + row + " is not valid UTF-8";
  }
  return status.reason();
}

std::string DescribeWarning(const PartitionWarning& warning, const PartitionTable& table) {
  const Partition& p = table[warning.index];
  char numbers[64];
  switch (warning.kind) {
    case PartitionWarningKind::kNameIsTypeKeyword:
      std::snprintf(numbers, sizeof numbers, "0x%x", p.type);
      return PartitionLabel(p) +
             ": the name is a partition type, but does not match this partition's type (" +
             numbers + "). Mistake in partition table?";
    case PartitionWarningKind::kNameIsSubtypeKeyword:
      std::snprintf(numbers, sizeof numbers, "type 0x%x and subtype 0x%x", p.type, p.subtype);
      return PartitionLabel(p) +
             ": the name is a partition subtype, but this partition has non-matching " + numbers +
             ". Mistake in partition table?";
    case PartitionWarningKind::kNameTruncated:
      return PartitionLabel(p) + ": the name is " + std::to_string(p.name().size()) +
             " bytes; the binary label keeps only the first 16 (" + Quote(p.label()) + ")";
    case PartitionWarningKind::kUnknownFlagBits:
      std::snprintf(numbers, sizeof numbers, "0x%08x", p.dropped_flags);
      return PartitionLabel(p) + ": unknown flag(s) " + numbers +
             " were dropped. Newer binary format?";
  }
  return "warning";
}

const char* WarningRuleId(PartitionWarningKind kind) {
  switch (kind) {
    case PartitionWarningKind::kNameIsTypeKeyword:
      return "B3";
    case PartitionWarningKind::kNameIsSubtypeKeyword:
      return "B4";
    case PartitionWarningKind::kNameTruncated:
      return "label-truncated";
    case PartitionWarningKind::kUnknownFlagBits:
      return "unknown-flags";
  }
  return "warning";
}

// ---- Loading and compiling a table ----

// One failure or warning, ready to print.
struct Finding {
  bool error = true;
  std::string rule;
  std::string location;  // "PATH" or "PATH:LINE"
  std::string message;
  std::string source_line;  // the offending CSV line, if any
  std::string partition;    // empty when not about one partition
  uint32_t line = 0;
};

void PrintFailure(const Finding& finding) {
  ReportError(finding.location + ": " + finding.message);
  if (!finding.source_line.empty()) {
    std::fprintf(stderr, "  | %s\n", finding.source_line.c_str());
  }
}

void PrintWarning(const Finding& finding) {
  std::fprintf(stderr, "warning: %s: %s\n", finding.location.c_str(), finding.message.c_str());
}

struct Input {
  std::string path;
  std::vector<std::byte> bytes;
  bool binary = false;
  std::string text;  // UTF-8 CSV text
};

std::string Location(const Input& input, uint32_t line) {
  return line == 0 ? input.path : input.path + ":" + std::to_string(line);
}

Finding MakeFinding(const Input& input, PartitionRule rule, uint32_t line, std::string message) {
  Finding finding;
  finding.rule = PartitionRuleId(rule);
  finding.location = Location(input, line);
  finding.message = std::move(message);
  finding.line = line;
  if (!input.binary && line != 0) {
    finding.source_line = std::string(PartitionCsvLine(input.text, line));
  }
  return finding;
}

// Reads PATH; nullopt after ReadFileOrReport has printed why.
std::optional<Input> ReadInput(const std::string& path) {
  std::optional<std::vector<std::byte>> bytes = ReadFileOrReport(path);
  if (!bytes.has_value()) {
    return std::nullopt;
  }
  Input input;
  input.path = path;
  input.bytes = std::move(*bytes);
  // The tool's test: a binary starts with the entry magic.
  input.binary = input.bytes.size() >= 2 && input.bytes[0] == std::byte{0xAA} &&
                 input.bytes[1] == std::byte{0x50};
  return input;
}

// Parses the input (CSV or binary) into a table, or a finding saying why not.
struct Parsed {
  std::optional<PartitionTable> table;
  std::optional<Finding> failure;
};

Parsed ParseInput(Input& input, const TableFlags& flags, port::Crypto& crypto) {
  Parsed parsed;
  PartitionDiagnostic diagnostic;
  if (input.binary) {
    Result<PartitionTable> table = ParsePartitionTableBinary(input.bytes, crypto, &diagnostic);
    if (!table.ok()) {
      parsed.failure =
          MakeFinding(input, diagnostic.rule, 0,
                      DescribeFailure(table.status(), diagnostic,
                                      MessageContext{flags.table_offset(), nullptr, &input.bytes}));
      return parsed;
    }
    parsed.table = std::move(*table);
    return parsed;
  }
  std::string decode_error;
  std::optional<std::string> decoded = DecodeWideText(input.bytes, &decode_error);
  if (!decode_error.empty()) {
    parsed.failure = MakeFinding(input, PartitionRule::kTextEncodingUnsupported, 0, decode_error);
    return parsed;
  }
  input.text = decoded.has_value() ? std::move(*decoded)
                                   : std::string(reinterpret_cast<const char*>(input.bytes.data()),
                                                 input.bytes.size());
  EnvironmentVariables variables;
  PartitionCsvOptions options = flags.csv_options();
  options.variables = &variables;
  Result<PartitionTable> table = ParsePartitionCsv(input.text, options, &diagnostic);
  if (!table.ok()) {
    parsed.failure =
        MakeFinding(input, diagnostic.rule, diagnostic.line,
                    DescribeFailure(table.status(), diagnostic,
                                    MessageContext{options.table_offset, nullptr, nullptr}));
    return parsed;
  }
  parsed.table = std::move(*table);
  return parsed;
}

std::vector<Finding> Warnings(const Input& input, const PartitionTable& table) {
  std::array<PartitionWarning, 4 * kMaxPartitionEntries> found;
  const size_t count = FindPartitionWarnings(table, found);
  std::vector<Finding> warnings;
  for (size_t i = 0; i < count && i < found.size(); ++i) {
    const Partition& p = table[found[i].index];
    Finding finding =
        MakeFinding(input, PartitionRule::kNone, p.line, DescribeWarning(found[i], table));
    finding.error = false;
    finding.rule = WarningRuleId(found[i].kind);
    finding.partition = std::string(p.name());
    finding.source_line.clear();
    warnings.push_back(std::move(finding));
  }
  return warnings;
}

std::optional<Finding> Validate(const Input& input, const PartitionTable& table,
                                const TableFlags& flags) {
  PartitionDiagnostic diagnostic;
  const PartitionValidationOptions options = flags.validation_options();
  const Status status = ValidatePartitionTable(table, options, &diagnostic);
  if (status.ok()) {
    return std::nullopt;
  }
  const Partition& p = table[diagnostic.index];
  Finding finding = MakeFinding(
      input, diagnostic.rule, p.line,
      DescribeFailure(status, diagnostic, MessageContext{options.table_offset, &table, nullptr}));
  finding.partition = std::string(p.name());
  return finding;
}

// The 0xC00-byte binary, or the E finding.
std::optional<Finding> Serialize(const Input& input, const PartitionTable& table,
                                 port::Crypto& crypto, std::vector<std::byte>& image) {
  image.assign(kPartitionTableBinarySize, std::byte{0xFF});
  const Status status = SerializePartitionTableBinary(table, crypto, image);
  if (status.ok()) {
    return std::nullopt;
  }
  if (status.code() == Status::Code::kResourceExhausted) {
    return MakeFinding(input, PartitionRule::kTooManyEntries, 0,
                       "binary partition table length (" +
                           std::to_string((table.size() + 1) * kPartitionEntrySize) +
                           ") longer than max: " + std::to_string(table.size()) +
                           " entries and the MD5 row leave no room for the end marker (at most " +
                           std::to_string(kMaxPartitionEntriesWithMd5) + " entries)");
  }
  return MakeFinding(input, PartitionRule::kNone, 0, status.reason());
}

// The common path of gen and show: parse, warn, validate, encode. Prints failures and warnings
// to stderr; returns the encoded binary, or nullopt with *exit_code set.
std::optional<std::vector<std::byte>> Compile(Input& input, const TableFlags& flags,
                                              int* exit_code) {
  host::OpensslCrypto crypto;
  Parsed parsed = ParseInput(input, flags, crypto);
  if (parsed.failure.has_value()) {
    PrintFailure(*parsed.failure);
    *exit_code = kExitFailure;
    return std::nullopt;
  }
  const PartitionTable& table = *parsed.table;
  for (const Finding& warning : Warnings(input, table)) {
    PrintWarning(warning);
  }
  if (!flags.no_verify) {
    if (std::optional<Finding> failure = Validate(input, table, flags)) {
      PrintFailure(*failure);
      *exit_code = kExitFailure;
      return std::nullopt;
    }
  }
  std::vector<std::byte> image;
  if (std::optional<Finding> failure = Serialize(input, table, crypto, image)) {
    PrintFailure(*failure);
    *exit_code = kExitFailure;
    return std::nullopt;
  }
  return image;
}

// ---- show ----

class StringSink final : public PartitionCsvSink {
 public:
  Status Write(std::string_view text) override {
    text_.append(text);
    return OkStatus();
  }
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

boost::json::value TypeJson(const PartitionKeywordText& name,
                            std::optional<std::string_view> keyword, uint8_t value) {
  if (keyword.has_value()) {
    return boost::json::string(name.view());
  }
  return value;
}

boost::json::array TableJson(const PartitionTable& table) {
  boost::json::array rows;
  for (const Partition& p : table.entries()) {
    boost::json::object row;
    row["name"] = std::string(p.name());
    row["type"] = TypeJson(PartitionTypeName(p.type), PartitionTypeKeyword(p.type), p.type);
    row["subtype"] = TypeJson(PartitionSubtypeName(p.type, p.subtype),
                              PartitionSubtypeKeyword(p.type, p.subtype), p.subtype);
    row["offset"] = p.offset;
    row["size"] = p.size;
    boost::json::array words;
    for (const PartitionKeyword& flag : PartitionFlagWords()) {
      if ((p.flags & flag.value) != 0) {
        words.emplace_back(boost::json::string(flag.name));
      }
    }
    row["flags"] = std::move(words);
    rows.emplace_back(std::move(row));
  }
  return rows;
}

struct ShowArgs {
  std::string input;
  bool json = false;
  TableFlags flags;
};

int RunShow(const ShowArgs& args) {
  std::optional<Input> input = ReadInput(args.input);
  if (!input.has_value()) {
    return kExitFailure;
  }
  int exit_code = kExitOk;
  std::optional<std::vector<std::byte>> image = Compile(*input, args.flags, &exit_code);
  if (!image.has_value()) {
    return exit_code;
  }
  // What the device will see: the table as the binary carries it (labels cut to 16 bytes).
  host::OpensslCrypto crypto;
  Result<PartitionTable> table = ParsePartitionTableBinary(*image, crypto);
  if (!table.ok()) {
    return ReportFailure(args.input, table.status());
  }
  if (args.json) {
    PrintJson(TableJson(*table));
    return kExitOk;
  }
  StringSink sink;
  const Status status = WritePartitionCsv(*table, sink);
  if (!status.ok()) {
    return ReportFailure(args.input, status);
  }
  std::fwrite(sink.text().data(), 1, sink.text().size(), stdout);
  return kExitOk;
}

// ---- gen ----

struct GenArgs {
  std::string input;
  std::string output;
  TableFlags flags;
};

int RunGen(const GenArgs& args) {
  std::optional<Input> input = ReadInput(args.input);
  if (!input.has_value()) {
    return kExitFailure;
  }
  int exit_code = kExitOk;
  std::optional<std::vector<std::byte>> image = Compile(*input, args.flags, &exit_code);
  if (!image.has_value()) {
    return exit_code;
  }
  // Written only now, after every check passed, and atomically: an error leaves OUT as it was.
  return WriteFileOrReport(args.output, *image) ? kExitOk : kExitFailure;
}

// ---- check ----

struct CheckArgs {
  std::string input;
  std::vector<std::string> apps;
  double headroom_percent = 20;
  bool json = false;
  TableFlags flags;
};

struct AppFit {
  std::string partition;
  uint32_t partition_size = 0;
  int64_t free_bytes = 0;
  double free_percent = 0;
};

struct AppReport {
  std::string path;
  uint64_t size = 0;
  std::vector<AppFit> fits;
};

// "app0 (ota_0)", or just "ota_0" when the name is the subtype keyword.
std::string SlotName(const Partition& p) {
  const PartitionKeywordText subtype = PartitionSubtypeName(p.type, p.subtype);
  if (p.name() == subtype.view()) {
    return std::string(p.name());
  }
  return std::string(p.name()) + " (" + std::string(subtype.view()) + ")";
}

// The OTA checks gen_esp32part.py leaves out (spec §1.6 "Things the tool does not check").
void CheckOta(const Input& input, const PartitionTable& table, std::vector<Finding>& findings) {
  auto add = [&](const char* rule, std::string message, const Partition* p) {
    Finding finding =
        MakeFinding(input, PartitionRule::kNone, p != nullptr ? p->line : 0, std::move(message));
    finding.rule = rule;
    if (p != nullptr) {
      finding.partition = std::string(p->name());
    }
    findings.push_back(std::move(finding));
  };
  const uint32_t app_count = AppOtaSlotCount(table);
  const uint32_t bootloader_count = BootloaderOtaSlotCount(table);

  std::array<uint32_t, kMaxOtaAppSubtypes> rows_per_slot{};
  for (const Partition& p : table.entries()) {
    if (std::optional<uint32_t> k = OtaSlotIndex(p)) {
      if (++rows_per_slot[*k] == 2) {
        add("ota-duplicate",
            "two partitions are ota_" + std::to_string(*k) + " (" +
                std::string(FindOtaSlot(table, *k)->name()) + " and " + std::string(p.name()) +
                "): the app uses the first, the bootloader the last",
            &p);
      }
    }
  }
  for (const Partition& p : table.entries()) {
    std::optional<uint32_t> k = OtaSlotIndex(p);
    if (k.has_value() && *k > app_count) {
      add("ota-contiguous",
          "OTA slots must be contiguous from ota_0: ota_" + std::to_string(app_count) +
              " is missing, so the app sees " + std::to_string(app_count) +
              " slot(s) while the bootloader counts " + std::to_string(bootloader_count) + "; " +
              SlotName(p) + " is unreachable",
          &p);
    }
  }
  if (app_count < 2) {
    add("ota-slots",
        "OTA updates need at least two OTA app slots (ota_0, ota_1); this table has " +
            std::to_string(app_count),
        nullptr);
  }
  if (FindOtadataPartition(table) == nullptr) {
    add("ota-otadata",
        "no otadata partition (type data, subtype ota): the device cannot switch OTA slots",
        nullptr);
  }
  const Partition* first = nullptr;
  for (const Partition& p : table.entries()) {
    if (!OtaSlotIndex(p).has_value()) {
      continue;
    }
    if (first == nullptr) {
      first = &p;
    } else if (p.size != first->size) {
      add("ota-slot-size",
          "OTA slots differ in size: " + SlotName(*first) + " is " + Hex(first->size) + ", " +
              SlotName(p) + " is " + Hex(p.size) + "; every update must fit the smallest",
          &p);
    }
  }
}

void CheckApp(const Input& input, const PartitionTable& table, const std::string& path,
              uint64_t size, double headroom_percent, std::vector<Finding>& findings,
              AppReport& report) {
  report.path = path;
  report.size = size;
  bool any = false;
  for (const Partition& p : table.entries()) {
    const bool factory = p.type == kPartitionTypeApp && p.subtype == kAppSubtypeFactory;
    if (!factory && !OtaSlotIndex(p).has_value()) {
      continue;
    }
    any = true;
    AppFit fit;
    fit.partition = std::string(p.name());
    fit.partition_size = p.size;
    fit.free_bytes = static_cast<int64_t>(p.size) - static_cast<int64_t>(size);
    fit.free_percent = p.size == 0 ? 0 : 100.0 * static_cast<double>(fit.free_bytes) / p.size;
    report.fits.push_back(fit);
    Finding finding = MakeFinding(input, PartitionRule::kNone, p.line, "");
    finding.partition = fit.partition;
    finding.source_line.clear();
    if (fit.free_bytes < 0) {
      finding.rule = "app-fit";
      finding.message = path + " (" + std::to_string(size) + " bytes) does not fit in " +
                        SlotName(p) + " (" + std::to_string(p.size) +
                        " bytes): " + std::to_string(-fit.free_bytes) + " bytes over";
      findings.push_back(std::move(finding));
    } else if (fit.free_percent < headroom_percent) {
      char percent[32];
      std::snprintf(percent, sizeof percent, "%.1f%%", fit.free_percent);
      finding.error = false;
      finding.rule = "app-headroom";
      finding.message = path + " (" + std::to_string(size) + " bytes) leaves only " + percent +
                        " of " + SlotName(p) + " (" + std::to_string(p.size) +
                        " bytes) free, less than the " +
                        std::to_string(static_cast<int>(headroom_percent)) + "% headroom";
      findings.push_back(std::move(finding));
    }
  }
  if (!any) {
    Finding finding = MakeFinding(input, PartitionRule::kNone, 0,
                                  "no factory or OTA app partition to check " + path + " against");
    finding.rule = "app-fit";
    findings.push_back(std::move(finding));
  }
}

int RunCheck(const CheckArgs& args) {
  std::optional<Input> input = ReadInput(args.input);
  if (!input.has_value()) {
    return kExitFailure;
  }
  std::vector<std::pair<std::string, uint64_t>> apps;
  for (const std::string& path : args.apps) {
    std::optional<std::vector<std::byte>> bytes = ReadFileOrReport(path);
    if (!bytes.has_value()) {
      return kExitFailure;
    }
    // check_sizes.py compares the file size.
    apps.emplace_back(path, bytes->size());
  }

  host::OpensslCrypto crypto;
  std::vector<Finding> findings;
  std::vector<AppReport> app_reports;
  Parsed parsed = ParseInput(*input, args.flags, crypto);
  std::optional<PartitionTable> table = std::move(parsed.table);
  if (parsed.failure.has_value()) {
    findings.push_back(std::move(*parsed.failure));
  } else {
    for (Finding& warning : Warnings(*input, *table)) {
      findings.push_back(std::move(warning));
    }
    if (std::optional<Finding> failure = Validate(*input, *table, args.flags)) {
      findings.push_back(std::move(*failure));
    }
    std::vector<std::byte> image;
    if (std::optional<Finding> failure = Serialize(*input, *table, crypto, image)) {
      findings.push_back(std::move(*failure));
    }
    CheckOta(*input, *table, findings);
    for (const auto& [path, size] : apps) {
      app_reports.emplace_back();
      CheckApp(*input, *table, path, size, args.headroom_percent, findings, app_reports.back());
    }
  }

  size_t errors = 0;
  size_t warnings = 0;
  for (const Finding& finding : findings) {
    (finding.error ? errors : warnings) += 1;
  }
  if (args.json) {
    boost::json::object out;
    out["input"] = args.input;
    out["ok"] = errors == 0;
    out["errors"] = errors;
    out["warnings"] = warnings;
    boost::json::array list;
    for (const Finding& finding : findings) {
      boost::json::object item;
      item["severity"] = finding.error ? "error" : "warning";
      item["rule"] = finding.rule;
      item["message"] = finding.message;
      if (!finding.partition.empty()) {
        item["partition"] = finding.partition;
      }
      if (finding.line != 0) {
        item["line"] = finding.line;
      }
      list.emplace_back(std::move(item));
    }
    out["findings"] = std::move(list);
    if (table.has_value()) {
      boost::json::object ota;
      ota["app_slots"] = AppOtaSlotCount(*table);
      ota["bootloader_slots"] = BootloaderOtaSlotCount(*table);
      const Partition* otadata = FindOtadataPartition(*table);
      ota["otadata"] = otadata != nullptr ? boost::json::value(std::string(otadata->name()))
                                          : boost::json::value(nullptr);
      const Partition* factory = FindFactoryApp(*table);
      ota["factory"] = factory != nullptr ? boost::json::value(std::string(factory->name()))
                                          : boost::json::value(nullptr);
      out["ota"] = std::move(ota);
      out["partitions"] = TableJson(*table);
    }
    boost::json::array app_list;
    for (const AppReport& report : app_reports) {
      boost::json::object app;
      app["path"] = report.path;
      app["size"] = report.size;
      boost::json::array fits;
      for (const AppFit& fit : report.fits) {
        boost::json::object item;
        item["partition"] = fit.partition;
        item["size"] = fit.partition_size;
        item["free"] = fit.free_bytes;
        item["free_percent"] = fit.free_percent;
        fits.emplace_back(std::move(item));
      }
      app["partitions"] = std::move(fits);
      app_list.emplace_back(std::move(app));
    }
    out["apps"] = std::move(app_list);
    PrintJson(out);
  } else {
    for (const Finding& finding : findings) {
      std::printf("%s: %s: %s\n", finding.error ? "error" : "warning", finding.location.c_str(),
                  finding.message.c_str());
      if (!finding.source_line.empty()) {
        std::printf("  | %s\n", finding.source_line.c_str());
      }
    }
    std::printf("%s: %s (%zu error%s, %zu warning%s)\n", args.input.c_str(),
                errors == 0 ? "ok" : "FAILED", errors, errors == 1 ? "" : "s", warnings,
                warnings == 1 ? "" : "s");
  }
  return errors == 0 ? kExitOk : kExitFailure;
}

}  // namespace

void AddPartitionCommands(CLI::App& app, CommandResult& result) {
  CLI::App* partition = app.add_subcommand(
      "partition",
      "ESP-IDF partition tables: generate, show and check (gen_esp32part.py compatible)");
  partition->require_subcommand(1);

  auto gen_args = std::make_shared<GenArgs>();
  CLI::App* gen = partition->add_subcommand(
      "gen", "Convert a partition CSV (or binary) to the 0xC00-byte binary, after every check");
  gen->add_option("input", gen_args->input, "Partition table: CSV, or binary (starts AA 50)")
      ->required();
  gen->add_option("-o,--output", gen_args->output, "Binary file to write (untouched on error)")
      ->required();
  AddTableFlags(*gen, gen_args->flags);
  gen->callback([gen_args, &result] { result.exit_code = RunGen(*gen_args); });

  auto show_args = std::make_shared<ShowArgs>();
  CLI::App* show = partition->add_subcommand(
      "show", "Print a partition table as ESP-IDF's CSV (binary-to-CSV), or as JSON");
  show->add_option("input", show_args->input, "Partition table: CSV or binary")->required();
  show->add_flag("--json", show_args->json,
                 "JSON array of {name, type, subtype, offset, size, flags}");
  show->add_flag("--no-verify", show_args->flags.no_verify,
                 "Show even if the table fails the checks");
  AddTableFlags(*show, show_args->flags);
  show->callback([show_args, &result] { result.exit_code = RunShow(*show_args); });

  auto check_args = std::make_shared<CheckArgs>();
  CLI::App* check = partition->add_subcommand(
      "check", "Run every check, plus OTA readiness and app-size fit; exit 1 on any error");
  check->add_option("input", check_args->input, "Partition table: CSV or binary")->required();
  check->add_option("--app", check_args->apps,
                    "App binary whose file size must fit every OTA slot and the factory app");
  check
      ->add_option("--headroom", check_args->headroom_percent,
                   "Warn when an app leaves less than this % of a slot free (default 20)")
      ->check(CLI::Range(0.0, 100.0));
  check->add_flag("--json", check_args->json, "Print the findings as JSON");
  AddTableFlags(*check, check_args->flags);
  check->callback([check_args, &result] { result.exit_code = RunCheck(*check_args); });
}

}  // namespace aloft::cli
