#include "core/format/internal/utf8.h"

namespace aloft::core::internal {

size_t Utf8ValidPrefix(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    const auto lead = static_cast<uint8_t>(text[i]);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    size_t length = 0;
    // The allowed range of the second byte narrows for E0 (overlong), ED (surrogates), F0
    // (overlong) and F4 (above U+10FFFF).
    uint8_t second_min = 0x80;
    uint8_t second_max = 0xBF;
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      second_min = lead == 0xE0 ? 0xA0 : 0x80;
      second_max = lead == 0xED ? 0x9F : 0xBF;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      second_min = lead == 0xF0 ? 0x90 : 0x80;
      second_max = lead == 0xF4 ? 0x8F : 0xBF;
    } else {
      return i;
    }
    if (text.size() - i < length) {
      return i;
    }
    for (size_t k = 1; k < length; ++k) {
      const auto byte = static_cast<uint8_t>(text[i + k]);
      const uint8_t min = k == 1 ? second_min : 0x80;
      const uint8_t max = k == 1 ? second_max : 0xBF;
      if (byte < min || byte > max) {
        return i;
      }
    }
    i += length;
  }
  return i;
}

uint32_t DecodeUtf8At(std::string_view text, size_t index, size_t* length) {
  const auto lead = static_cast<uint8_t>(text[index]);
  if (lead < 0x80) {
    *length = 1;
    return lead;
  }
  size_t count = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
  uint32_t value = lead & (0x7Fu >> count);
  for (size_t k = 1; k < count; ++k) {
    value = (value << 6) | (static_cast<uint8_t>(text[index + k]) & 0x3Fu);
  }
  *length = count;
  return value;
}

size_t LastUtf8Start(std::string_view text) {
  size_t start = text.size() - 1;
  while (start > 0 && (static_cast<uint8_t>(text[start]) & 0xC0) == 0x80) {
    --start;
  }
  return start;
}

}  // namespace aloft::core::internal
