// aloft_agent_start / aloft_agent_check_server (include/aloft_agent.h): the FreeRTOS task that
// runs the agent, as src/emulator/device_runtime.h runs it on the host — build an Agent over the
// ports, step it until it waits, sleep until its wake-up time, repeat. A reset is a real one
// (IdfSystem::RequestReboot), after which the real bootloader picks the image and a new Agent
// starts from its persisted record. Nothing here decides anything about updates.
//
// ESP-IDF calls: xTaskCreate, vTaskDelay, xTaskGetCurrentTaskHandle (the task);
// esp_timer_create / _start_once / _stop and esp_restart (the self-test deadline: a self-test
// that hangs resets the chip, so the bootloader rolls back as after any crash on trial).
// With CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK: esp_ota_get_state_partition, esp_ota_get_partition_
// description and esp_efuse_update_secure_version — once the running image is VALID in otadata
// (the core confirmed it by writing otadata itself, not through esp_ota_mark_app_valid_cancel_
// rollback), its secure_version is burnt into eFuse, as that ESP-IDF call would have done.
//
// The agent and its ports live in static storage (about 40 KiB of .bss, visible to
// `idf.py size`), built in place by aloft_agent_start: nothing is allocated for them at run time.
// Status → esp_err_t for aloft_agent_start: kInvalidArgument → ESP_ERR_INVALID_ARG, kNotFound →
// ESP_ERR_NOT_FOUND, kResourceExhausted → ESP_ERR_NO_MEM, anything else → ESP_FAIL.

#include <algorithm>
#include <atomic>
#include <cstring>
#include <optional>

#include "agent/agent.h"
#include "aloft_agent.h"
#include "esp_log.h"
#include "esp_ota_ops.h"
#include "esp_system.h"
#include "esp_timer.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#include "ports/esp-idf/device_settings.h"
#include "ports/esp-idf/http_client_transport.h"
#include "ports/esp-idf/idf_system.h"
#include "ports/esp-idf/nvs_key_value.h"
#include "ports/esp-idf/partition_flash.h"
#include "ports/esp-idf/psa_crypto.h"
#include "sdkconfig.h"
#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
#include "esp_efuse.h"
#endif

namespace aloft::espidf {
namespace {

constexpr const char* kTag = "aloft";
constexpr const char* kHealthPath = "/healthz";
// Longest single sleep: the wake-up time is re-read after each, and pdMS_TO_TICKS stays far
// from overflowing 32-bit ticks.
constexpr uint64_t kMaxSleepMs = 60 * 1000;
// Steps per RunUntilBlocked before the task yields to others of its priority.
constexpr uint32_t kStepsPerSlice = 64;

// The firmware's self-test hook, with a deadline enforced by a reset.
class HookSelfTest final : public agent::SelfTest {
 public:
  HookSelfTest() = default;
  ~HookSelfTest() override {
    if (deadline_ != nullptr) {
      esp_timer_stop(deadline_);  // ESP_ERR_INVALID_STATE when not running: nothing to stop
      esp_timer_delete(deadline_);
    }
  }

  Status Init(aloft_agent_handle_t agent, aloft_self_test_fn hook, void* arg, uint32_t timeout_ms) {
    agent_ = agent;
    hook_ = hook;
    arg_ = arg;
    timeout_ms_ = timeout_ms;
    esp_timer_create_args_t args = {};
    args.callback = &HookSelfTest::OnDeadline;
    args.arg = this;
    args.dispatch_method = ESP_TIMER_TASK;
    args.name = "aloft_selftest";
    if (esp_timer_create(&args, &deadline_) != ESP_OK) {
      return ResourceExhausted("self-test: cannot create the deadline timer");
    }
    return OkStatus();
  }

  Status Run() override {
    if (hook_ == nullptr) {
      return OkStatus();
    }
    ESP_LOGI(kTag, "new firmware on trial: running the self-test (at most %lu s)",
             static_cast<unsigned long>(timeout_ms_ / 1000));
    esp_timer_start_once(deadline_, static_cast<uint64_t>(timeout_ms_) * 1000);
    const char* reason = nullptr;
    const esp_err_t result = hook_(agent_, arg_, timeout_ms_, &reason);
    esp_timer_stop(deadline_);
    if (result == ESP_OK) {
      return OkStatus();
    }
    return FailedPrecondition(reason != nullptr ? reason : "self-test: failed",
                              static_cast<uint32_t>(result));
  }

