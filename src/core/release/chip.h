#pragma once
// ESP32-family chip names as release manifests spell them ("esp32c3") and the chip ids the
// image header carries (esp_chip_id_t; ../shared/spec/esp-app-image.md §2). Pure lookups.

#include <cstdint>
#include <optional>
#include <string_view>

namespace aloft::core {

// "esp32", "esp32s2", "esp32c3", "esp32s3", "esp32c2", "esp32c6", "esp32h2", "esp32p4",
// "esp32c61", "esp32c5", "esp32h21", "esp32h4", "esp32s31"; nullopt for any other id.
std::optional<std::string_view> ChipName(uint16_t chip_id);

// The inverse of ChipName (exact, lower case); nullopt for an unknown name.
std::optional<uint16_t> ChipIdFromName(std::string_view name);

}  // namespace aloft::core
