#pragma once
// Host backend of the ALOFT_LOG facade (src/core/log.h): writes to stderr when the level is at
// or below the threshold set with aloft_backend_set_log_level (default: warnings).

void aloft_backend_log(int level, const char* tag, const char* format, ...)
    __attribute__((format(printf, 3, 4)));
void aloft_backend_set_log_level(int level);
// Sends every message at or below the threshold to `sink` (already formatted, without the
// level prefix or newline) instead of stderr; nullptr restores stderr. For servers that keep
// one structured log.
void aloft_backend_set_log_sink(void (*sink)(int level, const char* tag, const char* message));
