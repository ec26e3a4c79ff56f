#include "core/format/partition_csv.h"

#include <array>
#include <limits>
#include <span>

#include "core/format/internal/utf8.h"
#include "core/try.h"

namespace aloft::core {
namespace {

using internal::DecodeUtf8At;
using internal::LastUtf8Start;

constexpr std::string_view kUtf8Bom = "\xEF\xBB\xBF";

constexpr int64_t kMaxField = 0xFFFFFFFF;

// ---- Text: Python's str.isspace, str.splitlines, str.strip ----

bool IsPythonSpace(uint32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

// Length of the line break starting at text[i] (0 if none): \n, \r\n, \r, \v, \f, \x1c-\x1e,
// U+0085, U+2028, U+2029, the breaks of str.splitlines(). REQUIRES: text is valid UTF-8.
size_t LineBreakLength(std::string_view text, size_t i) {
  const auto c = static_cast<uint8_t>(text[i]);
  if (c == '\r') {
    return i + 1 < text.size() && text[i + 1] == '\n' ? 2 : 1;
  }
  if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1C && c <= 0x1E)) {
    return 1;
  }
  if (c == 0xC2 && i + 1 < text.size() && static_cast<uint8_t>(text[i + 1]) == 0x85) {
    return 2;
  }
  if (c == 0xE2 && i + 2 < text.size() && static_cast<uint8_t>(text[i + 1]) == 0x80 &&
      (static_cast<uint8_t>(text[i + 2]) == 0xA8 || static_cast<uint8_t>(text[i + 2]) == 0xA9)) {
    return 3;
  }
  return 0;
}

// Walks the lines of valid UTF-8 text as str.splitlines() does (no empty line after a final
// break).
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  bool Next(std::string_view* line) {
    if (position_ >= text_.size()) {
      return false;
    }
    ++number_;
    for (size_t i = position_; i < text_.size(); ++i) {
      const size_t length = LineBreakLength(text_, i);
      if (length != 0) {
        *line = text_.substr(position_, i - position_);
        position_ = i + length;
        return true;
      }
    }
    *line = text_.substr(position_);
    position_ = text_.size();
    return true;
  }
  uint32_t number() const { return number_; }

 private:
  std::string_view text_;
  size_t position_ = 0;
  uint32_t number_ = 0;
};

// str.strip(). REQUIRES: valid UTF-8.
std::string_view PythonStrip(std::string_view text) {
  while (!text.empty()) {
    size_t length = 0;
    if (!IsPythonSpace(DecodeUtf8At(text, 0, &length))) {
      break;
    }
    text.remove_prefix(length);
  }
  while (!text.empty()) {
    const size_t start = LastUtf8Start(text);
    size_t length = 0;
    if (!IsPythonSpace(DecodeUtf8At(text, start, &length))) {
      break;
    }
    text.remove_suffix(text.size() - start);
  }
  return text;
}

// text.lower() == keyword, for an ASCII lowercase keyword. Only ASCII letters and U+212A
// KELVIN SIGN (which lowers to 'k') lower to ASCII, so every other character fails the match.
bool LowerEquals(std::string_view text, std::string_view keyword) {
  size_t i = 0;
  size_t k = 0;
  while (i < text.size()) {
    if (k == keyword.size()) {
      return false;
    }
    size_t length = 0;
    uint32_t c = DecodeUtf8At(text, i, &length);
    if (c >= 'A' && c <= 'Z') {
      c = c - 'A' + 'a';
    } else if (c == 0x212A) {
      c = 'k';
    }
    if (c != static_cast<uint8_t>(keyword[k])) {
      return false;
    }
    i += length;
    ++k;
  }
  return k == keyword.size();
}

// ---- Numbers ----

enum class NumberError : uint8_t { kNone, kSyntax, kOverflow, kUnknownKeyword };

int DigitValue(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'Z') {
    return c - 'A' + 10;
  }
  return 99;
}

