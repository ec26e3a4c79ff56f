#pragma once
// Early-return helpers that keep error propagation to one line.
//   ALOFT_TRY(flash.Erase(offset, size));          // returns the Status if it is not OK
//   ALOFT_TRY_ASSIGN(auto table, ParseTable(bytes)); // declares/assigns from a Result<T>
// Both work in functions returning Status or any Result<U>.

#include <utility>

#include "core/result.h"
#include "core/status.h"

#define ALOFT_TRY(expr)                                                      \
  do {                                                                       \
    if (::aloft::Status aloft_try_status_ = ::aloft::internal::ToStatus(expr); \
        !aloft_try_status_.ok()) {                                           \
      return aloft_try_status_;                                              \
    }                                                                        \
  } while (0)

#define ALOFT_INTERNAL_CONCAT2(a, b) a##b
#define ALOFT_INTERNAL_CONCAT(a, b) ALOFT_INTERNAL_CONCAT2(a, b)
#define ALOFT_TRY_ASSIGN(lhs, expr) \
  ALOFT_INTERNAL_TRY_ASSIGN(ALOFT_INTERNAL_CONCAT(aloft_try_result_, __LINE__), lhs, expr)
#define ALOFT_INTERNAL_TRY_ASSIGN(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) {                                \
    return tmp.status();                          \
  }                                               \
  lhs = std::move(tmp).value()
