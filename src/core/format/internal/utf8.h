#pragma once
// UTF-8 helpers for the partition-table formats: strict validation (what Python's decoder
// accepts) and code-point stepping over text already validated. Internal to src/core/format.

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace aloft::core::internal {

// Length of the longest valid UTF-8 prefix of `text`: text.size() when all of it is valid.
// Strict as Python's "utf-8" codec: no overlong forms, no surrogates, nothing above U+10FFFF.
size_t Utf8ValidPrefix(std::string_view text);

// The code point starting at text[index], and its length in bytes through `length`.
// REQUIRES: text is valid UTF-8 and index < text.size() is the start of a code point.
uint32_t DecodeUtf8At(std::string_view text, size_t index, size_t* length);

// Where the last code point of `text` starts. REQUIRES: text is valid UTF-8 and not empty.
size_t LastUtf8Start(std::string_view text);

}  // namespace aloft::core::internal