// Python's int(text, 0), for ASCII digits (Objects/longobject.c PyLong_FromString).
NumberError PythonInt(std::string_view text, int64_t* value) {
  text = PythonStrip(text);
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) {
    negative = text[i] == '-';
    ++i;
  }
  uint32_t base = 10;
  bool zero_led_decimal = false;
  if (i + 1 < text.size() && text[i] == '0') {
    const char prefix = text[i + 1];
    if (prefix == 'x' || prefix == 'X') {
      base = 16;
    } else if (prefix == 'o' || prefix == 'O') {
      base = 8;
    } else if (prefix == 'b' || prefix == 'B') {
      base = 2;
    }
  }
  if (base != 10) {
    i += 2;
    // One '_' may follow the prefix ("0x_1f").
    if (i < text.size() && text[i] == '_') {
      ++i;
    }
  } else if (i < text.size() && text[i] == '0') {
    zero_led_decimal = true;
  }
  uint64_t magnitude = 0;
  size_t digits = 0;
  bool nonzero = false;
  bool overflow = false;
  bool after_underscore = false;
  for (; i < text.size(); ++i) {
    if (text[i] == '_') {
      if (digits == 0 || after_underscore) {
        return NumberError::kSyntax;
      }
      after_underscore = true;
      continue;
    }
    const auto digit = static_cast<uint32_t>(DigitValue(text[i]));
    if (digit >= base) {
      return NumberError::kSyntax;
    }
    after_underscore = false;
    ++digits;
    nonzero = nonzero || digit != 0;
    if (magnitude > (static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) - digit) / base) {
      overflow = true;
    } else {
      magnitude = magnitude * base + digit;
    }
  }
  if (digits == 0 || after_underscore) {
    return NumberError::kSyntax;
  }
  // "010" is a syntax error in Python 3; "00" and "0_0" are zero.
  if (zero_led_decimal && nonzero) {
    return NumberError::kSyntax;
  }
  if (overflow) {
    return NumberError::kOverflow;
  }
  *value = negative ? -static_cast<int64_t>(magnitude) : static_cast<int64_t>(magnitude);
  return NumberError::kNone;
}

struct FieldNumber {
  NumberError error = NumberError::kNone;
  int64_t value = 0;
  // The text left after the suffixes were stripped: what the tool quotes in its errors.
  std::string_view core;
};

// gen_esp32part.py parse_int(v, keywords): strip trailing k/K/m/M (each multiplies; the tool
// recurses, this loops), then int(core, 0), else a keyword of `keywords` (compared lowercased).
FieldNumber ParseField(std::string_view text, std::span<const PartitionKeyword> keywords) {
  uint32_t shift = 0;
  while (!text.empty()) {
    const size_t start = LastUtf8Start(text);
    size_t length = 0;
    const uint32_t c = DecodeUtf8At(text, start, &length);
    if (c == 'k' || c == 'K' || c == 0x212A) {
      shift = shift < 64 ? shift + 10 : shift;
    } else if (c == 'm' || c == 'M') {
      shift = shift < 64 ? shift + 20 : shift;
    } else {
      break;
    }
    text.remove_suffix(length);
  }
  FieldNumber result;
  result.core = text;
  int64_t value = 0;
  const NumberError error = PythonInt(text, &value);
  if (error == NumberError::kOverflow) {
    result.error = error;
    return result;
  }
  if (error == NumberError::kSyntax) {
    if (keywords.empty()) {
      result.error = NumberError::kSyntax;
      return result;
    }
    bool found = false;
    for (const PartitionKeyword& keyword : keywords) {
      if (LowerEquals(text, keyword.name)) {
        value = keyword.value;
        found = true;
        break;
      }
    }
    if (!found) {
      result.error = NumberError::kUnknownKeyword;
      return result;
    }
  }
  if (value != 0 && shift > 0) {
    const uint64_t magnitude =
        value < 0 ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
    if (shift >= 63 || magnitude > (static_cast<uint64_t>(1) << (63 - shift)) - 1) {
      result.error = NumberError::kOverflow;
      return result;
    }
    value = value < 0 ? -static_cast<int64_t>(magnitude << shift)
                      : static_cast<int64_t>(magnitude << shift);
  }
  result.value = value;
  return result;
}

// ---- Rows ----

// A row's numbers as the tool holds them (Python ints) until they are packed: type and subtype
// may exceed a byte, offset and size 32 bits, and size may be negative ("end at").
struct RowNumbers {
  int64_t type = 0;
  int64_t subtype = 0;
  bool has_offset = false;
  int64_t offset = 0;
  int64_t size = 0;
  bool is_type(uint8_t t) const { return type == t; }
  bool is_primary() const {
    return (type == kPartitionTypeBootloader && subtype == kBootloaderSubtypePrimary) ||
           (type == kPartitionTypePartitionTable && subtype == kPartitionTableSubtypePrimary);
  }
};

