#include "core/format/partition_table.h"

#include <algorithm>
#include <array>

#include "core/format/internal/utf8.h"
#include "core/hash.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// The tool's dictionaries, in its insertion order (gen_esp32part.py TYPES, SUBTYPES; the
// ota_N and tee_N app subtypes are appended after factory and test).
constexpr PartitionKeyword kTypeKeywords[] = {
    {"bootloader", kPartitionTypeBootloader},
    {"partition_table", kPartitionTypePartitionTable},
    {"app", kPartitionTypeApp},
    {"data", kPartitionTypeData},
};

constexpr PartitionKeyword kAppSubtypeKeywords[] = {
    {"factory", kAppSubtypeFactory},
    {"test", kAppSubtypeTest},
    {"ota_0", 0x10},
    {"ota_1", 0x11},
    {"ota_2", 0x12},
    {"ota_3", 0x13},
    {"ota_4", 0x14},
    {"ota_5", 0x15},
    {"ota_6", 0x16},
    {"ota_7", 0x17},
    {"ota_8", 0x18},
    {"ota_9", 0x19},
    {"ota_10", 0x1A},
    {"ota_11", 0x1B},
    {"ota_12", 0x1C},
    {"ota_13", 0x1D},
    {"ota_14", 0x1E},
    {"ota_15", 0x1F},
    {"tee_0", kAppSubtypeTee0},
    {"tee_1", kAppSubtypeTee1},
};

constexpr PartitionKeyword kDataSubtypeKeywords[] = {
    {"ota", kDataSubtypeOta},
    {"phy", kDataSubtypePhy},
    {"nvs", kDataSubtypeNvs},
    {"coredump", kDataSubtypeCoredump},
    {"nvs_keys", kDataSubtypeNvsKeys},
    {"efuse", kDataSubtypeEfuse},
    {"undefined", kDataSubtypeUndefined},
    {"esphttpd", kDataSubtypeEsphttpd},
    {"fat", kDataSubtypeFat},
    {"spiffs", kDataSubtypeSpiffs},
    {"littlefs", kDataSubtypeLittlefs},
    {"tee_ota", kDataSubtypeTeeOta},
};

constexpr PartitionKeyword kBootloaderSubtypeKeywords[] = {
    {"primary", kBootloaderSubtypePrimary},
    {"ota", kBootloaderSubtypeOta},
    {"recovery", kBootloaderSubtypeRecovery},
};

constexpr PartitionKeyword kPartitionTableSubtypeKeywords[] = {
    {"primary", kPartitionTableSubtypePrimary},
    {"ota", kPartitionTableSubtypeOta},
};

constexpr PartitionKeyword kFlagWords[] = {
    {"encrypted", kPartitionFlagEncrypted},
    {"readonly", kPartitionFlagReadonly},
};

std::optional<std::string_view> KeywordFor(std::span<const PartitionKeyword> keywords,
                                           uint32_t value) {
  for (const PartitionKeyword& keyword : keywords) {
    if (keyword.value == value) {
      return keyword.name;
    }
  }
  return std::nullopt;
}

PartitionKeywordText MakeKeywordText(std::optional<std::string_view> keyword, uint8_t value) {
  PartitionKeywordText text;
  if (keyword.has_value()) {
    // Every keyword is shorter than the buffer ("partition_table" is the longest, 15).
    std::copy(keyword->begin(), keyword->end(), text.chars.begin());
    text.size = static_cast<uint8_t>(keyword->size());
    return text;
  }
  char digits[3];
  uint8_t count = 0;
  uint8_t rest = value;
  do {
    digits[count++] = static_cast<char>('0' + rest % 10);
    rest = static_cast<uint8_t>(rest / 10);
  } while (rest != 0);
  while (count > 0) {
    text.chars[text.size++] = digits[--count];
  }
  return text;
}

bool IsPrimaryBootloaderOrTable(const Partition& p) {
  return (p.type == kPartitionTypeBootloader && p.subtype == kBootloaderSubtypePrimary) ||
         (p.type == kPartitionTypePartitionTable && p.subtype == kPartitionTableSubtypePrimary);
}

