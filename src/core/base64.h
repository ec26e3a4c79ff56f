#pragma once
// Standard base64 (RFC 4648 §4, with '=' padding), strict and without heap: the device reads the
// signed release manifest and its signature blocks from a check-in answer with it. Decoding
// accepts only the canonical encoding, the one ports/host/release_document.h's Base64Encode
// writes: length a multiple of 4, padding only at the end, zero unused bits, no whitespace.

#include <cstddef>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace aloft::core {

// Bytes `text` decodes to if it is well formed (from its length and padding).
size_t Base64DecodedSize(std::string_view text);

// Decodes `text` into the start of `out`; returns the byte count. `out` may overlap `text` when
// out.data() is at or before text.data() (decoding in place): each output byte is written after
// the characters it comes from have been read. Errors, kInvalidArgument: "base64: length is not
// a multiple of 4", "base64: invalid character" (context: its offset), "base64: misplaced
// padding" (context: its offset), "base64: non-zero unused bits"; kResourceExhausted "base64:
// output buffer too small" (context: the size needed).
Result<size_t> Base64Decode(std::string_view text, ByteSpan out);

}  // namespace aloft::core