// Saturating int64 arithmetic for §1.5: values near the limits are out of range anyway and fail
// the final range check; saturation only keeps the sums defined.
int64_t SaturatingAdd(int64_t a, int64_t b) {
  if (b > 0 && a > std::numeric_limits<int64_t>::max() - b) {
    return std::numeric_limits<int64_t>::max();
  }
  if (b < 0 && a < std::numeric_limits<int64_t>::min() - b) {
    return std::numeric_limits<int64_t>::min();
  }
  return a + b;
}

int64_t SaturatingNegate(int64_t a) {
  return a == std::numeric_limits<int64_t>::min() ? std::numeric_limits<int64_t>::max() : -a;
}

Status Report(PartitionDiagnostic* diagnostic, Status status, PartitionRule rule, uint32_t line,
              PartitionField field = PartitionField::kNone, std::string_view text = {},
              int64_t value = 0, int64_t limit = 0, uint32_t index = 0) {
  if (diagnostic != nullptr) {
    *diagnostic = PartitionDiagnostic{};
    diagnostic->rule = rule;
    diagnostic->line = line;
    diagnostic->index = index;
    diagnostic->field = field;
    diagnostic->value = value;
    diagnostic->limit = limit;
    diagnostic->set_text(text);
  }
  return status;
}

// PartitionDefinition.from_csv: one non-comment line into `p` (name, flags, line) and
// `numbers`. Range checks wait until the whole file is read, as in the tool (it only fails when
// packing), so every A rule keeps its order.
Status ParseRow(std::string_view line, uint32_t line_number, const PartitionCsvOptions& options,
                Partition& p, RowNumbers& numbers, PartitionDiagnostic* diagnostic) {
  std::array<std::string_view, 6> fields{};
  size_t count = 0;
  size_t start = 0;
  while (count < fields.size()) {
    const size_t comma = line.find(',', start);
    fields[count++] = PythonStrip(line.substr(start, comma - start));
    if (comma == std::string_view::npos) {
      break;
    }
    start = comma + 1;
  }
  const std::string_view name = fields[0];
  p.line = line_number;
  auto too_big = [&](PartitionField field, std::string_view text) {
    return Report(diagnostic, OutOfRange("csv: value does not fit its binary field", line_number),
                  PartitionRule::kValueOutOfRange, line_number, field, text);
  };

  // Type.
  if (fields[1].empty()) {
    return Report(diagnostic, InvalidArgument("csv: type field is empty", line_number),
                  PartitionRule::kTypeEmpty, line_number, PartitionField::kType);
  }
  const FieldNumber type = ParseField(fields[1], PartitionTypeKeywords());
  if (type.error == NumberError::kUnknownKeyword || type.error == NumberError::kSyntax) {
    return Report(diagnostic, InvalidArgument("csv: type is not a number or keyword", line_number),
                  PartitionRule::kTypeInvalid, line_number, PartitionField::kType, type.core);
  }
  if (type.error == NumberError::kOverflow) {
    return too_big(PartitionField::kType, fields[1]);
  }
  numbers.type = type.value;

  // Subtype: the keywords are those of this row's type (none for a type outside 0..255).
  if (fields[2].empty()) {
    if (numbers.is_type(kPartitionTypeApp)) {
      return Report(diagnostic,
                    InvalidArgument("csv: app partition has an empty subtype", line_number),
                    PartitionRule::kAppSubtypeEmpty, line_number, PartitionField::kSubtype);
    }
    numbers.subtype = kDataSubtypeUndefined;
  } else {
    const bool byte_type = numbers.type >= 0 && numbers.type <= 0xFF;
    const std::span<const PartitionKeyword> keywords =
        byte_type ? PartitionSubtypeKeywords(static_cast<uint8_t>(numbers.type))
                  : std::span<const PartitionKeyword>();
    const FieldNumber subtype = ParseField(fields[2], keywords);
    if (subtype.error == NumberError::kUnknownKeyword || subtype.error == NumberError::kSyntax) {
      return Report(
          diagnostic,
          InvalidArgument("csv: subtype is not a number or keyword of this type", line_number),
          PartitionRule::kSubtypeInvalid, line_number, PartitionField::kSubtype, subtype.core,
          numbers.type);
    }
    if (subtype.error == NumberError::kOverflow) {
      return too_big(PartitionField::kSubtype, fields[2]);
    }
    numbers.subtype = subtype.value;
  }

  // Offset (parse_address): the primary bootloader and table rows take theirs from options.
  std::optional<uint32_t> fixed_offset;
  if (numbers.is_type(kPartitionTypeBootloader) && numbers.subtype == kBootloaderSubtypePrimary) {
    if (!options.primary_bootloader_offset.has_value()) {
      return Report(diagnostic,
                    InvalidArgument("csv: primary bootloader offset is not defined", line_number),
                    PartitionRule::kBootloaderOffsetMissing, line_number, PartitionField::kOffset);
    }
    fixed_offset = options.primary_bootloader_offset;
  } else if (numbers.is_type(kPartitionTypeBootloader) &&
             numbers.subtype == kBootloaderSubtypeRecovery) {
    if (!options.recovery_bootloader_offset.has_value()) {
      return Report(diagnostic,
                    InvalidArgument("csv: recovery bootloader offset is not defined", line_number),
                    PartitionRule::kRecoveryOffsetMissing, line_number, PartitionField::kOffset);
    }
    fixed_offset = options.recovery_bootloader_offset;
  } else if (numbers.is_primary()) {
    fixed_offset = options.table_offset;
  }
  if (fixed_offset.has_value()) {
    numbers.has_offset = true;
    numbers.offset = *fixed_offset;
  } else if (!fields[3].empty()) {
    const FieldNumber offset = ParseField(fields[3], {});
    if (offset.error == NumberError::kSyntax) {
      return Report(diagnostic, InvalidArgument("csv: offset is not a number", line_number),
                    PartitionRule::kNumberInvalid, line_number, PartitionField::kOffset,
                    offset.core);
    }
    if (offset.error == NumberError::kOverflow) {
      return too_big(PartitionField::kOffset, fields[3]);
    }
    numbers.has_offset = true;
    numbers.offset = offset.value;
  }

  // Size (parse_size): bootloader and partition_table rows have fixed sizes.
  if (numbers.is_type(kPartitionTypeBootloader)) {
    if (!options.primary_bootloader_offset.has_value()) {
      return Report(diagnostic,
                    InvalidArgument("csv: primary bootloader offset is not defined", line_number),
                    PartitionRule::kBootloaderOffsetMissing, line_number, PartitionField::kSize);
    }
    numbers.size = int64_t{options.table_offset} - *options.primary_bootloader_offset;
  } else if (numbers.is_type(kPartitionTypePartitionTable)) {
    numbers.size = kPartitionTableSectorSize;
  } else if (fields[4].empty()) {
    return Report(diagnostic, InvalidArgument("csv: size field is empty", line_number),
                  PartitionRule::kSizeEmpty, line_number, PartitionField::kSize);
  } else {
    const FieldNumber size = ParseField(fields[4], {});
    if (size.error == NumberError::kSyntax) {
      return Report(diagnostic, InvalidArgument("csv: size is not a number", line_number),
                    PartitionRule::kNumberInvalid, line_number, PartitionField::kSize, size.core);
    }
    if (size.error == NumberError::kOverflow) {
      return too_big(PartitionField::kSize, fields[4]);
    }
    numbers.size = size.value;
  }

  // Flags: exact, case-sensitive words; spaces inside the list are not trimmed.
  std::string_view flags = fields[5];
  while (true) {
    const size_t colon = flags.find(':');
    const std::string_view word = flags.substr(0, colon);
    bool known = word.empty();
    for (const PartitionKeyword& flag : PartitionFlagWords()) {
      if (word == flag.name) {
        p.flags |= flag.value;
        known = true;
      }
    }
    if (!known) {
      return Report(diagnostic, InvalidArgument("csv: unknown flag", line_number),
                    PartitionRule::kFlagUnknown, line_number, PartitionField::kFlags, word);
    }
    if (colon == std::string_view::npos) {
      break;
    }
    flags.remove_prefix(colon + 1);
  }

  // The tool takes names of any length; ours are stored in a fixed field.
  if (name.size() > kPartitionNameCapacity) {
    return Report(diagnostic, InvalidArgument("csv: name longer than 64 bytes", line_number),
                  PartitionRule::kNameTooLong, line_number, PartitionField::kName, name,
                  static_cast<int64_t>(name.size()));
  }
  p.set_name(name);
  return OkStatus();
}

