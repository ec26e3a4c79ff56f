#pragma once
// aloft_agent: the aloft OTA agent as an ESP-IDF component. One call starts a FreeRTOS task that
// checks in with the update server, downloads and verifies releases into the passive OTA slot,
// switches slots, runs the firmware's self-test on the first boot of a new image, confirms it or
// rolls back, and reports every step (docs/esp-idf.md). Everything it decides is the same code
// the host tests run (src/core, src/agent); settings come from menuconfig ("aloft OTA").
//
//   extern const char server_ca_pem[] asm("_binary_server_ca_pem_start");  // EMBED_TXTFILES
//   aloft_agent_config_t config = ALOFT_AGENT_CONFIG_DEFAULT();
//   config.server_ca_pem = server_ca_pem;
//   config.self_test = my_self_test;  // optional
//   ESP_ERROR_CHECK(aloft_agent_start(&config));
//
// REQUIRES before aloft_agent_start: nvs_flash_init(), the default event loop and a network
// interface (the agent retries with back-off until the network is up). Do not call
// esp_ota_mark_app_valid_cancel_rollback() yourself: the agent confirms a new image only after
// its self-test passed.

#include <stdint.h>

#include "esp_err.h"

#ifdef __cplusplus
extern "C" {
#endif

// The running agent, as its self-test sees it (for aloft_agent_check_server).
typedef struct aloft_agent* aloft_agent_handle_t;

// The firmware's health check, run in the agent task once, when a new image boots on trial
// (before it is confirmed). Return ESP_OK to keep the image; anything else rolls back to the
// previous one. `*reason` may be set to a string with static storage duration ("wifi did not
// connect"), reported to the server with the rollback. If the test has not returned after
// timeout_ms (menuconfig: self-test timeout), the chip resets and the bootloader rolls back.
typedef esp_err_t (*aloft_self_test_fn)(aloft_agent_handle_t agent, void* arg, uint32_t timeout_ms,
                                        const char** reason);

typedef struct {
  // The CA the server's certificate must chain to (PEM, NUL-terminated), and nothing else: the
  // system store is never used. Must outlive the agent (EMBED_TXTFILES data does).
  const char* server_ca_pem;
  // NULL: every new image passes (not recommended).
  aloft_self_test_fn self_test;
  void* self_test_arg;
} aloft_agent_config_t;

#define ALOFT_AGENT_CONFIG_DEFAULT() \
  { NULL, NULL, NULL }

// Loads the settings (menuconfig, the device's credentials, the partition table), then starts
// the agent task. Once per boot. Errors (each logged with its reason under the tag "aloft"):
//   ESP_ERR_INVALID_ARG    no config or no CA; a malformed setting (key digest, device id, tags)
//   ESP_ERR_INVALID_STATE  already started
//   ESP_ERR_NOT_FOUND      credentials missing from NVS (menuconfig: credentials from NVS)
//   ESP_ERR_NO_MEM         the agent's task (its stack) or its self-test timer could not be
//                          created (the agent itself is in static storage, about 40 KiB)
//   ESP_FAIL               anything else (partition table the agent cannot update from, NVS)
esp_err_t aloft_agent_start(const aloft_agent_config_t* config);

// For self-tests: GETs /healthz from the update server over the pinned CA and the device's
// credentials ("the server is reachable"). ESP_OK on a 2xx answer; ESP_ERR_TIMEOUT when it timed
// out; ESP_FAIL otherwise (the reason is logged). ESP_ERR_INVALID_ARG without an agent;
// ESP_ERR_INVALID_STATE unless called from the agent's task, i.e. from its self-test (the
// transport serves one call at a time).
esp_err_t aloft_agent_check_server(aloft_agent_handle_t agent, uint32_t timeout_ms);

#ifdef __cplusplus
}
#endif
