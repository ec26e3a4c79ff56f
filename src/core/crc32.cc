#include "core/crc32.h"

#include <array>

namespace aloft {
namespace {

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t value = i;
    for (int bit = 0; bit < 8; ++bit) {
      value = (value & 1) ? (value >> 1) ^ 0xEDB88320u : value >> 1;
    }
    table[i] = value;
  }
  return table;
}

constexpr std::array<uint32_t, 256> kTable = MakeTable();

}  // namespace

uint32_t EspRomCrc32Le(uint32_t crc, ConstByteSpan bytes) {
  uint32_t reg = ~crc;
  for (std::byte b : bytes) {
    reg = kTable[(reg ^ static_cast<uint8_t>(b)) & 0xFF] ^ (reg >> 8);
  }
  return ~reg;
}

}  // namespace aloft