// posixpath.expandvars on one line: $NAME (ASCII word characters) and ${ANY}; undefined names
// stay as written; substituted values are not scanned again. Returns `line` itself when
// nothing was substituted, else a view of `buffer`; nullopt when the result does not fit.
std::optional<std::string_view> ExpandVariables(std::string_view line,
                                                const PartitionCsvVariables* variables,
                                                std::span<char> buffer) {
  if (variables == nullptr || line.find('$') == std::string_view::npos) {
    return line;
  }
  auto is_word = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
  };
  size_t used = 0;
  bool substituted = false;
  size_t copied_until = 0;
  auto append = [&](std::string_view piece) {
    if (buffer.size() - used < piece.size()) {
      return false;
    }
    std::copy(piece.begin(), piece.end(), buffer.begin() + static_cast<ptrdiff_t>(used));
    used += piece.size();
    return true;
  };
  size_t i = 0;
  while (true) {
    const size_t dollar = line.find('$', i);
    if (dollar == std::string_view::npos) {
      break;
    }
    std::string_view name;
    size_t match_end = 0;
    if (dollar + 1 < line.size() && is_word(line[dollar + 1])) {
      size_t end = dollar + 1;
      while (end < line.size() && is_word(line[end])) {
        ++end;
      }
      name = line.substr(dollar + 1, end - dollar - 1);
      match_end = end;
    } else if (dollar + 1 < line.size() && line[dollar + 1] == '{') {
      const size_t close = line.find('}', dollar + 2);
      if (close == std::string_view::npos) {
        i = dollar + 1;
        continue;
      }
      name = line.substr(dollar + 2, close - dollar - 2);
      match_end = close + 1;
    } else {
      i = dollar + 1;
      continue;
    }
    const std::optional<std::string_view> value = variables->Lookup(name);
    if (value.has_value()) {
      if (!append(line.substr(copied_until, dollar - copied_until)) || !append(*value)) {
        return std::nullopt;
      }
      copied_until = match_end;
      substituted = true;
    }
    i = match_end;
  }
  if (!substituted) {
    return line;
  }
  if (!append(line.substr(copied_until))) {
    return std::nullopt;
  }
  return std::string_view(buffer.data(), used);
}

