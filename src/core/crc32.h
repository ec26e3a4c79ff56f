#pragma once
// CRC-32 as the ESP32 ROM computes it: esp_rom_crc32_le (reflected, polynomial 0xEDB88320).
// EspRomCrc32Le(c, bytes) equals zlib's crc32(c, bytes): the register starts at ~c and the
// result is complemented. otadata uses c = 0xFFFFFFFF over the 4 seq bytes (spec esp-idf-ota.md
// §2.2); Secure Boot v2 signature blocks use c = 0 over 1196 bytes (esp-app-image.md §10).

#include <cstdint>

#include "core/bytes.h"

namespace aloft {

uint32_t EspRomCrc32Le(uint32_t crc, ConstByteSpan bytes);

}  // namespace aloft