 private:
  static void OnDeadline(void* arg) {
    const HookSelfTest& self = *static_cast<const HookSelfTest*>(arg);
    ESP_LOGE(kTag, "self-test still running after %lu s: resetting, the bootloader rolls back",
             static_cast<unsigned long>(self.timeout_ms_ / 1000));
    esp_restart();
  }

  aloft_agent_handle_t agent_ = nullptr;
  aloft_self_test_fn hook_ = nullptr;
  void* arg_ = nullptr;
  uint32_t timeout_ms_ = 0;
  esp_timer_handle_t deadline_ = nullptr;
};

// Accepts and drops a body (the health check only wants the status).
class DiscardSink final : public port::ResponseSink {
 public:
  Status OnStart(uint16_t, uint32_t, uint32_t) override { return OkStatus(); }
  Status OnData(ConstByteSpan) override { return OkStatus(); }
};

esp_err_t ToEspErr(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return ESP_OK;
    case Status::Code::kInvalidArgument:
      return ESP_ERR_INVALID_ARG;
    case Status::Code::kNotFound:
      return ESP_ERR_NOT_FOUND;
    case Status::Code::kResourceExhausted:
      return ESP_ERR_NO_MEM;
    case Status::Code::kDataLoss:
    case Status::Code::kUnauthenticated:
    case Status::Code::kPermissionDenied:
    case Status::Code::kOutOfRange:
    case Status::Code::kFailedPrecondition:
    case Status::Code::kAlreadyExists:
    case Status::Code::kUnavailable:
    case Status::Code::kDeadlineExceeded:
    case Status::Code::kUnimplemented:
    case Status::Code::kAborted:
    case Status::Code::kInternal:
      return ESP_FAIL;
  }
  return ESP_FAIL;
}

void LogFailure(const char* what, const Status& status) {
  ESP_LOGE(kTag, "%s: %s (%s, context %lu)", what, status.reason(), CodeName(status.code()),
           static_cast<unsigned long>(status.context()));
}

// One chip has one otadata and one agent record: a second agent would fight the first.
std::atomic<bool> g_started{false};

}  // namespace
}  // namespace aloft::espidf

// The agent and everything it runs over; lives from aloft_agent_start to the next reset.
struct aloft_agent {
  aloft::espidf::DeviceSettings settings;
  aloft::espidf::PartitionFlash flash;
  aloft::espidf::PsaCrypto crypto;
  aloft::espidf::HttpClientTransport transport;
  aloft::espidf::NvsKeyValue store;
  aloft::espidf::IdfSystem system;
  aloft::espidf::HookSelfTest self_test;
  std::optional<aloft::agent::Agent> agent;
  TaskHandle_t task = nullptr;
};

