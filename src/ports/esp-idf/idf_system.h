#pragma once
// IdfSystem: the System port (core/port/system.h) on ESP-IDF.
//
// ESP-IDF calls → port methods:
//   esp_timer_get_time            MonotonicMs (microseconds since boot / 1000; never decreases)
//   gettimeofday                  WallClockMs; 0 while the clock reads earlier than 2024 (no
//                                 SNTP or RTC time yet), as the port asks for "unknown"
//   esp_fill_random               RandomBytes (the hardware RNG: truly random while Wi-Fi or
//                                 Bluetooth runs, which is whenever the agent can talk to the
//                                 server; never fails, so never kUnavailable)
//   esp_ota_get_running_partition RunningPartition (subtype ota_k → k, factory → kFactoryIndex,
//                                 test → kTestIndex, anything else → kInvalidIndex)
//   esp_ota_get_boot_partition, esp_restart   RequestReboot: logs which partition ESP-IDF's own
//                                 reading of otadata will boot (the bytes the core wrote), then
//                                 resets; it does not return.
//
// Stateless; safe from any task.

#include <cstdint>

#include "core/bytes.h"
#include "core/port/system.h"
#include "core/status.h"

namespace aloft::espidf {

class IdfSystem final : public port::System {
 public:
  uint64_t MonotonicMs() override;
  uint64_t WallClockMs() override;
  Status RandomBytes(ByteSpan out) override;
  int RunningPartition() override;
  [[noreturn]] void RequestReboot() override;
};

// The index core/boot/slot_layout.h gives an app partition of this subtype.
int AppPartitionIndex(uint8_t app_subtype);

}  // namespace aloft::espidf
