#pragma once
// ALOFT_LOG_{ERROR,WARN,INFO,DEBUG}(format, ...): printf-style logging from core and agent.
// A facade: <aloft_backend/log.h> (host: stderr with a level threshold; ESP-IDF: ESP_LOGx)
// must declare
//   void aloft_backend_log(int level, const char* tag, const char* format, ...);
// Levels: 0 error, 1 warning, 2 info, 3 debug.

#include <aloft_backend/log.h>

#define ALOFT_LOG_ERROR(...) ::aloft_backend_log(0, "aloft", __VA_ARGS__)
#define ALOFT_LOG_WARN(...) ::aloft_backend_log(1, "aloft", __VA_ARGS__)
#define ALOFT_LOG_INFO(...) ::aloft_backend_log(2, "aloft", __VA_ARGS__)
#define ALOFT_LOG_DEBUG(...) ::aloft_backend_log(3, "aloft", __VA_ARGS__)
