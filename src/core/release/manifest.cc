#include "core/release/manifest.h"

#include <algorithm>

#include "core/format/app_image.h"
#include "core/release/semantic_version.h"
#include "core/signature/signature_block.h"
#include "core/try.h"

namespace aloft::core {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";

// Printable ASCII without space: nothing that could end a line or hide in whitespace.
bool IsTextByte(char c) { return c >= 0x21 && c <= 0x7E; }

bool IsText(std::string_view value, size_t min_size) {
  return value.size() >= min_size && value.size() <= kManifestTextMax &&
         std::all_of(value.begin(), value.end(), IsTextByte);
}

// Canonical decimal: "0" or a non-zero digit followed by digits, at most `max`.
Result<uint32_t> ParseDecimal(std::string_view text, uint32_t max, uint32_t offset) {
  if (text.empty() || text.size() > 10 || (text.size() > 1 && text[0] == '0') ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return InvalidArgument("manifest: number is not canonical decimal", offset);
  }
  uint64_t value = 0;
  for (char c : text) {
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (value > max) {
    return InvalidArgument("manifest: number too large", offset);
  }
  return static_cast<uint32_t>(value);
}

Status CheckSize(uint32_t size_bytes, uint32_t offset) {
  // A signed image is align_up(image_len, 4096) plus the 4096-byte signature sector.
  if (size_bytes < 2 * kSignatureSectorSize || size_bytes % kSignatureSectorSize != 0) {
    return InvalidArgument("manifest: size is not a signed image size", offset);
  }
  return OkStatus();
}

Status CheckMinRunningVersion(std::string_view value, uint32_t offset) {
  if (value.empty()) {
    return OkStatus();
  }
  if (value.size() > kManifestTextMax || !ParseSemanticVersion(value).ok()) {
    return InvalidArgument("manifest: min_running_version is not a semantic version", offset);
  }
  return OkStatus();
}

// Reads "key=value\n" lines in the fixed order.
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  // The value of the next line, which must start with `key_prefix` ("project=").
  Result<std::string_view> Next(std::string_view key_prefix, const char* missing_reason) {
    if (text_.substr(position_, key_prefix.size()) != key_prefix) {
      return InvalidArgument(missing_reason, offset());
    }
    const size_t start = position_ + key_prefix.size();
    const size_t end = text_.find('\n', start);
    if (end == std::string_view::npos) {
      return InvalidArgument("manifest: last line does not end with a newline", offset());
    }
    value_offset_ = static_cast<uint32_t>(start);
    position_ = end + 1;
    return text_.substr(start, end - start);
  }
  bool Skip(std::string_view literal) {
    if (text_.substr(position_, literal.size()) != literal) {
      return false;
    }
    position_ += literal.size();
    return true;
  }
  bool at_end() const { return position_ == text_.size(); }
  uint32_t offset() const { return static_cast<uint32_t>(position_); }
  uint32_t value_offset() const { return value_offset_; }

 private:
  std::string_view text_;
  size_t position_ = 0;
  uint32_t value_offset_ = 0;
};

// Appends to a caller buffer, remembering overflow instead of failing each call.
class Writer {
 public:
  explicit Writer(ByteSpan out) : out_(out) {}
  void Put(std::string_view text) {
    if (text.size() > out_.size() - size_) {
      overflow_ = true;
      return;
    }
    for (char c : text) {
      out_[size_++] = static_cast<std::byte>(c);
    }
  }
  void PutDecimal(uint32_t value) {
    char digits[10];
    size_t count = 0;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    std::reverse(digits, digits + count);
    Put({digits, count});
  }
  void PutLine(std::string_view key_prefix, std::string_view value) {
    Put(key_prefix);
    Put(value);
    Put("\n");
  }
  bool overflow() const { return overflow_; }
  size_t size() const { return size_; }

 private:
  ByteSpan out_;
  size_t size_ = 0;
  bool overflow_ = false;
};

}  // namespace

