#pragma once
// ESP-IDF backend of the ALOFT_LOG facade (src/core/log.h): levels 0..3 go to ESP_LOGE, ESP_LOGW,
// ESP_LOGI and ESP_LOGD under the facade's tag ("aloft"), so `esp_log_level_set("aloft", ...)`
// and CONFIG_LOG_DEFAULT_LEVEL filter them like any ESP-IDF log.

void aloft_backend_log(int level, const char* tag, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
