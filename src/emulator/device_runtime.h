#pragma once
// DeviceRuntime: one emulated ESP32 running the real agent. It owns what a chip has besides its
// flash and its network: the reset (the core boot logic over the flash, then a fresh Agent, so
// RAM is gone as on a real reset), the clock and the RNG (EmulatedSystem), and the eFuse values
// that boot changes. `aloft device run`, the fleet simulator and the agent tests drive it:
//
//   DeviceRuntime device(flash, crypto, layout, config, transport, store, system, self_test,
//   agent); while (...) { device.RunCycle(); device.SkipToWake(); }   // virtual time
//
// Host only (heap). Not thread-safe: one device per thread; everything passed by reference
// must outlive it.

#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>

#include "agent/agent.h"
#include "core/device/boot_device.h"
#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/port/crypto.h"
#include "core/port/flash.h"
#include "core/port/key_value.h"
#include "core/port/system.h"
#include "core/port/transport.h"
#include "core/result.h"

namespace aloft::emulator {

// port::System of an emulated device. Time is virtual (it moves only when told: tests, the
// fleet simulator) or real (std::chrono::steady_clock since construction). Randomness comes
// from a seeded generator (reproducible runs) or, with seed 0, from OpenSSL's RAND_bytes.
class EmulatedSystem final : public port::System {
 public:
  // `wall_clock_epoch_ms`: the Unix time at monotonic 0 (0: the device has no wall clock).
  EmulatedSystem(bool virtual_time, uint64_t seed, uint64_t wall_clock_epoch_ms = 0);

  uint64_t MonotonicMs() override;
  uint64_t WallClockMs() override;
  Status RandomBytes(ByteSpan out) override;
  int RunningPartition() override { return running_; }
  void RequestReboot() override { reboot_requested_ = true; }

  // Virtual time only (no effect on real time): move the clock forward.
  void AdvanceTo(uint64_t monotonic_ms);
  void set_running(int partition) { running_ = partition; }
  bool reboot_requested() const { return reboot_requested_; }
  void clear_reboot_request() { reboot_requested_ = false; }
  bool virtual_time() const { return virtual_time_; }

 private:
  bool virtual_time_;
  uint64_t now_ms_ = 0;
  uint64_t wall_epoch_ms_;
  std::optional<std::mt19937_64> random_;
  int running_ = core::kInvalidIndex;
  bool reboot_requested_ = false;
  std::chrono::steady_clock::time_point start_;
};

struct RuntimeStats {
  uint32_t boots = 0;
  uint32_t rollbacks_seen = 0;  // boots whose BootReport said rolled_back
  uint64_t bytes_downloaded = 0;
};

// Watches a device from outside, for the CLI's step-by-step output and the fleet's counters.
// Called on the thread running the device; must not call back into the runtime.
class RuntimeObserver {
 public:
  virtual ~RuntimeObserver() = default;
  // After each successful Boot (the agent is not built yet).
  virtual void OnBoot(const core::BootReport& report) { (void)report; }
  // After each agent Step that RunCycle makes.
  virtual void OnStep(const agent::Agent& agent, agent::StepResult result) {
    (void)agent;
    (void)result;
  }
};

class DeviceRuntime {
 public:
  // `device` is copied: boot raises its eFuse secure version as a chip would.
  DeviceRuntime(port::Flash& flash, port::Crypto& crypto, const core::DeviceLayout& layout,
                const core::DeviceConfig& device, port::Transport& transport, port::KeyValue& store,
                EmulatedSystem& system, agent::SelfTest& self_test,
                const agent::AgentConfig& agent_config);
  DeviceRuntime(const DeviceRuntime&) = delete;
  DeviceRuntime& operator=(const DeviceRuntime&) = delete;

  // A reset: the bootloader (core::BootDevice) over the flash, then a fresh Agent. Errors:
  // BootDevice's (kNotFound "boot: no bootable image": bricked; kAborted after a power cut).
  Status Boot();

  // Boots if needed, then steps the agent until it waits or dies, resetting (Boot) each time it
  // asks for a reboot, at most `max_reboots` times. Returns the agent's last StepResult
  // (kWaiting or kDead), or Boot's error.
  Result<agent::StepResult> RunCycle(uint32_t max_reboots = 8);

  // Virtual time: jump the clock to the agent's next wake-up.
  void SkipToWake();

  // Null (the default) for none. REQUIRES: the observer outlives its use.
  void set_observer(RuntimeObserver* observer) { observer_ = observer; }

  // Null before the first Boot.
  const agent::Agent* agent() const { return agent_.get(); }
  const std::optional<core::BootReport>& last_boot() const { return last_boot_; }
  const RuntimeStats& stats() const { return stats_; }
  const core::DeviceConfig& device_config() const { return device_; }

 private:
  port::Flash& flash_;
  port::Crypto& crypto_;
  const core::DeviceLayout& layout_;
  core::DeviceConfig device_;
  port::Transport& transport_;
  port::KeyValue& store_;
  EmulatedSystem& system_;
  agent::SelfTest& self_test_;
  agent::AgentConfig agent_config_;
  std::unique_ptr<agent::Agent> agent_;
  std::optional<core::BootReport> last_boot_;
  std::optional<int> last_running_;
  RuntimeStats stats_;
  RuntimeObserver* observer_ = nullptr;
  std::array<std::byte, 4096> work_{};
};

}  // namespace aloft::emulator
