#include "core/release/freshness.h"

#include <algorithm>

#include "core/constant_time.h"
#include "core/try.h"

namespace aloft::core {

Result<size_t> FreshnessMessage(const FreshnessClaim& claim, ByteSpan out) {
  if (claim.device_id.empty() || claim.device_id.size() > kDeviceIdMaxSize) {
    return InvalidArgument("freshness: device id is not 1..64 bytes",
                           static_cast<uint32_t>(claim.device_id.size()));
  }
  if (claim.nonce.size() != kCheckinNonceSize) {
    return InvalidArgument("freshness: nonce is not 16 bytes",
                           static_cast<uint32_t>(claim.nonce.size()));
  }
  if (claim.body_sha256.size() != kAnswerDigestSize) {
    return InvalidArgument("freshness: body digest is not 32 bytes",
                           static_cast<uint32_t>(claim.body_sha256.size()));
  }
  const size_t size = kFreshnessDomain.size() + 1 + claim.device_id.size() + kCheckinNonceSize + 8 +
                      kAnswerDigestSize;
  if (out.size() < size) {
    return OutOfRange("freshness: output buffer too small", static_cast<uint32_t>(out.size()));
  }
  size_t at = 0;
  const ConstByteSpan domain = AsBytes(kFreshnessDomain);
  std::copy(domain.begin(), domain.end(), out.begin());
  at += domain.size();
  StoreU8(out, at++, static_cast<uint8_t>(claim.device_id.size()));
  const ConstByteSpan id = AsBytes(claim.device_id);
  std::copy(id.begin(), id.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
  at += id.size();
  std::copy(claim.nonce.begin(), claim.nonce.end(), out.begin() + static_cast<std::ptrdiff_t>(at));
  at += kCheckinNonceSize;
  StoreLe32(out, at, static_cast<uint32_t>(claim.server_time_ms));
  StoreLe32(out, at + 4, static_cast<uint32_t>(claim.server_time_ms >> 32));
  at += 8;
  std::copy(claim.body_sha256.begin(), claim.body_sha256.end(),
            out.begin() + static_cast<std::ptrdiff_t>(at));
  at += kAnswerDigestSize;
  return at;
}

Result<std::array<std::byte, kFreshnessMacSize>> ComputeFreshnessMac(port::Crypto& crypto,
                                                                     ConstByteSpan device_secret,
                                                                     const FreshnessClaim& claim) {
  if (device_secret.size() < kDeviceSecretMinSize) {
    return InvalidArgument("freshness: device secret shorter than 16 bytes",
                           static_cast<uint32_t>(device_secret.size()));
  }
  std::array<std::byte, kMaxFreshnessMessageSize> message;
  ALOFT_TRY_ASSIGN(const size_t size, FreshnessMessage(claim, message));
  std::array<std::byte, kFreshnessMacSize> mac{};
  ALOFT_TRY(crypto.HmacSha256(device_secret, ConstByteSpan(message).first(size), mac));
  return mac;
}

Status VerifyFreshness(port::Crypto& crypto, ConstByteSpan device_secret,
                       const FreshnessClaim& claim, ConstByteSpan mac) {
  ALOFT_TRY_ASSIGN(const auto expected, ComputeFreshnessMac(crypto, device_secret, claim));
  if (!ConstantTimeEqual(expected, mac)) {
    return Unauthenticated("freshness: answer mac does not verify");
  }
  return OkStatus();
}

}  // namespace aloft::core
