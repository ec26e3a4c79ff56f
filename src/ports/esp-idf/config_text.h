#pragma once
// The text the component's settings arrive in (Kconfig strings, NVS strings), parsed without
// heap: trusted release-key digests, device tags, and the device id made from the MAC address.
// Pure; host-tested in config_text_test.cc. Errors name the setting.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/result.h"
#include "core/signature/signature_verifier.h"
#include "core/status.h"

namespace aloft::espidf {

// The protocol's and the freshness MAC's limit on a device id.
inline constexpr size_t kMaxDeviceIdSize = 64;

// Decodes each non-empty text (64 hex digits, either case) into `out`, in order; empty texts
// are unused slots and skipped. Returns how many keys were written. Errors:
//   kInvalidArgument "settings: trusted key digest is not 64 hex digits" (context: its index);
//   kInvalidArgument "settings: no trusted key digest" (all empty: nothing could be trusted);
//   kOutOfRange "settings: more trusted key digests than slots" (context: out.size()).
Result<size_t> ParseTrustedKeyDigests(std::span<const std::string_view> texts,
                                      std::span<core::TrustedKey> out);

// Splits "lab, floor-2,beta" at commas into views of `text`, spaces trimmed, empty pieces
// skipped. Errors: kOutOfRange "settings: too many device tags" (context: out.size());
// kInvalidArgument "settings: device tag longer than 64 bytes" (context: its index).
Result<size_t> SplitTags(std::string_view text, std::span<std::string_view> out);

// `prefix` followed by the 12 lower-case hex digits of `mac` ("esp-a0b1c2d3e4f5"), written to
// `out` and NUL-terminated. Returns its length. kInvalidArgument "settings: device id longer
// than 64 bytes" (context: the length it would have).
Result<size_t> FormatMacDeviceId(std::string_view prefix, std::span<const uint8_t, 6> mac,
                                 std::span<char> out);

// A device id given as text (Kconfig or NVS): 1..64 printable ASCII bytes, copied to `out`
// NUL-terminated. kInvalidArgument "settings: device id is not 1..64 printable bytes".
Result<size_t> CopyDeviceId(std::string_view text, std::span<char> out);

}  // namespace aloft::espidf
