#include "core/boot/slot_layout.h"

#include <bit>

namespace aloft::core {

bool SlotLayout::Has(int index) const {
  if (index == kFactoryIndex) {
    return has_factory;
  }
  if (index == kTestIndex) {
    return has_test;
  }
  return HasOta(index);
}

SlotLayout MakeSlotLayout(uint16_t ota_present, bool has_factory, bool has_test, bool has_otadata) {
  SlotLayout layout;
  layout.ota_present = ota_present;
  layout.bootloader_ota_count = static_cast<uint8_t>(std::popcount(ota_present));
  // esp_ota_get_app_partition_count stops at the first missing subtype.
  layout.app_ota_count = static_cast<uint8_t>(std::countr_one(ota_present));
  layout.has_factory = has_factory;
  layout.has_test = has_test;
  layout.has_otadata = has_otadata;
  return layout;
}

SlotLayout ContiguousSlotLayout(int ota_count, bool has_factory, bool has_test) {
  ALOFT_CHECK(ota_count >= 0 && ota_count <= kMaxOtaSlots);
  const uint16_t mask = static_cast<uint16_t>((uint32_t{1} << ota_count) - 1);
  return MakeSlotLayout(mask, has_factory, has_test, /*has_otadata=*/true);
}

const char* AppPartitionName(int index) {
  static constexpr const char* kOtaNames[kMaxOtaSlots] = {
      "ota_0", "ota_1", "ota_2",  "ota_3",  "ota_4",  "ota_5",  "ota_6",  "ota_7",
      "ota_8", "ota_9", "ota_10", "ota_11", "ota_12", "ota_13", "ota_14", "ota_15"};
  if (index >= 0 && index < kMaxOtaSlots) {
    return kOtaNames[index];
  }
  switch (index) {
    case kFactoryIndex:
      return "factory";
    case kTestIndex:
      return "test";
    case kInvalidIndex:
      return "invalid";
  }
  return "unknown";
}

}  // namespace aloft::core
