#pragma once
// Comparison of secret-dependent bytes (MACs, tokens) in time that depends only on the length,
// so an attacker timing the answer learns nothing about how many leading bytes matched.

#include <cstddef>
#include <cstdint>

#include "core/bytes.h"

namespace aloft {

// True iff `a` and `b` have the same length and bytes. The lengths are not secret: a length
// mismatch returns at once; otherwise every byte is read, with no early exit.
inline bool ConstantTimeEqual(ConstByteSpan a, ConstByteSpan b) {
  if (a.size() != b.size()) {
    return false;
  }
  // volatile keeps the compiler from turning the accumulation back into an early-exit loop.
  volatile uint8_t difference = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    difference = static_cast<uint8_t>(difference |
                                      (static_cast<uint8_t>(a[i]) ^ static_cast<uint8_t>(b[i])));
  }
  return difference == 0;
}

}  // namespace aloft
