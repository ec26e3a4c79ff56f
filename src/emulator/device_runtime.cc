#include "emulator/device_runtime.h"

#include <openssl/rand.h>

#include <chrono>

#include "core/try.h"

namespace aloft::emulator {

EmulatedSystem::EmulatedSystem(bool virtual_time, uint64_t seed, uint64_t wall_clock_epoch_ms)
    : virtual_time_(virtual_time),
      wall_epoch_ms_(wall_clock_epoch_ms),
      start_(std::chrono::steady_clock::now()) {
  if (seed != 0) {
    random_.emplace(seed);
  }
}

uint64_t EmulatedSystem::MonotonicMs() {
  if (virtual_time_) {
    return now_ms_;
  }
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::steady_clock::now() - start_)
                                   .count());
}

uint64_t EmulatedSystem::WallClockMs() {
  return wall_epoch_ms_ == 0 ? 0 : wall_epoch_ms_ + MonotonicMs();
}

Status EmulatedSystem::RandomBytes(ByteSpan out) {
  if (!random_) {
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size())) !=
        1) {
      return Unavailable("system: random generator failed");
    }
    return OkStatus();
  }
  for (std::byte& b : out) {
    b = static_cast<std::byte>((*random_)());
  }
  return OkStatus();
}

void EmulatedSystem::AdvanceTo(uint64_t monotonic_ms) {
  if (virtual_time_ && monotonic_ms > now_ms_) {
    now_ms_ = monotonic_ms;
  }
}

DeviceRuntime::DeviceRuntime(port::Flash& flash, port::Crypto& crypto,
                             const core::DeviceLayout& layout, const core::DeviceConfig& device,
                             port::Transport& transport, port::KeyValue& store,
                             EmulatedSystem& system, agent::SelfTest& self_test,
                             const agent::AgentConfig& agent_config)
    : flash_(flash),
      crypto_(crypto),
      layout_(layout),
      device_(device),
      transport_(transport),
      store_(store),
      system_(system),
      self_test_(self_test),
      agent_config_(agent_config) {}

Status DeviceRuntime::Boot() {
  agent_.reset();  // RAM does not survive a reset
  system_.clear_reboot_request();
  core::BootOptions options;
  options.last_booted = last_running_;
  Result<core::BootReport> report =
      core::BootDevice(flash_, crypto_, layout_, device_, work_, options);
  if (!report.ok()) {
    return report.status();
  }
  ++stats_.boots;
  if (report->rolled_back) {
    ++stats_.rollbacks_seen;
  }
  device_.efuse_secure_version = report->efuse_secure_version;
  last_running_ = report->index;
  system_.set_running(report->index);
  last_boot_ = *report;
  if (observer_ != nullptr) {
    observer_->OnBoot(*report);
  }
  agent_ = std::make_unique<agent::Agent>(
      agent_config_, agent::AgentPorts{flash_, crypto_, transport_, store_, system_, self_test_},
      layout_, device_);
  return OkStatus();
}

Result<agent::StepResult> DeviceRuntime::RunCycle(uint32_t max_reboots) {
  if (!agent_) {
    ALOFT_TRY(Boot());
  }
  for (uint32_t reboots = 0;; ++reboots) {
    const uint64_t before = agent_->bytes_downloaded();
    agent::StepResult result = agent::StepResult::kProgress;
    // At most as many steps as Agent::RunUntilBlocked allows, one at a time for the observer.
    for (uint32_t i = 0; i < 10000 && result == agent::StepResult::kProgress; ++i) {
      result = agent_->Step();
      if (observer_ != nullptr) {
        observer_->OnStep(*agent_, result);
      }
    }
    stats_.bytes_downloaded += agent_->bytes_downloaded() - before;
    if (result != agent::StepResult::kRebootRequested || reboots == max_reboots) {
      return result;
    }
    ALOFT_TRY(Boot());
  }
}

void DeviceRuntime::SkipToWake() {
  if (agent_) {
    system_.AdvanceTo(agent_->wake_at_ms());
  }
}

}  // namespace aloft::emulator
