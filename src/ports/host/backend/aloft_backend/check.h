#pragma once
// Host backend of the ALOFT_CHECK facade (src/core/check.h): prints and aborts.

[[noreturn]] void aloft_backend_check_failed(const char* condition, const char* file, int line);
