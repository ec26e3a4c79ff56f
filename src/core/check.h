#pragma once
// ALOFT_CHECK: crash on a broken invariant (a bug, never bad input: bad input gets a Status).
// A pigweed-style facade: the backend header <aloft_backend/check.h> comes from the port that
// is built in (src/ports/host/backend or src/ports/esp-idf/backend) and must declare
//   [[noreturn]] void aloft_backend_check_failed(const char* condition, const char* file, int line);

#include <aloft_backend/check.h>

#define ALOFT_CHECK(condition)                                         \
  do {                                                                 \
    if (!(condition)) {                                                \
      ::aloft_backend_check_failed(#condition, __FILE__, __LINE__);    \
    }                                                                  \
  } while (0)
