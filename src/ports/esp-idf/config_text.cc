#include "ports/esp-idf/config_text.h"

#include "core/hex.h"
#include "core/text.h"

namespace aloft::espidf {
namespace {

constexpr size_t kMaxTagSize = 64;

}  // namespace

Result<size_t> ParseTrustedKeyDigests(std::span<const std::string_view> texts,
                                      std::span<core::TrustedKey> out) {
  size_t count = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    const std::string_view text = core::TrimOws(texts[i]);
    if (text.empty()) {
      continue;
    }
    if (count == out.size()) {
      return OutOfRange("settings: more trusted key digests than slots",
                        static_cast<uint32_t>(out.size()));
    }
    core::TrustedKey key;
    if (text.size() != 2 * key.digest.size() || !core::HexDecode(text, key.digest).ok()) {
      return InvalidArgument("settings: trusted key digest is not 64 hex digits",
                             static_cast<uint32_t>(i));
    }
    out[count++] = key;
  }
  if (count == 0) {
    return InvalidArgument("settings: no trusted key digest");
  }
  return count;
}

Result<size_t> SplitTags(std::string_view text, std::span<std::string_view> out) {
  size_t count = 0;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    const std::string_view piece = core::TrimOws(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view() : text.substr(comma + 1);
    if (piece.empty()) {
      continue;
    }
    if (piece.size() > kMaxTagSize) {
      return InvalidArgument("settings: device tag longer than 64 bytes",
                             static_cast<uint32_t>(count));
    }
    if (count == out.size()) {
      return OutOfRange("settings: too many device tags", static_cast<uint32_t>(out.size()));
    }
    out[count++] = piece;
  }
  return count;
}

Result<size_t> FormatMacDeviceId(std::string_view prefix, std::span<const uint8_t, 6> mac,
                                 std::span<char> out) {
  const size_t size = prefix.size() + 2 * mac.size();
  if (size > kMaxDeviceIdSize || size + 1 > out.size()) {
    return InvalidArgument("settings: device id longer than 64 bytes", static_cast<uint32_t>(size));
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  size_t at = 0;
  for (char c : prefix) {
    out[at++] = c;
  }
  for (uint8_t byte : mac) {
    out[at++] = kDigits[byte >> 4];
    out[at++] = kDigits[byte & 0xF];
  }
  out[at] = '\0';
  return size;
}

Result<size_t> CopyDeviceId(std::string_view text, std::span<char> out) {
  const Status bad = InvalidArgument("settings: device id is not 1..64 printable bytes");
  if (text.empty() || text.size() > kMaxDeviceIdSize || text.size() + 1 > out.size()) {
    return bad;
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] < 0x21 || text[i] > 0x7E) {
      return bad;
    }
    out[i] = text[i];
  }
  out[text.size()] = '\0';
  return text.size();
}

}  // namespace aloft::espidf
