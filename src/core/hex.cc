#include "core/hex.h"

#include <cstdint>

namespace aloft::core {
namespace {

int Nibble(char c) {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

}  // namespace

void HexEncode(ConstByteSpan bytes, std::span<char> out) {
  constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto value = static_cast<uint8_t>(bytes[i]);
    out[2 * i] = kDigits[value >> 4];
    out[2 * i + 1] = kDigits[value & 0x0F];
  }
}

Status HexDecode(std::string_view text, ByteSpan out) {
  if (text.size() != 2 * out.size()) {
    return InvalidArgument("hex: wrong length");
  }
  for (size_t i = 0; i < out.size(); ++i) {
    const int high = Nibble(text[2 * i]);
    const int low = Nibble(text[2 * i + 1]);
    if (high < 0 || low < 0) {
      return InvalidArgument("hex: invalid digit",
                             static_cast<uint32_t>(high < 0 ? 2 * i : 2 * i + 1));
    }
    out[i] = static_cast<std::byte>((high << 4) | low);
  }
  return OkStatus();
}

}  // namespace aloft::core
