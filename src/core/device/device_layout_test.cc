#include "core/device/device_layout.h"

#include <gtest/gtest.h>

#include <string>

#include "core/format/partition_csv.h"
#include "ports/host/emulated_flash.h"
#include "support/device_fixture.h"
#include "support/status_testing.h"

namespace aloft::core {
namespace {

using ::aloft::testing::kTutorialCsv;
using ::aloft::testing::TableFromCsv;

Result<DeviceLayout> Layout(std::string_view csv, std::optional<uint32_t> flash_size = 0x400000) {
  Result<PartitionTable> table = TableFromCsv(csv);
  EXPECT_TRUE(table.ok()) << ::aloft::testing::DescribeStatus(table.status());
  return MakeDeviceLayout(*table, flash_size);
}

TEST(DeviceLayout, TutorialTable_AbsoluteOffsetsLabelsAndCounts) {
  Result<DeviceLayout> layout = Layout(kTutorialCsv);
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->otadata_offset, 0xD000u);
  EXPECT_EQ(layout->slots, ContiguousSlotLayout(2, /*has_factory=*/false));
  ASSERT_NE(layout->Find(0), nullptr);
  EXPECT_EQ(layout->Find(0)->offset, 0x10000u);
  EXPECT_EQ(layout->Find(0)->size, 0x180000u);
  EXPECT_EQ(layout->Find(0)->label(), "app0");
  EXPECT_EQ(layout->Find(1)->offset, 0x190000u);
  EXPECT_EQ(layout->Find(1)->label(), "app1");
  EXPECT_EQ(layout->Find(2), nullptr);
  EXPECT_EQ(layout->Find(kFactoryIndex), nullptr);
  EXPECT_EQ(layout->Find(kInvalidIndex), nullptr);
  std::array<int, kMaxOtaSlots + 2> indexes{};
  ASSERT_EQ(layout->Indexes(indexes), 2u);
  EXPECT_EQ(indexes[0], 0);
  EXPECT_EQ(indexes[1], 1);
}

TEST(DeviceLayout, FactoryAndTest_AreIndexedByTheBootloadersNumbers) {
  Result<DeviceLayout> layout = Layout(
      "otadata, data, ota, , 0x2000\nfactory, app, factory, , 1M\ntest, app, test, , 512K\n"
      "ota_0, app, ota_0, , 1M\n");
  ASSERT_TRUE(layout.ok());
  EXPECT_TRUE(layout->slots.has_factory);
  EXPECT_TRUE(layout->slots.has_test);
  EXPECT_EQ(layout->Find(kFactoryIndex)->offset, 0x10000u);
  EXPECT_EQ(layout->Find(kTestIndex)->offset, 0x110000u);
  EXPECT_EQ(layout->Find(0)->offset, 0x190000u);
  std::array<int, kMaxOtaSlots + 2> indexes{};
  ASSERT_EQ(layout->Indexes(indexes), 3u);
  EXPECT_EQ(indexes[1], kFactoryIndex);
  EXPECT_EQ(indexes[2], kTestIndex);
}

TEST(DeviceLayout, GapInOtaSlots_BootloaderAndAppCountDiffer) {
  Result<DeviceLayout> layout =
      Layout("otadata, data, ota, , 0x2000\nota_0, app, ota_0, , 1M\nota_2, app, ota_2, , 1M\n");
  ASSERT_TRUE(layout.ok());
  EXPECT_EQ(layout->slots.bootloader_ota_count, 2);  // spec §3.1: rows
  EXPECT_EQ(layout->slots.app_ota_count, 1);         // spec §4: up to the first gap
  EXPECT_NE(layout->Find(2), nullptr);
}

TEST(DeviceLayout, UnusableTables_AreRefusedNamingTheEntry) {
  struct Case {
    std::string csv;
    Status expected;
  };
  const Case cases[] = {
      {"nvs, data, nvs, , 0x4000\notadata, data, ota, , 0x2000\n",
       InvalidArgument("device layout: no app partition")},
      {"otadata, data, ota, , 0x2000\nota_0, app, ota_0, , 1M\nagain, app, ota_0, , 1M\n",
       InvalidArgument("device layout: duplicate app subtype", 2)},
      {"factory, app, factory, , 1M\nf2, app, factory, , 1M\n",
       InvalidArgument("device layout: duplicate app subtype", 1)},
      {"otadata, data, ota, , 0x1000\nota_0, app, ota_0, , 1M\n",
       InvalidArgument("device layout: otadata is not 0x2000 bytes", 0)},
      {"otadata, data, ota, , 0x2000\no2, data, ota, , 0x2000\nota_0, app, ota_0, , 1M\n",
       InvalidArgument("device layout: more than one otadata partition", 1)},
      {"otadata, data, ota, , 0x2000\nota_0, app, ota_0, , 4M\n",
       OutOfRange("device layout: partition past the end of flash", 1)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.csv);
    EXPECT_STATUS(Layout(c.csv).status(), c.expected);
  }
}

TEST(DeviceLayout, WithoutFlashSize_SizeIsNotChecked) {
  EXPECT_TRUE(Layout("otadata, data, ota, , 0x2000\nota_0, app, ota_0, , 4M\n", std::nullopt).ok());
}

TEST(ReadOtadata, ReadsBothEntriesAndPropagatesFlashErrors) {
  auto flash = host::EmulatedFlash::CreateInMemory(0x10000);
  ASSERT_TRUE(flash.ok());
  std::array<std::byte, 32> entry{};
  ASSERT_TRUE(SerializeOtaSelectEntry(MakeOtaSelectEntry(7, OtaState::kValid), entry).ok());
  ASSERT_TRUE((*flash)->Write(0xE000, entry).ok());
  Result<Otadata> otadata = ReadOtadata(**flash, 0xD000);
  ASSERT_TRUE(otadata.ok());
  EXPECT_EQ(otadata->entries[0], OtaSelectEntry{});
  EXPECT_EQ(otadata->entries[1], MakeOtaSelectEntry(7, OtaState::kValid));
  EXPECT_STATUS(ReadOtadata(**flash, 0xF000).status(),
                OutOfRange("flash: read past the end", 0x10000));
}

}  // namespace
}  // namespace aloft::core