// Fills the diagnostic (when there is one) and returns `status`.
Status Fail(PartitionDiagnostic* diagnostic, Status status, PartitionRule rule, uint32_t index,
            int64_t value = 0, int64_t limit = 0, uint32_t other_index = 0) {
  if (diagnostic != nullptr) {
    *diagnostic = PartitionDiagnostic{};
    diagnostic->rule = rule;
    diagnostic->index = index;
    diagnostic->other_index = other_index;
    diagnostic->value = value;
    diagnostic->limit = limit;
  }
  return status;
}

bool IsAllErased(ConstByteSpan row) {
  return std::all_of(row.begin(), row.end(), [](std::byte b) { return b == std::byte{0xFF}; });
}

// The MD5 of the entry rows that start at `row_starts`: what the tool's running digest holds
// when it meets an MD5 row (all entry rows so far, even past an earlier MD5 row). Computed
// afresh because the Crypto port has no "digest so far".
Status Md5OfRows(ConstByteSpan bytes, std::span<const uint32_t> row_starts, port::Crypto& crypto,
                 ByteSpan digest) {
  Hash md5(crypto, port::HashAlgorithm::kMd5);
  ALOFT_TRY(md5.Begin());
  for (uint32_t start : row_starts) {
    ALOFT_TRY(md5.Update(bytes.subspan(start, kPartitionEntrySize)));
  }
  return md5.Finish(digest);
}

void HexDigest(ConstByteSpan digest, PartitionDiagnostic& diagnostic) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::array<char, 2 * kPartitionMd5DigestSize> hex{};
  for (size_t i = 0; i < kPartitionMd5DigestSize; ++i) {
    const auto b = static_cast<uint8_t>(digest[i]);
    hex[2 * i] = kDigits[b >> 4];
    hex[2 * i + 1] = kDigits[b & 0xF];
  }
  diagnostic.set_text({hex.data(), hex.size()});
}

}  // namespace

std::span<const PartitionKeyword> PartitionTypeKeywords() { return kTypeKeywords; }

std::span<const PartitionKeyword> PartitionSubtypeKeywords(uint8_t type) {
  switch (type) {
    case kPartitionTypeApp:
      return kAppSubtypeKeywords;
    case kPartitionTypeData:
      return kDataSubtypeKeywords;
    case kPartitionTypeBootloader:
      return kBootloaderSubtypeKeywords;
    case kPartitionTypePartitionTable:
      return kPartitionTableSubtypeKeywords;
    default:  // a plain number, not one of our enums: the other 252 types have no keywords
      return {};
  }
}

std::span<const PartitionKeyword> PartitionFlagWords() { return kFlagWords; }

std::optional<std::string_view> PartitionTypeKeyword(uint8_t type) {
  return KeywordFor(kTypeKeywords, type);
}

std::optional<std::string_view> PartitionSubtypeKeyword(uint8_t type, uint8_t subtype) {
  return KeywordFor(PartitionSubtypeKeywords(type), subtype);
}

PartitionKeywordText PartitionTypeName(uint8_t type) {
  return MakeKeywordText(PartitionTypeKeyword(type), type);
}

PartitionKeywordText PartitionSubtypeName(uint8_t type, uint8_t subtype) {
  return MakeKeywordText(PartitionSubtypeKeyword(type, subtype), subtype);
}

uint32_t PartitionOffsetAlignment(uint8_t type) {
  return type == kPartitionTypeApp ? 0x10000 : 0x1000;
}

uint32_t PartitionSizeAlignment(uint8_t type, SecureBootMode secure) {
  if (type != kPartitionTypeApp) {
    return 1;
  }
  switch (secure) {
    case SecureBootMode::kNone:
    case SecureBootMode::kV2:
      return 0x1000;
    case SecureBootMode::kV1:
      // The v1 signature block sits at the very end of a 64 KiB block.
      return 0x10000;
  }
  return 0x1000;
}

