#pragma once
// The partition table's CSV form, as ESP-IDF's gen_esp32part.py reads and writes it (spec
// ../shared/spec/esp-idf-ota.md §1.4, §1.5, §1.7 "Writing CSV"). The table itself, its binary
// form and its checks are in partition_table.h. No heap: parsing works on the caller's text
// and a fixed line buffer; writing goes through a caller's sink. Deliberate divergences from
// the tool are listed in docs/formats/partition-table.md.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "core/format/partition_table.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

// Where $NAME and ${NAME} in a CSV line get their values (the tool uses the process
// environment through os.path.expandvars).
class PartitionCsvVariables {
 public:
  virtual ~PartitionCsvVariables() = default;
  // The value of `name`, or nullopt when it is not defined (the text then stays as written).
  // The view must stay valid until the next call. `name` may be any text (from ${...}).
  virtual std::optional<std::string_view> Lookup(std::string_view name) const = 0;
};

// A line that grows past this many bytes through variable expansion is rejected
// (kLineTooLong). Lines without a defined variable are never copied and have no limit.
inline constexpr size_t kPartitionCsvLineCapacity = 512;

struct PartitionCsvOptions {
  // The tool's --offset: where the table sits; automatic offsets start one sector later.
  uint32_t table_offset = kDefaultPartitionTableOffset;
  // --primary-bootloader-offset / --recovery-bootloader-offset: needed only by rows of type
  // bootloader, whose offset and size they fix.
  std::optional<uint32_t> primary_bootloader_offset;
  std::optional<uint32_t> recovery_bootloader_offset;
  // nullptr: no variable is defined, so every $NAME stays literal.
  const PartitionCsvVariables* variables = nullptr;
};

// Parses CSV text into a table, then assigns automatic offsets and resolves negative ("end
// at") sizes (§1.5), exactly as the tool does. `text` is UTF-8 (a UTF-8 BOM is skipped).
// On failure the Status context is the 1-based physical line (none for whole-text errors), and
// `diagnostic` (if given) says which rule, field and text. Codes:
//   kInvalidArgument: A0 "csv: unknown variable", A3 "csv: type field is empty",
//     A4 "csv: type is not a number or keyword", A5 "csv: app partition has an empty subtype",
//     A6 "csv: subtype is not a number or keyword of this type",
//     A7 "csv: offset is not a number" / "csv: size is not a number", A8 "csv: size field is
//     empty", A9 "csv: unknown flag", A1/A2 "csv: partitions overlap" (rule tells which),
//     "csv: text is not valid UTF-8", "csv: name longer than 64 bytes", "csv: primary
//     bootloader offset is not defined" (and recovery), "csv: primary bootloader offset must
//     be below the partition table";
//   kOutOfRange "csv: value does not fit its binary field" (type/subtype above 255, offset or
//     size outside 0..0xFFFFFFFF once resolved, a number beyond 64 bits);
//   kResourceExhausted "csv: more than 95 partitions", "csv: line too long after variable
//     expansion";
//   kUnimplemented "csv: UTF-16/32 text is not supported, save as UTF-8" (a UTF-16 or UTF-32
//     BOM; the CLI decodes such files before calling this).
// Row errors (A3-A9) are found top to bottom, fields in the order type, subtype, offset,
// size, flags; A1/A2 only after every row parsed; the §1.6 B-D checks are not run here.
Result<PartitionTable> ParsePartitionCsv(std::string_view text, const PartitionCsvOptions& options,
                                         PartitionDiagnostic* diagnostic = nullptr);

// The tool's number grammar for offsets and sizes (parse_int without keywords): trailing
// k/K (x1024) and m/M (x1048576), repeated, then Python's int(text, 0) (optional sign,
// 0x/0o/0b prefixes, '_' between digits, no leading zeros in decimals, surrounding
// whitespace). kInvalidArgument "csv: not a number"; kOutOfRange "csv: number beyond 64 bits".
Result<int64_t> ParsePartitionCsvNumber(std::string_view text);

// Physical line `line` (1-based) of `text`, split exactly as the parser splits (\n, \r\n, \r
// and Python's other line breaks, after a UTF-8 BOM); empty when there is no such line. For
// showing the offending line of an error.
std::string_view PartitionCsvLine(std::string_view text, uint32_t line);

// Receives the text WritePartitionCsv produces, piece by piece.
class PartitionCsvSink {
 public:
  virtual ~PartitionCsvSink() = default;
  // Appends `text`. A non-OK status stops the writer, which returns it.
  virtual Status Write(std::string_view text) = 0;
};

// Writes the table as the tool's binary-to-CSV conversion does (byte for byte): two header
// lines, then one line per entry in table order: name, type and subtype as keywords (else
// decimal), offset as 0x-hex, size as <n>M / <n>K / 0x-hex, flags as a ':' list; every line
// ends with '\n'.
Status WritePartitionCsv(const PartitionTable& table, PartitionCsvSink& sink);

}  // namespace aloft::core