// The rest of the tool's A0 regex, (?<!\\)\$([A-Za-z_][A-Za-z0-9_]*), matched at the line
// start: the name, or empty when the line does not start with one.
std::string_view LeadingVariable(std::string_view line) {
  auto is_start = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
  };
  if (line.size() < 2 || line[0] != '$' || !is_start(line[1])) {
    return {};
  }
  size_t end = 2;
  while (end < line.size() && (is_start(line[end]) || (line[end] >= '0' && line[end] <= '9'))) {
    ++end;
  }
  return line.substr(1, end - 1);
}

std::string_view SkipBom(std::string_view text) {
  if (text.substr(0, kUtf8Bom.size()) == kUtf8Bom) {
    text.remove_prefix(kUtf8Bom.size());
  }
  return text;
}

// ---- Writing ----

// Appends decimal or hex digits of `value` to `out` at `*used`.
void AppendNumber(uint32_t value, uint32_t base, std::span<char> out, size_t* used) {
  char digits[10];
  size_t count = 0;
  do {
    digits[count++] = "0123456789abcdef"[value % base];
    value /= base;
  } while (value != 0);
  while (count > 0) {
    out[(*used)++] = digits[--count];
  }
}

void AppendText(std::string_view text, std::span<char> out, size_t* used) {
  for (char c : text) {
    out[(*used)++] = c;
  }
}

}  // namespace

Result<int64_t> ParsePartitionCsvNumber(std::string_view text) {
  if (internal::Utf8ValidPrefix(text) != text.size()) {
    return InvalidArgument("csv: not a number");
  }
  const FieldNumber number = ParseField(text, {});
  switch (number.error) {
    case NumberError::kNone:
      return number.value;
    case NumberError::kOverflow:
      return OutOfRange("csv: number beyond 64 bits");
    case NumberError::kSyntax:
    case NumberError::kUnknownKeyword:
      return InvalidArgument("csv: not a number");
  }
  return InvalidArgument("csv: not a number");
}