void Partition::set_name(std::string_view name) {
  ALOFT_CHECK(name.size() <= kPartitionNameCapacity);
  std::copy(name.begin(), name.end(), name_bytes.begin());
  name_size = static_cast<uint8_t>(name.size());
}

const Partition& PartitionTable::operator[](size_t index) const {
  ALOFT_CHECK(index < count_);
  return entries_[index];
}

Status PartitionTable::Add(const Partition& partition) {
  if (count_ == entries_.size()) {
    return ResourceExhausted("partition table: more than 95 entries",
                             static_cast<uint32_t>(count_));
  }
  entries_[count_++] = partition;
  return OkStatus();
}

void PartitionDiagnostic::set_text(std::string_view text) {
  text_size = static_cast<uint8_t>(std::min(text.size(), text_chars.size()));
  std::copy_n(text.begin(), text_size, text_chars.begin());
}

const char* PartitionRuleId(PartitionRule rule) {
  switch (rule) {
    case PartitionRule::kNone:
      return "none";
    case PartitionRule::kUnknownVariable:
      return "A0";
    case PartitionRule::kOffsetInTableSector:
      return "A1";
    case PartitionRule::kOverlapInFileOrder:
      return "A2";
    case PartitionRule::kTypeEmpty:
      return "A3";
    case PartitionRule::kTypeInvalid:
      return "A4";
    case PartitionRule::kAppSubtypeEmpty:
      return "A5";
    case PartitionRule::kSubtypeInvalid:
      return "A6";
    case PartitionRule::kNumberInvalid:
      return "A7";
    case PartitionRule::kSizeEmpty:
      return "A8";
    case PartitionRule::kFlagUnknown:
      return "A9";
    case PartitionRule::kBootloaderOffsetMissing:
      return "bootloader-offset-missing";
    case PartitionRule::kRecoveryOffsetMissing:
      return "recovery-offset-missing";
    case PartitionRule::kBootloaderOffsetInvalid:
      return "bootloader-offset-invalid";
    case PartitionRule::kTextEncodingUnsupported:
      return "csv-encoding";
    case PartitionRule::kTextNotUtf8:
      return "csv-utf8";
    case PartitionRule::kLineTooLong:
      return "csv-line-too-long";
    case PartitionRule::kNameTooLong:
      return "csv-name-too-long";
    case PartitionRule::kValueOutOfRange:
      return "value-range";
    case PartitionRule::kOffsetMisaligned:
      return "B1";
    case PartitionRule::kSizeMisaligned:
      return "B2";
    case PartitionRule::kReadonlyNotAllowed:
      return "B5";
    case PartitionRule::kNvsTooSmall:
      return "B6";
    case PartitionRule::kDuplicateName:
      return "C1";
    case PartitionRule::kBelowTableEnd:
      return "C2";
    case PartitionRule::kOverlap:
      return "C3";
    case PartitionRule::kMultipleOtadata:
      return "C4";
    case PartitionRule::kOtadataWrongSize:
      return "C5";
    case PartitionRule::kMultipleTeeOtadata:
      return "C6";
    case PartitionRule::kTeeOtadataWrongSize:
      return "C7";
    case PartitionRule::kFlashTooSmall:
      return "D";
    case PartitionRule::kTooManyEntries:
      return "E";
    case PartitionRule::kBinaryLength:
      return "bin-length";
    case PartitionRule::kBinaryNoEndMarker:
      return "bin-end-marker";
    case PartitionRule::kBinaryMd5Mismatch:
      return "bin-md5";
    case PartitionRule::kBinaryBadMagic:
      return "bin-magic";
    case PartitionRule::kBinaryLabelNotUtf8:
      return "bin-label-utf8";
  }
  return "unknown";
}

