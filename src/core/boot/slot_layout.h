#pragma once
// SlotLayout: the few facts about a partition table that boot selection and the OTA API need
// (which app partitions exist, how each side counts OTA slots, whether otadata exists), and the
// indexes that name app partitions. Plain values; the integration layer fills a SlotLayout from
// the parsed partition table. Spec: shared/spec/esp-idf-ota.md §3.1, §4 ("OTA count").

#include <array>
#include <cstddef>
#include <cstdint>

#include "core/check.h"

namespace aloft::core {

// App partitions are named by the bootloader's index (bootloader_utility.c): 0..15 = ota_k
// (subtype 0x10 + k), and these three negative values.
inline constexpr int kFactoryIndex = -1;   // app/factory (0x00)
inline constexpr int kTestIndex = -2;      // app/test (0x20)
inline constexpr int kInvalidIndex = -99;  // no partition: the bootloader resets
inline constexpr int kMaxOtaSlots = 16;

struct SlotLayout {
  // Bit k set: an app partition of subtype ota_k exists (with a non-zero size).
  uint16_t ota_present = 0;
  // bootloader_state_t.app_count: the number of OTA app rows in the table (not the highest
  // index + 1). With ota_0 and ota_2 only it is 2, so ota_2 is unreachable (spec §3.1).
  uint8_t bootloader_ota_count = 0;
  // esp_ota_get_app_partition_count(): ota_0, ota_1, ... counted up to the first missing one.
  uint8_t app_ota_count = 0;
  bool has_factory = false;
  bool has_test = false;
  bool has_otadata = false;

  bool HasOta(int k) const { return k >= 0 && k < kMaxOtaSlots && ((ota_present >> k) & 1) != 0; }
  // Whether the partition named by `index` exists (kInvalidIndex: never).
  bool Has(int index) const;

  friend bool operator==(const SlotLayout&, const SlotLayout&) = default;
};

// The layout of a table with exactly one row for each set bit of ota_present: both counts
// derived as ESP-IDF derives them.
SlotLayout MakeSlotLayout(uint16_t ota_present, bool has_factory, bool has_test = false,
                          bool has_otadata = true);
// ota_0 .. ota_{ota_count-1} plus otadata. REQUIRES: 0 <= ota_count <= 16.
SlotLayout ContiguousSlotLayout(int ota_count, bool has_factory, bool has_test = false);

// "ota_3", "factory", "test", "invalid"; "unknown" for any other number. Never null.
const char* AppPartitionName(int index);

// One value for each app partition the bootloader knows, addressed by index (ota_k, factory,
// test). REQUIRES (checked): the index is one of those.
template <typename T>
struct PerAppPartition {
  std::array<T, kMaxOtaSlots> ota{};
  T factory{};
  T test{};

  T& operator[](int index) { return *Find(this, index); }
  const T& operator[](int index) const { return *Find(this, index); }

 private:
  template <typename Self>
  static auto Find(Self* self, int index) {
    if (index == kFactoryIndex) {
      return &self->factory;
    }
    if (index == kTestIndex) {
      return &self->test;
    }
    ALOFT_CHECK(index >= 0 && index < kMaxOtaSlots);
    return &self->ota[static_cast<size_t>(index)];
  }
};

}  // namespace aloft::core
