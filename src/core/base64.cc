#include "core/base64.h"

#include <cstdint>

namespace aloft::core {
namespace {

// 0..63, or -1 for a character outside the alphabet.
int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') {
    return c - 'A';
  }
  if (c >= 'a' && c <= 'z') {
    return c - 'a' + 26;
  }
  if (c >= '0' && c <= '9') {
    return c - '0' + 52;
  }
  if (c == '+') {
    return 62;
  }
  if (c == '/') {
    return 63;
  }
  return -1;
}

}  // namespace

size_t Base64DecodedSize(std::string_view text) {
  if (text.size() % 4 != 0) {
    return 0;
  }
  size_t size = text.size() / 4 * 3;
  if (!text.empty() && text.back() == '=') {
    --size;
    if (text[text.size() - 2] == '=') {
      --size;
    }
  }
  return size;
}

Result<size_t> Base64Decode(std::string_view text, ByteSpan out) {
  if (text.size() % 4 != 0) {
    return InvalidArgument("base64: length is not a multiple of 4");
  }
  const size_t needed = Base64DecodedSize(text);
  if (needed > out.size()) {
    return ResourceExhausted("base64: output buffer too small", static_cast<uint32_t>(needed));
  }
  size_t written = 0;
  for (size_t at = 0; at < text.size(); at += 4) {
    const bool last = at + 4 == text.size();
    // Read the whole quantum before writing any of its bytes: in-place decoding writes at most
    // 3 bytes where 4 characters were.
    int sextets[4];
    size_t padding = 0;
    for (size_t i = 0; i < 4; ++i) {
      const char c = text[at + i];
      if (c == '=') {
        // '=' only as the last one or two characters of the text.
        if (!last || i < 2 || (i == 2 && text[at + 3] != '=')) {
          return InvalidArgument("base64: misplaced padding", static_cast<uint32_t>(at + i));
        }
        sextets[i] = 0;
        ++padding;
        continue;
      }
      sextets[i] = Sextet(c);
      if (sextets[i] < 0) {
        return InvalidArgument("base64: invalid character", static_cast<uint32_t>(at + i));
      }
    }
    const uint32_t bits =
        (static_cast<uint32_t>(sextets[0]) << 18) | (static_cast<uint32_t>(sextets[1]) << 12) |
        (static_cast<uint32_t>(sextets[2]) << 6) | static_cast<uint32_t>(sextets[3]);
    // Canonical form: the bits the padding leaves unused are zero.
    if ((padding == 1 && (bits & 0xFF) != 0) || (padding == 2 && (bits & 0xFFFF) != 0)) {
      return InvalidArgument("base64: non-zero unused bits");
    }
    const std::byte bytes[3] = {static_cast<std::byte>(bits >> 16),
                                static_cast<std::byte>(bits >> 8), static_cast<std::byte>(bits)};
    for (size_t i = 0; i < 3 - padding; ++i) {
      out[written++] = bytes[i];
    }
  }
  return written;
}

}  // namespace aloft::core
