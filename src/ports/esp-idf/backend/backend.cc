// ESP-IDF implementations of the check and log facades. Uses: ESP_LOGE/W/I/D, esp_log_level_get,
// abort().

#include <aloft_backend/check.h>
#include <aloft_backend/log.h>

#include <cstdarg>
#include <cstdio>
#include <cstdlib>

#include "esp_log.h"

namespace {

// One line of a message; longer ones are cut (logs are for people, the Status reasons are short).
constexpr size_t kLogLineSize = 192;

esp_log_level_t EspLevel(int level) {
  switch (level) {
    case 0:
      return ESP_LOG_ERROR;
    case 1:
      return ESP_LOG_WARN;
    case 2:
      return ESP_LOG_INFO;
    default:
      return ESP_LOG_DEBUG;
  }
}

}  // namespace

void aloft_backend_check_failed(const char* condition, const char* file, int line) {
  ESP_LOGE("aloft", "internal check failed: %s at %s:%d", condition, file, line);
  abort();
}

void aloft_backend_log(int level, const char* tag, const char* format, ...) {
  const esp_log_level_t esp_level = EspLevel(level);
  if (esp_log_level_get(tag) < esp_level) {
    return;  // filtered: skip the formatting
  }
  char text[kLogLineSize];
  va_list args;
  va_start(args, format);
  std::vsnprintf(text, sizeof(text), format, args);
  va_end(args);
  switch (esp_level) {
    case ESP_LOG_ERROR:
      ESP_LOGE(tag, "%s", text);
      break;
    case ESP_LOG_WARN:
      ESP_LOGW(tag, "%s", text);
      break;
    case ESP_LOG_INFO:
      ESP_LOGI(tag, "%s", text);
      break;
    default:
      ESP_LOGD(tag, "%s", text);
      break;
  }
}