std::string_view PartitionCsvLine(std::string_view text, uint32_t line) {
  text = SkipBom(text);
  text = text.substr(0, internal::Utf8ValidPrefix(text));
  LineReader reader(text);
  std::string_view current;
  while (reader.Next(&current)) {
    if (reader.number() == line) {
      return current;
    }
  }
  return {};
}

Result<PartitionTable> ParsePartitionCsv(std::string_view text, const PartitionCsvOptions& options,
                                         PartitionDiagnostic* diagnostic) {
  // get_encoding(): FF FE (which also starts a UTF-32 LE BOM) and FE FF pick UTF-16, 00 00 FE
  // FF picks UTF-32. Decoding those is the CLI's job.
  if (text.substr(0, 2) == "\xFF\xFE" || text.substr(0, 2) == "\xFE\xFF" ||
      text.substr(0, 4) == std::string_view("\x00\x00\xFE\xFF", 4)) {
    return Report(diagnostic, Unimplemented("csv: UTF-16/32 text is not supported, save as UTF-8"),
                  PartitionRule::kTextEncodingUnsupported, 0);
  }
  text = SkipBom(text);
  // The tool decodes the whole file first, so bad UTF-8 anywhere wins over every other error.
  const size_t valid = internal::Utf8ValidPrefix(text);
  if (valid != text.size()) {
    // The valid prefix splits the same way the whole text would up to the bad byte.
    uint32_t line = 1;
    const std::string_view prefix = text.substr(0, valid);
    for (size_t i = 0; i < prefix.size();) {
      const size_t length = LineBreakLength(prefix, i);
      line += length != 0 ? 1 : 0;
      i += length != 0 ? length : 1;
    }
    return Report(diagnostic, InvalidArgument("csv: text is not valid UTF-8", line),
                  PartitionRule::kTextNotUtf8, line);
  }
  if (options.primary_bootloader_offset.has_value() &&
      *options.primary_bootloader_offset >= options.table_offset) {
    return Report(diagnostic,
                  InvalidArgument("csv: primary bootloader offset must be below the partition "
                                  "table"),
                  PartitionRule::kBootloaderOffsetInvalid, 0);
  }

  PartitionTable table;
  std::array<RowNumbers, kMaxPartitionEntries> numbers{};
  std::array<char, kPartitionCsvLineCapacity> buffer;
  LineReader reader(text);
  std::string_view raw;
  while (reader.Next(&raw)) {
    const uint32_t line_number = reader.number();
    const std::optional<std::string_view> expanded =
        ExpandVariables(raw, options.variables, buffer);
    if (!expanded.has_value()) {
      return Report(diagnostic,
                    ResourceExhausted("csv: line too long after variable expansion", line_number),
                    PartitionRule::kLineTooLong, line_number, PartitionField::kNone, {},
                    kPartitionCsvLineCapacity);
    }
    // A0 looks at the expanded line before it is trimmed, and has no "Error at line" prefix
    // in the tool; it still comes in line order, before any later row's error.
    const std::string_view variable = LeadingVariable(*expanded);
    if (!variable.empty()) {
      return Report(diagnostic, InvalidArgument("csv: unknown variable", line_number),
                    PartitionRule::kUnknownVariable, line_number, PartitionField::kNone, variable);
    }
    const std::string_view line = PythonStrip(*expanded);
    if (line.empty() || line.front() == '#') {
      continue;
    }
    Partition p;
    RowNumbers row;
    ALOFT_TRY(ParseRow(line, line_number, options, p, row, diagnostic));
    // The tool fails only when packing (E); a fixed table has to stop at the 96th row.
    if (table.size() == kMaxPartitionEntries) {
      return Report(diagnostic, ResourceExhausted("csv: more than 95 partitions", line_number),
                    PartitionRule::kTooManyEntries, line_number, PartitionField::kNone, {},
                    static_cast<int64_t>(kMaxPartitionEntries) + 1);
    }
    numbers[table.size()] = row;
    ALOFT_TRY(table.Add(p));
  }

  // §1.5: automatic offsets and "end at" sizes, with A1/A2, in file order.
  const std::span<Partition> entries = table.mutable_entries();
  int64_t last_end = int64_t{options.table_offset} + kPartitionTableSectorSize;
  for (size_t i = 0; i < entries.size(); ++i) {
    const Partition& p = entries[i];
    RowNumbers& row = numbers[i];
    if (row.is_primary()) {
      continue;
    }
    if (row.has_offset && row.offset < last_end) {
      // The tool picks the message with `e == res[0]`, PartitionDefinition.__eq__ (name, type,
      // subtype, offset, size), so a later row identical to the first also gets A1's text.
      const RowNumbers& first = numbers[0];
      const bool same_as_first =
          i == 0 ||
          (p.name() == entries[0].name() && row.type == first.type &&
           row.subtype == first.subtype && row.offset == first.offset && row.size == first.size);
      return Report(
          diagnostic, InvalidArgument("csv: partitions overlap", p.line),
          same_as_first ? PartitionRule::kOffsetInTableSector : PartitionRule::kOverlapInFileOrder,
          p.line, PartitionField::kOffset, {}, row.offset, last_end, static_cast<uint32_t>(i));
    }
    if (!row.has_offset) {
      // ALIGNMENT.get(type, 0x1000): only type 0 (app) aligns to 64 KiB.
      const int64_t alignment = row.is_type(kPartitionTypeApp) ? 0x10000 : 0x1000;
      if (last_end % alignment != 0) {
        last_end = SaturatingAdd(last_end, alignment - last_end % alignment);
      }
      row.offset = last_end;
      row.has_offset = true;
    }
    if (row.size < 0) {
      row.size = SaturatingAdd(SaturatingNegate(row.size), SaturatingNegate(row.offset));
    }
    last_end = SaturatingAdd(row.offset, row.size);
  }

  // The binary fields are u8 and u32; the tool only finds out when struct.pack fails, row by
  // row, field by field.
  for (size_t i = 0; i < entries.size(); ++i) {
    Partition& p = entries[i];
    const RowNumbers& row = numbers[i];
    const struct {
      PartitionField field;
      int64_t value;
      int64_t max;
    } checks[] = {{PartitionField::kType, row.type, 0xFF},
                  {PartitionField::kSubtype, row.subtype, 0xFF},
                  {PartitionField::kOffset, row.offset, kMaxField},
                  {PartitionField::kSize, row.size, kMaxField}};
    for (const auto& check : checks) {
      if (check.value < 0 || check.value > check.max) {
        return Report(diagnostic, OutOfRange("csv: value does not fit its binary field", p.line),
                      PartitionRule::kValueOutOfRange, p.line, check.field, {}, check.value,
                      check.max, static_cast<uint32_t>(i));
      }
    }
    p.type = static_cast<uint8_t>(row.type);
    p.subtype = static_cast<uint8_t>(row.subtype);
    p.offset = static_cast<uint32_t>(row.offset);
    p.size = static_cast<uint32_t>(row.size);
  }
  return table;
}