Result<PartitionTable> ParsePartitionTableBinary(ConstByteSpan bytes, port::Crypto& crypto,
                                                 PartitionDiagnostic* diagnostic) {
  PartitionTable table;
  std::array<uint32_t, kMaxPartitionEntries> entry_rows{};
  std::array<std::byte, kPartitionMd5DigestSize> digest{};
  bool digest_valid = false;
  for (size_t start = 0; start < bytes.size(); start += kPartitionEntrySize) {
    const auto row_index = static_cast<uint32_t>(start / kPartitionEntrySize);
    if (bytes.size() - start < kPartitionEntrySize) {
      return Fail(diagnostic,
                  DataLoss("partition table: length is not a multiple of 32 bytes", row_index),
                  PartitionRule::kBinaryLength, row_index);
    }
    const ConstByteSpan row = bytes.subspan(start, kPartitionEntrySize);
    if (IsAllErased(row)) {
      return table;
    }
    // Only the two magic bytes are compared, as the tool does; bytes 2-15 may hold anything.
    if (LoadLe16(row, kPartitionMagicOffset) == kPartitionMd5Magic) {
      // Recomputed only after new entries, so a run of MD5 rows costs one hash.
      if (!digest_valid) {
        ALOFT_TRY(Md5OfRows(bytes, std::span(entry_rows).first(table.size()), crypto, digest));
        digest_valid = true;
      }
      const ConstByteSpan stored = row.subspan(kPartitionMd5DigestOffset, kPartitionMd5DigestSize);
      if (!std::equal(digest.begin(), digest.end(), stored.begin())) {
        Status status = Fail(diagnostic, DataLoss("partition table: md5 mismatch", row_index),
                             PartitionRule::kBinaryMd5Mismatch, row_index);
        if (diagnostic != nullptr) {
          HexDigest(digest, *diagnostic);
        }
        return status;
      }
      // A matching row is skipped and reading goes on, as in PartitionTable.from_binary.
      continue;
    }
    if (LoadLe16(row, kPartitionMagicOffset) != kPartitionMagic) {
      return Fail(diagnostic, DataLoss("partition table: invalid magic bytes", row_index),
                  PartitionRule::kBinaryBadMagic, row_index, LoadLe16(row, kPartitionMagicOffset));
    }
    const std::string_view label = LoadFixedText(row, kPartitionLabelOffset, kPartitionLabelSize);
    if (internal::Utf8ValidPrefix(label) != label.size()) {
      return Fail(diagnostic, DataLoss("partition table: label is not valid UTF-8", row_index),
                  PartitionRule::kBinaryLabelNotUtf8, row_index);
    }
    Partition p;
    p.set_name(label);
    p.type = LoadU8(row, kPartitionTypeOffset);
    p.subtype = LoadU8(row, kPartitionSubtypeOffset);
    p.offset = LoadLe32(row, kPartitionOffsetOffset);
    p.size = LoadLe32(row, kPartitionSizeOffset);
    const uint32_t flags = LoadLe32(row, kPartitionFlagsOffset);
    p.flags = flags & kPartitionKnownFlags;
    p.dropped_flags = flags & ~kPartitionKnownFlags;
    if (table.size() == kMaxPartitionEntries) {
      return Fail(diagnostic, ResourceExhausted("partition table: more than 95 entries", row_index),
                  PartitionRule::kTooManyEntries, row_index,
                  static_cast<int64_t>(table.size()) + 1);
    }
    entry_rows[table.size()] = static_cast<uint32_t>(start);
    digest_valid = false;
    ALOFT_TRY(table.Add(p));
  }
  return Fail(diagnostic,
              DataLoss("partition table: missing end-of-table marker",
                       static_cast<uint32_t>(bytes.size() / kPartitionEntrySize)),
              PartitionRule::kBinaryNoEndMarker,
              static_cast<uint32_t>(bytes.size() / kPartitionEntrySize));
}

