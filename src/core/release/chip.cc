#include "core/release/chip.h"

namespace aloft::core {
namespace {

struct Chip {
  uint16_t id;
  std::string_view name;
};

// ESP-IDF's esp_chip_id_t (esptool's IMAGE_CHIP_ID), spec §2.
constexpr Chip kChips[] = {
    {0x0000, "esp32"},    {0x0002, "esp32s2"}, {0x0005, "esp32c3"},  {0x0009, "esp32s3"},
    {0x000C, "esp32c2"},  {0x000D, "esp32c6"}, {0x0010, "esp32h2"},  {0x0012, "esp32p4"},
    {0x0014, "esp32c61"}, {0x0017, "esp32c5"}, {0x0019, "esp32h21"}, {0x001C, "esp32h4"},
    {0x0020, "esp32s31"},
};

}  // namespace

std::optional<std::string_view> ChipName(uint16_t chip_id) {
  for (const Chip& chip : kChips) {
    if (chip.id == chip_id) {
      return chip.name;
    }
  }
  return std::nullopt;
}

std::optional<uint16_t> ChipIdFromName(std::string_view name) {
  for (const Chip& chip : kChips) {
    if (chip.name == name) {
      return chip.id;
    }
  }
  return std::nullopt;
}

}  // namespace aloft::core
