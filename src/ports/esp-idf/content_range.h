#pragma once
// The Content-Range header of a 206 answer (RFC 9110 §14.4), as the Transport port needs it: the
// first byte of the body and the resource's full size. Pure; host-tested in
// content_range_test.cc.

#include <cstdint>
#include <optional>
#include <string_view>

namespace aloft::espidf {

struct ContentRange {
  uint32_t first = 0;  // first byte of the body
  uint32_t last = 0;   // last byte of the body (inclusive)
  uint32_t total = 0;  // the resource's full size; 0 when the server says "*"
};

// Parses "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"), case-insensitive unit, optional spaces
// around the value. nullopt when malformed, when FIRST > LAST, when TOTAL is not greater than
// LAST, or when a number does not fit 32 bits (firmware images are far smaller).
std::optional<ContentRange> ParseContentRange(std::string_view value);

}  // namespace aloft::espidf
