#pragma once
// Hexadecimal text for fixed-size binary values (nonces, digests, MACs) on the device side, no
// heap. Encoding writes lower-case digits; decoding accepts either case.

#include <cstddef>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/status.h"

namespace aloft::core {

// Writes 2 * bytes.size() lower-case hex digits to the start of `out`.
// REQUIRES: out.size() >= 2 * bytes.size().
void HexEncode(ConstByteSpan bytes, std::span<char> out);

// Decodes exactly 2 * out.size() hex digits. kInvalidArgument "hex: wrong length",
// "hex: invalid digit" (context: its offset). `out` is unspecified after an error.
Status HexDecode(std::string_view text, ByteSpan out);

}  // namespace aloft::core