Status SerializePartitionTableBinary(const PartitionTable& table, port::Crypto& crypto,
                                     ByteSpan out) {
  if (out.size() < kPartitionTableBinarySize) {
    return OutOfRange("partition table: output buffer smaller than 0xC00 bytes",
                      static_cast<uint32_t>(out.size()));
  }
  // E: the tool fails when entries + MD5 row reach 0xC00, so an end marker always fits.
  if ((table.size() + 1) * kPartitionEntrySize >= kPartitionTableBinarySize) {
    return ResourceExhausted("partition table: binary length reaches 0xC00 bytes",
                             static_cast<uint32_t>(table.size()));
  }
  const ByteSpan image = out.first(kPartitionTableBinarySize);
  std::fill(image.begin(), image.end(), std::byte{0xFF});
  size_t at = 0;
  for (const Partition& p : table.entries()) {
    const ByteSpan row = image.subspan(at, kPartitionEntrySize);
    StoreLe16(row, kPartitionMagicOffset, kPartitionMagic);
    StoreU8(row, kPartitionTypeOffset, p.type);
    StoreU8(row, kPartitionSubtypeOffset, p.subtype);
    StoreLe32(row, kPartitionOffsetOffset, p.offset);
    StoreLe32(row, kPartitionSizeOffset, p.size);
    // struct.pack("16s") semantics: the first 16 bytes, NUL-padded.
    const std::string_view label = p.label();
    for (size_t i = 0; i < kPartitionLabelSize; ++i) {
      StoreU8(row, kPartitionLabelOffset + i,
              i < label.size() ? static_cast<uint8_t>(label[i]) : uint8_t{0});
    }
    StoreLe32(row, kPartitionFlagsOffset, p.flags & kPartitionKnownFlags);
    at += kPartitionEntrySize;
  }
  const ByteSpan md5_row = image.subspan(at, kPartitionEntrySize);
  StoreLe16(md5_row, kPartitionMagicOffset, kPartitionMd5Magic);
  Hash md5(crypto, port::HashAlgorithm::kMd5);
  ALOFT_TRY(md5.Begin());
  ALOFT_TRY(md5.Update(image.first(at)));
  return md5.Finish(md5_row.subspan(kPartitionMd5DigestOffset, kPartitionMd5DigestSize));
}

void SortPartitionsByOffset(const PartitionTable& table, std::span<uint8_t> order) {
  ALOFT_CHECK(order.size() >= table.size());
  const std::span<const Partition> entries = table.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    order[i] = static_cast<uint8_t>(i);
  }
  // Insertion sort: stable like Python's sorted(), allocation-free, and n <= 95.
  for (size_t i = 1; i < entries.size(); ++i) {
    const uint8_t moving = order[i];
    size_t j = i;
    while (j > 0 && entries[order[j - 1]].offset > entries[moving].offset) {
      order[j] = order[j - 1];
      --j;
    }
    order[j] = moving;
  }
}

