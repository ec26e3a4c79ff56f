#include "core/device/device_layout.h"

#include <algorithm>

#include "core/try.h"

namespace aloft::core {

const AppPartition* DeviceLayout::Find(int index) const {
  if (!slots.Has(index)) {
    return nullptr;
  }
  const AppPartition& app = apps[index];
  return app.present ? &app : nullptr;
}

size_t DeviceLayout::Indexes(std::array<int, kMaxOtaSlots + 2>& out) const {
  size_t count = 0;
  for (int k = 0; k < kMaxOtaSlots; ++k) {
    if (Find(k) != nullptr) {
      out[count++] = k;
    }
  }
  for (int index : {kFactoryIndex, kTestIndex}) {
    if (Find(index) != nullptr) {
      out[count++] = index;
    }
  }
  return count;
}

Result<DeviceLayout> MakeDeviceLayout(const PartitionTable& table,
                                      std::optional<uint32_t> flash_size) {
  DeviceLayout layout;
  uint16_t ota_present = 0;
  bool has_factory = false;
  bool has_test = false;
  bool has_otadata = false;
  for (size_t i = 0; i < table.size(); ++i) {
    const Partition& p = table[i];
    const uint32_t index_context = static_cast<uint32_t>(i);
    const bool is_otadata = p.type == kPartitionTypeData && p.subtype == kDataSubtypeOta;
    const bool is_app = p.type == kPartitionTypeApp &&
                        (p.subtype == kAppSubtypeFactory || p.subtype == kAppSubtypeTest ||
                         (p.subtype >= kAppSubtypeOtaMin && p.subtype <= kAppSubtypeOtaMax));
    if (!is_otadata && !(is_app && p.size != 0)) {
      continue;
    }
    if (flash_size.has_value() && p.end() > *flash_size) {
      return OutOfRange("device layout: partition past the end of flash", index_context);
    }
    if (is_otadata) {
      if (has_otadata) {
        return InvalidArgument("device layout: more than one otadata partition", index_context);
      }
      if (p.size != kOtadataSize) {
        return InvalidArgument("device layout: otadata is not 0x2000 bytes", index_context);
      }
      has_otadata = true;
      layout.otadata_offset = p.offset;
      continue;
    }
    int index = 0;
    bool* seen = nullptr;
    if (p.subtype == kAppSubtypeFactory) {
      index = kFactoryIndex;
      seen = &has_factory;
    } else if (p.subtype == kAppSubtypeTest) {
      index = kTestIndex;
      seen = &has_test;
    } else {
      index = p.subtype - kAppSubtypeOtaMin;
    }
    const bool duplicate = seen != nullptr ? *seen : ((ota_present >> index) & 1u) != 0;
    if (duplicate) {
      return InvalidArgument("device layout: duplicate app subtype", index_context);
    }
    if (seen != nullptr) {
      *seen = true;
    } else {
      ota_present = static_cast<uint16_t>(ota_present | (1u << index));
    }
    AppPartition& app = layout.apps[index];
    app.present = true;
    app.offset = p.offset;
    app.size = p.size;
    const std::string_view label = p.label();
    app.label_size = static_cast<uint8_t>(std::min(label.size(), app.label_bytes.size()));
    std::copy_n(label.begin(), app.label_size, app.label_bytes.begin());
  }
  if (ota_present == 0 && !has_factory && !has_test) {
    return InvalidArgument("device layout: no app partition");
  }
  layout.slots = MakeSlotLayout(ota_present, has_factory, has_test, has_otadata);
  return layout;
}

Result<Otadata> ReadOtadata(port::Flash& flash, uint32_t otadata_offset) {
  Otadata otadata;
  for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
    std::array<std::byte, kOtaSelectEntrySize> bytes{};
    ALOFT_TRY(
        flash.Read(otadata_offset + static_cast<uint32_t>(sector) * kOtadataSectorSize, bytes));
    ALOFT_TRY_ASSIGN(otadata.entries[static_cast<size_t>(sector)], ParseOtaSelectEntry(bytes));
  }
  return otadata;
}

}  // namespace aloft::core
