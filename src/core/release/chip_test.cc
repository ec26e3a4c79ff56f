#include "core/release/chip.h"

#include <gtest/gtest.h>

namespace aloft::core {
namespace {

TEST(ChipName, SpecTable_BothDirections) {
  struct Case {
    uint16_t id;
    const char* name;
  };
  constexpr Case kCases[] = {
      {0, "esp32"},     {2, "esp32s2"},  {5, "esp32c3"},   {9, "esp32s3"},   {12, "esp32c2"},
      {13, "esp32c6"},  {16, "esp32h2"}, {18, "esp32p4"},  {20, "esp32c61"}, {23, "esp32c5"},
      {25, "esp32h21"}, {28, "esp32h4"}, {32, "esp32s31"},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(ChipName(c.id), c.name);
    EXPECT_EQ(ChipIdFromName(c.name), c.id);
  }
  EXPECT_EQ(ChipName(1), std::nullopt);
  EXPECT_EQ(ChipName(0xFFFF), std::nullopt);
  EXPECT_EQ(ChipIdFromName("ESP32"), std::nullopt);
  EXPECT_EQ(ChipIdFromName("esp8266"), std::nullopt);
}

}  // namespace
}  // namespace aloft::core
