#include "ports/esp-idf/idf_system.h"

#include <sys/time.h>

#include "core/boot/slot_layout.h"
#include "core/format/partition_table.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_random.h"
#include "esp_system.h"
#include "esp_timer.h"

namespace aloft::espidf {
namespace {

constexpr const char* kTag = "aloft";
// 2024-01-01T00:00:00Z: a clock that reads earlier has not been set.
constexpr int64_t kEarliestPlausibleUnixSeconds = 1704067200;

}  // namespace

int AppPartitionIndex(uint8_t app_subtype) {
  if (app_subtype == core::kAppSubtypeFactory) {
    return core::kFactoryIndex;
  }
  if (app_subtype == core::kAppSubtypeTest) {
    return core::kTestIndex;
  }
  if (app_subtype >= core::kAppSubtypeOtaMin && app_subtype <= core::kAppSubtypeOtaMax) {
    return app_subtype - core::kAppSubtypeOtaMin;
  }
  return core::kInvalidIndex;
}

uint64_t IdfSystem::MonotonicMs() { return static_cast<uint64_t>(esp_timer_get_time()) / 1000; }

uint64_t IdfSystem::WallClockMs() {
  timeval now{};
  if (gettimeofday(&now, nullptr) != 0 || now.tv_sec < kEarliestPlausibleUnixSeconds) {
    return 0;
  }
  return static_cast<uint64_t>(now.tv_sec) * 1000 + static_cast<uint64_t>(now.tv_usec) / 1000;
}

Status IdfSystem::RandomBytes(ByteSpan out) {
  esp_fill_random(out.data(), out.size());
  return OkStatus();
}

int IdfSystem::RunningPartition() {
  const esp_partition_t* running = esp_ota_get_running_partition();
  if (running == nullptr || running->type != ESP_PARTITION_TYPE_APP) {
    return core::kInvalidIndex;
  }
  return AppPartitionIndex(static_cast<uint8_t>(running->subtype));
}

void IdfSystem::RequestReboot() {
  // ESP-IDF's own reading of the otadata the core just wrote: on the console, the partition
  // the bootloader is about to choose (a cross-check of byte compatibility on real hardware).
  const esp_partition_t* next = esp_ota_get_boot_partition();
  ESP_LOGI(kTag, "rebooting; otadata selects %s", next != nullptr ? next->label : "(none)");
  esp_restart();
}

}  // namespace aloft::espidf