Status ValidatePartitionTable(const PartitionTable& table,
                              const PartitionValidationOptions& options,
                              PartitionDiagnostic* diagnostic) {
  const std::span<const Partition> entries = table.entries();

  // B: PartitionDefinition.verify(), entry by entry.
  for (size_t i = 0; i < entries.size(); ++i) {
    const Partition& p = entries[i];
    const auto index = static_cast<uint32_t>(i);
    const uint32_t offset_alignment = PartitionOffsetAlignment(p.type);
    if (p.offset % offset_alignment != 0) {
      return Fail(diagnostic, InvalidArgument("partition: offset is not aligned", index),
                  PartitionRule::kOffsetMisaligned, index, p.offset, offset_alignment);
    }
    const uint32_t size_alignment = PartitionSizeAlignment(p.type, options.secure);
    if (p.size % size_alignment != 0) {
      return Fail(diagnostic, InvalidArgument("partition: app size is not aligned", index),
                  PartitionRule::kSizeMisaligned, index, p.size, size_alignment);
    }
    if (p.type == kPartitionTypeData &&
        (p.subtype == kDataSubtypeOta || p.subtype == kDataSubtypeCoredump) && p.readonly()) {
      return Fail(diagnostic,
                  InvalidArgument("partition: otadata and coredump cannot be readonly", index),
                  PartitionRule::kReadonlyNotAllowed, index);
    }
    if (p.type == kPartitionTypeData && p.subtype == kDataSubtypeNvs &&
        p.size < kNvsReadWriteMinSize && !p.readonly()) {
      return Fail(diagnostic,
                  InvalidArgument("partition: nvs below 0x3000 bytes must be readonly", index),
                  PartitionRule::kNvsTooSmall, index, p.size, kNvsReadWriteMinSize);
    }
  }

  // C1: names are compared whole (a CSV name longer than the label included).
  for (size_t i = 1; i < entries.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (entries[i].name() == entries[j].name()) {
        return Fail(
            diagnostic,
            InvalidArgument("partition table: names must be unique", static_cast<uint32_t>(i)),
            PartitionRule::kDuplicateName, static_cast<uint32_t>(i), 0, 0,
            static_cast<uint32_t>(j));
      }
    }
  }

  // C2, C3: in offset order.
  std::array<uint8_t, kMaxPartitionEntries> order{};
  SortPartitionsByOffset(table, order);
  const uint64_t first_free = uint64_t{options.table_offset} + kPartitionTableSectorSize;
  for (size_t k = 0; k < entries.size(); ++k) {
    const Partition& p = entries[order[k]];
    const uint32_t index = order[k];
    if (p.offset < first_free && !IsPrimaryBootloaderOrTable(p)) {
      return Fail(
          diagnostic,
          InvalidArgument("partition: offset is below the end of the partition table", index),
          PartitionRule::kBelowTableEnd, index, p.offset, static_cast<int64_t>(first_free));
    }
    if (k > 0) {
      const Partition& previous = entries[order[k - 1]];
      if (p.offset < previous.end()) {
        return Fail(diagnostic, InvalidArgument("partition: overlaps another partition", index),
                    PartitionRule::kOverlap, index, p.offset, static_cast<int64_t>(previous.end()),
                    order[k - 1]);
      }
    }
  }

  // C4-C7: one otadata (and one TEE otadata), of exactly two sectors.
  struct OtadataRule {
    uint8_t subtype;
    PartitionRule multiple;
    const char* multiple_reason;
    PartitionRule size;
    const char* size_reason;
  };
  constexpr OtadataRule kOtadataRules[] = {
      {kDataSubtypeOta, PartitionRule::kMultipleOtadata,
       "partition table: more than one otadata partition", PartitionRule::kOtadataWrongSize,
       "partition: otadata size must be 0x2000"},
      {kDataSubtypeTeeOta, PartitionRule::kMultipleTeeOtadata,
       "partition table: more than one tee otadata partition", PartitionRule::kTeeOtadataWrongSize,
       "partition: tee otadata size must be 0x2000"},
  };
  for (const OtadataRule& rule : kOtadataRules) {
    std::optional<uint32_t> first;
    for (size_t i = 0; i < entries.size(); ++i) {
      if (entries[i].type != kPartitionTypeData || entries[i].subtype != rule.subtype) {
        continue;
      }
      const auto index = static_cast<uint32_t>(i);
      if (first.has_value()) {
        return Fail(diagnostic, InvalidArgument(rule.multiple_reason, index), rule.multiple, index,
                    0, 0, *first);
      }
      first = index;
    }
    if (first.has_value() && entries[*first].size != kOtadataRequiredSize) {
      return Fail(diagnostic, InvalidArgument(rule.size_reason, *first), rule.size, *first,
                  entries[*first].size, kOtadataRequiredSize);
    }
  }

  // D: PartitionTable.flash_size() takes sorted(reverse=True)[0], the highest offset (the
  // first of equal offsets in table order, since Python's reverse sort stays stable).
  if (options.flash_size.has_value() && !entries.empty()) {
    size_t highest = 0;
    for (size_t i = 1; i < entries.size(); ++i) {
      if (entries[i].offset > entries[highest].offset) {
        highest = i;
      }
    }
    const uint64_t end = entries[highest].end();
    if (end > *options.flash_size) {
      const auto index = static_cast<uint32_t>(highest);
      return Fail(diagnostic, OutOfRange("partition table: does not fit in the flash size", index),
                  PartitionRule::kFlashTooSmall, index, static_cast<int64_t>(end),
                  *options.flash_size);
    }
  }
  return OkStatus();
}

