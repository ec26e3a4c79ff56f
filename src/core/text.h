#pragma once
// Small pieces of text parsing that HTTP fields and config text share on the device and the
// host: header-only (no heap, no exceptions), so the ESP-IDF component gets them without a
// source of its own.

#include <cstdint>
#include <optional>
#include <string_view>

namespace aloft::core {

// `text` without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110
// §5.6.3).
constexpr std::string_view TrimOws(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

// A non-empty run of decimal digits (no sign, no spaces) that fits 64 bits; nullopt otherwise.
constexpr std::optional<uint64_t> ParseDecimal(std::string_view text) {
  if (text.empty()) {
    return std::nullopt;
  }
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    const auto digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) {
      return std::nullopt;
    }
    value = value * 10 + digit;
  }
  return value;
}

}  // namespace aloft::core
