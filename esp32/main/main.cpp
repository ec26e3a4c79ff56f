// The aloft example firmware: the tutorial's OTA project done right. It joins a Wi-Fi network,
// starts the aloft agent with the update server's CA, and gives the agent a self-test that a
// new image must pass before it is kept: the Wi-Fi comes up and the update server answers, so
// a firmware that could never fetch its own fix is rolled back instead of confirmed.
//
// Everything about updates (check-in, download, verification, slot switch, confirm, rollback,
// reports) is the aloft component's; see ../README.md and ../../docs/esp-idf.md.

#include <cstring>

#include "aloft_agent.h"
#include "esp_app_desc.h"
#include "esp_bit_defs.h"
#include "esp_event.h"
#include "esp_log.h"
#include "esp_netif.h"
#include "esp_wifi.h"
#include "freertos/FreeRTOS.h"
#include "freertos/event_groups.h"
#include "nvs_flash.h"
#include "sdkconfig.h"

// The update server's CA (aloftd: DATA/ca.pem), embedded by main/CMakeLists.txt.
extern "C" const char server_ca_pem[] asm("_binary_server_ca_pem_start");

namespace {

constexpr const char* kTag = "example";
constexpr EventBits_t kConnectedBit = BIT0;

// Keeps the station connected; the event group says whether it has an address.
void OnNetworkEvent(void* arg, esp_event_base_t base, int32_t id, void* data) {
  (void)data;
  EventGroupHandle_t events = static_cast<EventGroupHandle_t>(arg);
  if (base == WIFI_EVENT && id == WIFI_EVENT_STA_START) {
    esp_wifi_connect();
  } else if (base == WIFI_EVENT && id == WIFI_EVENT_STA_DISCONNECTED) {
    xEventGroupClearBits(events, kConnectedBit);
    esp_wifi_connect();  // the agent backs off on its own while the network is down
  } else if (base == IP_EVENT && id == IP_EVENT_STA_GOT_IP) {
    xEventGroupSetBits(events, kConnectedBit);
  }
}

void StartWifiStation(EventGroupHandle_t events) {
  ESP_ERROR_CHECK(esp_netif_init());
  ESP_ERROR_CHECK(esp_event_loop_create_default());
  esp_netif_create_default_wifi_sta();
  wifi_init_config_t init = WIFI_INIT_CONFIG_DEFAULT();
  ESP_ERROR_CHECK(esp_wifi_init(&init));
  ESP_ERROR_CHECK(esp_event_handler_instance_register(WIFI_EVENT, ESP_EVENT_ANY_ID, &OnNetworkEvent,
                                                      events, nullptr));
  ESP_ERROR_CHECK(esp_event_handler_instance_register(IP_EVENT, IP_EVENT_STA_GOT_IP,
                                                      &OnNetworkEvent, events, nullptr));
  wifi_config_t config = {};
  std::strncpy(reinterpret_cast<char*>(config.sta.ssid), CONFIG_ALOFT_EXAMPLE_WIFI_SSID,
               sizeof(config.sta.ssid) - 1);
  std::strncpy(reinterpret_cast<char*>(config.sta.password), CONFIG_ALOFT_EXAMPLE_WIFI_PASSWORD,
               sizeof(config.sta.password) - 1);
  config.sta.threshold.authmode =
      std::strlen(CONFIG_ALOFT_EXAMPLE_WIFI_PASSWORD) == 0 ? WIFI_AUTH_OPEN : WIFI_AUTH_WPA2_PSK;
  ESP_ERROR_CHECK(esp_wifi_set_mode(WIFI_MODE_STA));
  ESP_ERROR_CHECK(esp_wifi_set_config(WIFI_IF_STA, &config));
  ESP_ERROR_CHECK(esp_wifi_start());
}

// Runs once, on the first boot of a new image, before the agent confirms it. Half the budget
// for the Wi-Fi, a quarter for the server: the rest is margin before the deadline resets the
// chip (which the bootloader answers with a rollback).
esp_err_t SelfTest(aloft_agent_handle_t agent, void* arg, uint32_t timeout_ms,
                   const char** reason) {
  EventGroupHandle_t events = static_cast<EventGroupHandle_t>(arg);
  const EventBits_t bits =
      xEventGroupWaitBits(events, kConnectedBit, pdFALSE, pdTRUE, pdMS_TO_TICKS(timeout_ms / 2));
  if ((bits & kConnectedBit) == 0) {
    *reason = "self-test: wifi did not connect";
    return ESP_ERR_TIMEOUT;
  }
  if (aloft_agent_check_server(agent, timeout_ms / 4) != ESP_OK) {
    *reason = "self-test: update server not reachable";
    return ESP_FAIL;
  }
  ESP_LOGI(kTag, "self-test passed: wifi up, update server reachable");
  return ESP_OK;
}

}  // namespace

extern "C" void app_main(void) {
  // Not erased on error, unlike the stock examples: NVS holds this device's credentials and the
  // agent's record. A firmware that cannot read it stops here; on trial, the reset that follows
  // makes the bootloader roll back to the image that could.
  ESP_ERROR_CHECK(nvs_flash_init());

  const esp_app_desc_t* app = esp_app_get_description();
  ESP_LOGI(kTag, "%s %s starting", app->project_name, app->version);

  EventGroupHandle_t events = xEventGroupCreate();
  StartWifiStation(events);

  aloft_agent_config_t agent = ALOFT_AGENT_CONFIG_DEFAULT();
  agent.server_ca_pem = server_ca_pem;
  agent.self_test = SelfTest;
  agent.self_test_arg = events;
  if (const esp_err_t err = aloft_agent_start(&agent); err != ESP_OK) {
    // The product keeps running without updates; the reason is in the log above.
    ESP_LOGE(kTag, "aloft agent not started: %s", esp_err_to_name(err));
  }

  // The application's own work goes here.
}