size_t FindPartitionWarnings(const PartitionTable& table, std::span<PartitionWarning> out) {
  size_t count = 0;
  auto add = [&](size_t index, PartitionWarningKind kind) {
    if (count < out.size()) {
      out[count] = PartitionWarning{static_cast<uint32_t>(index), kind};
    }
    ++count;
  };
  const std::span<const Partition> entries = table.entries();
  for (size_t i = 0; i < entries.size(); ++i) {
    const Partition& p = entries[i];
    const std::string_view name = p.name();
    // B3 and B4 compare the name exactly (case-sensitive), as the tool's dict lookups do.
    for (const PartitionKeyword& keyword : kTypeKeywords) {
      if (keyword.name == name && keyword.value != p.type) {
        add(i, PartitionWarningKind::kNameIsTypeKeyword);
      }
    }
    bool is_subtype_keyword = false;
    for (uint8_t type = 0; type <= kPartitionTypePartitionTable; ++type) {
      for (const PartitionKeyword& keyword : PartitionSubtypeKeywords(type)) {
        is_subtype_keyword = is_subtype_keyword || keyword.name == name;
      }
    }
    if (is_subtype_keyword) {
      bool matches_own = false;
      for (const PartitionKeyword& keyword : PartitionSubtypeKeywords(p.type)) {
        matches_own = matches_own || (keyword.name == name && keyword.value == p.subtype);
      }
      if (!matches_own) {
        add(i, PartitionWarningKind::kNameIsSubtypeKeyword);
      }
    }
    if (name.size() > kPartitionLabelSize) {
      add(i, PartitionWarningKind::kNameTruncated);
    }
    if (p.dropped_flags != 0) {
      add(i, PartitionWarningKind::kUnknownFlagBits);
    }
  }
  return count;
}

const Partition* FindPartitionByName(const PartitionTable& table, std::string_view name) {
  for (const Partition& p : table.entries()) {
    if (p.name() == name) {
      return &p;
    }
  }
  return nullptr;
}

const Partition* FindPartition(const PartitionTable& table, uint8_t type, uint8_t subtype) {
  for (const Partition& p : table.entries()) {
    if (p.type == type && p.subtype == subtype) {
      return &p;
    }
  }
  return nullptr;
}

const Partition* FindOtadataPartition(const PartitionTable& table) {
  return FindPartition(table, kPartitionTypeData, kDataSubtypeOta);
}

const Partition* FindFactoryApp(const PartitionTable& table) {
  return FindPartition(table, kPartitionTypeApp, kAppSubtypeFactory);
}

const Partition* FindTestApp(const PartitionTable& table) {
  return FindPartition(table, kPartitionTypeApp, kAppSubtypeTest);
}

const Partition* FindOtaSlot(const PartitionTable& table, uint32_t k) {
  if (k >= kMaxOtaAppSubtypes) {
    return nullptr;
  }
  return FindPartition(table, kPartitionTypeApp, static_cast<uint8_t>(kAppSubtypeOtaMin + k));
}

std::optional<uint32_t> OtaSlotIndex(const Partition& partition) {
  if (partition.type != kPartitionTypeApp || partition.subtype < kAppSubtypeOtaMin ||
      partition.subtype > kAppSubtypeOtaMax) {
    return std::nullopt;
  }
  return partition.subtype - kAppSubtypeOtaMin;
}

uint32_t BootloaderOtaSlotCount(const PartitionTable& table) {
  uint32_t count = 0;
  for (const Partition& p : table.entries()) {
    if (OtaSlotIndex(p).has_value()) {
      ++count;
    }
  }
  return count;
}

uint32_t AppOtaSlotCount(const PartitionTable& table) {
  uint32_t count = 0;
  while (FindOtaSlot(table, count) != nullptr) {
    ++count;
  }
  return count;
}

}  // namespace aloft::core
