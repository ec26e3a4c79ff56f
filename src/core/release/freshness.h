#pragma once
// Freshness of a check-in answer. Each check-in carries a random nonce the device keeps; the
// server's answer carries HMAC-SHA256 under the device's own secret over the bytes below, so an
// answer is good for one device and one check-in only: replaying an old answer (freeze/replay)
// fails because the device now holds a different nonce. Why a MAC and not an online-key
// signature, and what a server compromise then means: docs/security.md "Freshness".
//
// The message MACed (FreshnessMessage), byte by byte:
//   24  "aloft-checkin-answer-v1\n"       domain separation from every other use of the secret
//    1  n = length of device_id (1..64)
//    n  device_id bytes
//   16  the check-in nonce
//    8  server time, u64 little-endian (milliseconds since the Unix epoch, the server's clock)
//   32  SHA-256 of the answer body exactly as sent (it names the manifest, or "no update")
// Fixed-width or length-prefixed fields, so no two claims share a message. No heap.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

inline constexpr std::string_view kFreshnessDomain = "aloft-checkin-answer-v1\n";
inline constexpr size_t kCheckinNonceSize = 16;
inline constexpr size_t kDeviceIdMaxSize = 64;
inline constexpr size_t kDeviceSecretMinSize = 16;
inline constexpr size_t kFreshnessMacSize = 32;
inline constexpr size_t kAnswerDigestSize = 32;
inline constexpr size_t kMaxFreshnessMessageSize =
    kFreshnessDomain.size() + 1 + kDeviceIdMaxSize + kCheckinNonceSize + 8 + kAnswerDigestSize;
static_assert(kMaxFreshnessMessageSize == 145);

// What an answer claims. On the device every field but server_time_ms and body_sha256 comes
// from the device itself (its id, the nonce it sent), never from the answer.
struct FreshnessClaim {
  std::string_view device_id;  // 1..64 bytes
  ConstByteSpan nonce;         // kCheckinNonceSize bytes
  uint64_t server_time_ms = 0;
  ConstByteSpan body_sha256;  // kAnswerDigestSize bytes
};

// Encodes the MACed bytes into `out`; returns their length. kInvalidArgument "freshness:
// device id is not 1..64 bytes", "freshness: nonce is not 16 bytes", "freshness: body digest
// is not 32 bytes"; kOutOfRange "freshness: output buffer too small".
Result<size_t> FreshnessMessage(const FreshnessClaim& claim, ByteSpan out);

// Server side: the MAC to send with the answer. kInvalidArgument "freshness: device secret
// shorter than 16 bytes", FreshnessMessage's errors, port errors.
Result<std::array<std::byte, kFreshnessMacSize>> ComputeFreshnessMac(port::Crypto& crypto,
                                                                     ConstByteSpan device_secret,
                                                                     const FreshnessClaim& claim);

// Device side: OK iff `mac` is the MAC of `claim` under `device_secret`, compared in constant
// time. kUnauthenticated "freshness: answer mac does not verify" (wrong device, wrong or
// replayed nonce, altered body or time, forged); kInvalidArgument as above.
Status VerifyFreshness(port::Crypto& crypto, ConstByteSpan device_secret,
                       const FreshnessClaim& claim, ConstByteSpan mac);

}  // namespace aloft::core
