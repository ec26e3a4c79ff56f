#pragma once
// ESP-IDF backend of the ALOFT_CHECK facade (src/core/check.h): logs with ESP_LOGE and calls
// abort(), which prints the backtrace and resets the chip (a broken invariant is a bug; the
// bootloader then decides what boots, as after any crash).

[[noreturn]] void aloft_backend_check_failed(const char* condition, const char* file, int line);