namespace aloft::espidf {
namespace {

// Built in place by aloft_agent_start; lives until the next reset.
std::optional<aloft_agent> g_agent;

#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
// What esp_ota_mark_app_valid_cancel_rollback does after it marks the image VALID: raise the
// eFuse secure version to the running image's (never lowers it; idempotent). Returns true when
// done, false while the image is not VALID yet or the burn failed (tried again next time).
bool UpdateSecureVersionOnceValid() {
  const esp_partition_t* running = esp_ota_get_running_partition();
  esp_ota_img_states_t state = ESP_OTA_IMG_UNDEFINED;
  if (running == nullptr || esp_ota_get_state_partition(running, &state) != ESP_OK ||
      state != ESP_OTA_IMG_VALID) {
    return false;
  }
  esp_app_desc_t app{};
  if (esp_ota_get_partition_description(running, &app) != ESP_OK) {
    return false;
  }
  const esp_err_t err = esp_efuse_update_secure_version(app.secure_version);
  if (err != ESP_OK) {
    ESP_LOGE(kTag, "cannot raise the eFuse secure version to %lu: %s",
             static_cast<unsigned long>(app.secure_version), esp_err_to_name(err));
    return false;
  }
  return true;
}
#endif

void SleepUntil(port::System& system, uint64_t wake_at_ms) {
  for (uint64_t now = system.MonotonicMs(); now < wake_at_ms; now = system.MonotonicMs()) {
    const uint64_t ms = std::min(wake_at_ms - now, kMaxSleepMs);
    vTaskDelay(std::max<TickType_t>(pdMS_TO_TICKS(static_cast<uint32_t>(ms)), 1));
  }
}

void AgentTask(void* arg) {
  aloft_agent& a = *static_cast<aloft_agent*>(arg);
  const agent::AgentPorts ports{a.flash, a.crypto, a.transport, a.store, a.system, a.self_test};
#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
  bool secure_version_updated = false;
#endif
  for (;;) {
    if (!a.agent) {
      a.agent.emplace(a.settings.agent, ports, a.settings.layout, a.settings.device);
    }
    const agent::StepResult result = a.agent->RunUntilBlocked(kStepsPerSlice);
#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
    if (!secure_version_updated && result != agent::StepResult::kProgress) {
      secure_version_updated = UpdateSecureVersionOnceValid();
    }
#endif
    switch (result) {
      case agent::StepResult::kProgress:
        taskYIELD();
        break;
      case agent::StepResult::kWaiting:
        SleepUntil(a.system, a.agent->wake_at_ms());
        break;
      case agent::StepResult::kRebootRequested:
        // IdfSystem::RequestReboot resets the chip and never returns; kept for completeness.
        esp_restart();
        break;
      case agent::StepResult::kDead: {
        // The agent cannot run (its record or the running image unreadable). Try again from
        // scratch after the longest back-off, as a reset would, without resetting the product.
        LogFailure("agent stopped", a.agent->last_error());
        a.agent.reset();
        const uint64_t retry_at = a.system.MonotonicMs() + a.settings.agent.schedule.backoff_cap_ms;
        SleepUntil(a.system, retry_at);
        break;
      }
    }
  }
}

Status Start(aloft_agent& a, const aloft_agent_config_t& config) {
  if (Status status = LoadDeviceSettings(a.settings); !status.ok()) {
    LogFailure("settings", status);
    return status;
  }
  if (Status status = a.flash.Init(); !status.ok()) {
    LogFailure("flash", status);
    return status;
  }
  if (Status status = a.store.Open(); !status.ok()) {
    LogFailure("nvs", status);
    return status;
  }
  HttpClientTransportConfig transport;
  transport.base_url = a.settings.server_url;
  transport.ca_pem = config.server_ca_pem;
  transport.bearer_token = a.settings.bearer_token;
  if (Status status = a.transport.Init(transport); !status.ok()) {
    LogFailure("transport", status);
    return status;
  }
  if (Status status = a.self_test.Init(&a, config.self_test, config.self_test_arg,
                                       a.settings.self_test_timeout_ms);
      !status.ok()) {
    LogFailure("self-test", status);
    return status;
  }
  ESP_LOGI(kTag, "device %s, server %.*s, check-in every %lu s", a.settings.device_id.data(),
           static_cast<int>(a.settings.server_url.size()), a.settings.server_url.data(),
           static_cast<unsigned long>(CONFIG_ALOFT_CHECK_INTERVAL_S));
  return OkStatus();
}

}  // namespace
}  // namespace aloft::espidf

extern "C" esp_err_t aloft_agent_start(const aloft_agent_config_t* config) {
  using aloft::espidf::g_agent;
  using aloft::espidf::g_started;
  if (config == nullptr || config->server_ca_pem == nullptr) {
    return ESP_ERR_INVALID_ARG;
  }
  if (g_started.exchange(true)) {
    return ESP_ERR_INVALID_STATE;
  }
  // The agent keeps every buffer it needs inside itself, so nothing is allocated while it runs
  // (esp_http_client and Mbed TLS excepted). A failed start leaves nothing behind: the caller
  // may try again (e.g. after provisioning the credentials).
  aloft_agent& a = g_agent.emplace();
  if (const aloft::Status status = aloft::espidf::Start(a, *config); !status.ok()) {
    g_agent.reset();
    g_started = false;
    return aloft::espidf::ToEspErr(status);
  }
  if (xTaskCreate(aloft::espidf::AgentTask, "aloft", CONFIG_ALOFT_TASK_STACK_SIZE, &a,
                  CONFIG_ALOFT_TASK_PRIORITY, &a.task) != pdPASS) {
    g_agent.reset();
    g_started = false;
    return ESP_ERR_NO_MEM;
  }
  return ESP_OK;
}

extern "C" esp_err_t aloft_agent_check_server(aloft_agent_handle_t agent, uint32_t timeout_ms) {
  if (agent == nullptr) {
    return ESP_ERR_INVALID_ARG;
  }
  if (xTaskGetCurrentTaskHandle() != agent->task) {
    return ESP_ERR_INVALID_STATE;
  }
  aloft::espidf::DiscardSink sink;
  const aloft::Status status =
      agent->transport.Get(aloft::espidf::kHealthPath, 0, sink, timeout_ms);
  if (status.ok()) {
    return ESP_OK;
  }
  aloft::espidf::LogFailure("server check", status);
  return std::strcmp(status.reason(), "transport: timed out") == 0 ? ESP_ERR_TIMEOUT : ESP_FAIL;
}