Status WritePartitionCsv(const PartitionTable& table, PartitionCsvSink& sink) {
  ALOFT_TRY(sink.Write("# ESP-IDF Partition Table\n# Name, Type, SubType, Offset, Size, Flags\n"));
  for (const Partition& p : table.entries()) {
    // name (64) + type (15) + subtype (9) + offset (10) + size (10) + flags (18) + separators.
    std::array<char, 160> line;
    size_t used = 0;
    AppendText(p.name(), line, &used);
    line[used++] = ',';
    AppendText(PartitionTypeName(p.type).view(), line, &used);
    line[used++] = ',';
    AppendText(PartitionSubtypeName(p.type, p.subtype).view(), line, &used);
    AppendText(",0x", line, &used);
    AppendNumber(p.offset, 16, line, &used);
    line[used++] = ',';
    // addr_format(size, True): M, else K, else hex (so a size of 0 prints "0M").
    if (p.size % 0x100000 == 0) {
      AppendNumber(p.size / 0x100000, 10, line, &used);
      line[used++] = 'M';
    } else if (p.size % 0x400 == 0) {
      AppendNumber(p.size / 0x400, 10, line, &used);
      line[used++] = 'K';
    } else {
      AppendText("0x", line, &used);
      AppendNumber(p.size, 16, line, &used);
    }
    line[used++] = ',';
    bool first_flag = true;
    for (const PartitionKeyword& flag : PartitionFlagWords()) {
      if ((p.flags & flag.value) != 0) {
        if (!first_flag) {
          line[used++] = ':';
        }
        AppendText(flag.name, line, &used);
        first_flag = false;
      }
    }
    line[used++] = '\n';
    ALOFT_TRY(sink.Write({line.data(), used}));
  }
  return OkStatus();
}

}  // namespace aloft::core