Result<ReleaseManifest> ParseManifest(ConstByteSpan canonical) {
  if (canonical.size() > kMaxManifestSize) {
    return OutOfRange("manifest: too long", static_cast<uint32_t>(canonical.size()));
  }
  const std::string_view text(reinterpret_cast<const char*>(canonical.data()), canonical.size());
  LineReader reader(text);
  if (!reader.Skip(kManifestHeader)) {
    return InvalidArgument("manifest: missing header line", 0);
  }
  ReleaseManifest manifest;

  ALOFT_TRY_ASSIGN(std::string_view project,
                   reader.Next("project=", "manifest: expected field project"));
  if (!IsText(project, 1) || !manifest.project.Assign(project)) {
    return InvalidArgument("manifest: project is not 1..32 printable ASCII bytes",
                           reader.value_offset());
  }

  ALOFT_TRY_ASSIGN(std::string_view chip, reader.Next("chip=", "manifest: expected field chip"));
  const uint32_t chip_offset = reader.value_offset();
  ALOFT_TRY_ASSIGN(std::string_view chip_id_text,
                   reader.Next("chip_id=", "manifest: expected field chip_id"));
  ALOFT_TRY_ASSIGN(uint32_t chip_id, ParseDecimal(chip_id_text, UINT16_MAX, reader.value_offset()));
  manifest.chip_id = static_cast<uint16_t>(chip_id);
  const std::string_view chip_name = ChipName(manifest.chip_id);
  if (chip_name.empty() || chip_name != chip) {
    return InvalidArgument("manifest: chip does not match chip_id", chip_offset);
  }

  ALOFT_TRY_ASSIGN(std::string_view version,
                   reader.Next("version=", "manifest: expected field version"));
  if (!IsText(version, 1) || !manifest.version.Assign(version)) {
    return InvalidArgument("manifest: version is not 1..32 printable ASCII bytes",
                           reader.value_offset());
  }

  ALOFT_TRY_ASSIGN(std::string_view secure_version,
                   reader.Next("secure_version=", "manifest: expected field secure_version"));
  ALOFT_TRY_ASSIGN(manifest.secure_version,
                   ParseDecimal(secure_version, UINT32_MAX, reader.value_offset()));

  ALOFT_TRY_ASSIGN(std::string_view size, reader.Next("size=", "manifest: expected field size"));
  ALOFT_TRY_ASSIGN(manifest.size_bytes, ParseDecimal(size, UINT32_MAX, reader.value_offset()));
  ALOFT_TRY(CheckSize(manifest.size_bytes, reader.value_offset()));

  ALOFT_TRY_ASSIGN(std::string_view sha256,
                   reader.Next("sha256=", "manifest: expected field sha256"));
  if (sha256.size() != 2 * manifest.sha256.size()) {
    return InvalidArgument("manifest: sha256 is not 64 lower-case hex digits",
                           reader.value_offset());
  }
  for (size_t i = 0; i < sha256.size(); ++i) {
    const char* digit = std::find(kHexDigits, kHexDigits + 16, sha256[i]);
    if (digit == kHexDigits + 16) {
      return InvalidArgument("manifest: sha256 is not 64 lower-case hex digits",
                             reader.value_offset() + static_cast<uint32_t>(i));
    }
    const auto nibble = static_cast<uint8_t>(digit - kHexDigits);
    std::byte& out = manifest.sha256[i / 2];
    out = i % 2 == 0 ? std::byte{static_cast<uint8_t>(nibble << 4)} : out | std::byte{nibble};
  }

  ALOFT_TRY_ASSIGN(
      std::string_view min_running,
      reader.Next("min_running_version=", "manifest: expected field min_running_version"));
  ALOFT_TRY(CheckMinRunningVersion(min_running, reader.value_offset()));
  manifest.min_running_version.Assign(min_running);

  if (!reader.at_end()) {
    return InvalidArgument("manifest: trailing bytes after the last field", reader.offset());
  }
  return manifest;
}

Result<size_t> SerializeManifest(const ReleaseManifest& manifest, ByteSpan out) {
  if (!IsText(manifest.project.view(), 1)) {
    return InvalidArgument("manifest: project is not 1..32 printable ASCII bytes");
  }
  if (!IsText(manifest.version.view(), 1)) {
    return InvalidArgument("manifest: version is not 1..32 printable ASCII bytes");
  }
  if (ChipName(manifest.chip_id).empty()) {
    return InvalidArgument("manifest: chip_id is not a known chip", manifest.chip_id);
  }
  ALOFT_TRY(CheckSize(manifest.size_bytes, 0));
  ALOFT_TRY(CheckMinRunningVersion(manifest.min_running_version.view(), 0));

  char hex[64];
  for (size_t i = 0; i < manifest.sha256.size(); ++i) {
    const auto byte = static_cast<uint8_t>(manifest.sha256[i]);
    hex[2 * i] = kHexDigits[byte >> 4];
    hex[2 * i + 1] = kHexDigits[byte & 0xF];
  }
  Writer writer(out);
  writer.Put(kManifestHeader);
  writer.PutLine("project=", manifest.project.view());
  writer.PutLine("chip=", ChipName(manifest.chip_id));
  writer.Put("chip_id=");
  writer.PutDecimal(manifest.chip_id);
  writer.Put("\n");
  writer.PutLine("version=", manifest.version.view());
  writer.Put("secure_version=");
  writer.PutDecimal(manifest.secure_version);
  writer.Put("\n");
  writer.Put("size=");
  writer.PutDecimal(manifest.size_bytes);
  writer.Put("\n");
  writer.PutLine("sha256=", {hex, sizeof hex});
  writer.PutLine("min_running_version=", manifest.min_running_version.view());
  if (writer.overflow()) {
    return OutOfRange("manifest: output buffer too small", static_cast<uint32_t>(out.size()));
  }
  return writer.size();
}

Result<ReleaseManifest> VerifyManifest(port::Crypto& crypto, ConstByteSpan canonical,
                                       ConstByteSpan signature_blocks, const TrustPolicy& policy) {
  if (canonical.size() > kMaxManifestSize) {
    return OutOfRange("manifest: too long", static_cast<uint32_t>(canonical.size()));
  }
  ALOFT_TRY_ASSIGN(const SignedRegionDigests digests, DigestForPolicy(crypto, canonical, policy));
  const SignatureVerdict verdict = VerifySignatureBlocks(crypto, digests, signature_blocks, policy);
  ALOFT_TRY(verdict.status);
  return ParseManifest(canonical);
}

}  // namespace aloft::core
