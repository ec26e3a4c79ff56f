#pragma once
// The seq search of esp_rewrite_ota_data() (esp_ota_ops.c), generic over the machine word so
// that tests can check it exhaustively against ESP-IDF's literal loop on 8- and 16-bit words.
// Core-internal: use NextOtaSeq (core/boot/ota_ops.h).

#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

namespace aloft::core::internal {

// ESP-IDF: `i = 0; while (base > (k+1) % n + i * n) i++;` with every sum and product wrapping
// in Word. Here the same value without walking i: within one pass through [0, 2^W) the
// candidates r + i·n rise by n, so the first one >= base is a division away; past the top the
// next pass starts at (last + n) - 2^W. The pass start is always below n, so after n passes
// it has repeated and the ESP-IDF loop can never end: nullopt.
// REQUIRES: 0 < n, k < n.
template <typename Word>
constexpr std::optional<Word> NextOtaSeqIn(Word base, Word k, Word n) {
  static_assert(std::is_unsigned_v<Word> && sizeof(Word) <= sizeof(uint32_t));
  constexpr uint64_t kTop = std::numeric_limits<Word>::max();
  const uint64_t step = n;
  const uint64_t target = base;
  uint64_t start = (uint64_t{k} + 1) % step;
  for (uint64_t pass = 0; pass < step; ++pass) {
    if (start >= target) {
      return static_cast<Word>(start);
    }
    const uint64_t value = start + (target - start + step - 1) / step * step;
    if (value <= kTop) {
      return static_cast<Word>(value);
    }
    const uint64_t last = start + (kTop - start) / step * step;
    start = last + step - (kTop + 1);
  }
  return std::nullopt;
}

}  // namespace aloft::core::internal
