#pragma once
// Cryptographic primitives the core needs: incremental hashes, signature verification, and
// HMAC-SHA256 (the check-in freshness proof, core/release/freshness.h).
// Signing never happens on a device, so it is not here. Implementations: host OpenSSL 3
// (src/ports/host/openssl_crypto.h), ESP-IDF PSA (src/ports/esp-idf).
// Thread-safety: a Crypto object may be shared; each HashContext belongs to one caller.

#include <cstddef>
#include <cstdint>

#include "core/bytes.h"
#include "core/status.h"

namespace aloft::port {

enum class HashAlgorithm : uint8_t { kSha256, kSha384, kMd5 };

// Digest length in bytes: 32, 48, 16.
constexpr size_t DigestSize(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::kSha256:
      return 32;
    case HashAlgorithm::kSha384:
      return 48;
    case HashAlgorithm::kMd5:
      return 16;
  }
  return 0;
}

// Caller-owned storage for one running hash; its bytes belong to the port. Large enough for
// a PSA hash operation (mbedTLS 3.6) or an OpenSSL context pointer.
struct HashContext {
  alignas(16) std::byte storage[256]{};  // zeroed: "not running"
};

enum class EcdsaCurve : uint8_t { kP192, kP256, kP384 };

// Size of one coordinate (and of r or s): 24, 32, 48 bytes.
constexpr size_t CurveFieldSize(EcdsaCurve curve) {
  switch (curve) {
    case EcdsaCurve::kP192:
      return 24;
    case EcdsaCurve::kP256:
      return 32;
    case EcdsaCurve::kP384:
      return 48;
  }
  return 0;
}

class Crypto {
 public:
  Crypto() = default;
  Crypto(const Crypto&) = delete;
  Crypto& operator=(const Crypto&) = delete;
  virtual ~Crypto() = default;

  // Starts a hash in `context`. kUnimplemented if the algorithm is not available;
  // kResourceExhausted if the backend cannot allocate its state.
  // REQUIRES: `context` is not running a hash (call HashFinish or HashAbort first).
  virtual Status HashBegin(HashAlgorithm algorithm, HashContext& context) = 0;
  // REQUIRES: HashBegin succeeded on `context`.
  virtual Status HashUpdate(HashContext& context, ConstByteSpan data) = 0;
  // Writes the digest to the first DigestSize() bytes of `digest` and ends the hash.
  // kInvalidArgument if `digest` is too small (the hash is ended anyway).
  virtual Status HashFinish(HashContext& context, ByteSpan digest) = 0;
  // Ends a hash without a digest (error paths). A no-op on a context that is not running.
  virtual void HashAbort(HashContext& context) = 0;

  // Verifies an ECDSA signature over a precomputed digest.
  // `public_key` is X then Y, each CurveFieldSize() bytes, big-endian; `signature` is r then
  // s, the same widths, big-endian. kUnauthenticated if it does not verify;
  // kInvalidArgument if the key is not a point on the curve or a length is wrong.
  virtual Status VerifyEcdsa(EcdsaCurve curve, ConstByteSpan public_key, ConstByteSpan digest,
                             ConstByteSpan signature) = 0;

  // Verifies an RSA-PSS signature (MGF1 with SHA-256, salt length 32) over a SHA-256 digest.
  // `modulus` and `signature` are big-endian and the same length (384 bytes for RSA-3072).
  // kUnauthenticated if it does not verify; kInvalidArgument for a malformed key.
  virtual Status VerifyRsaPss(ConstByteSpan modulus, uint32_t public_exponent,
                              ConstByteSpan digest, ConstByteSpan signature) = 0;

  // Writes HMAC-SHA256(key, message) (RFC 2104) to the first 32 bytes of `mac`.
  // kInvalidArgument if `mac` is shorter than 32 bytes or `key` is empty.
  virtual Status HmacSha256(ConstByteSpan key, ConstByteSpan message, ByteSpan mac) = 0;
};

}  // namespace aloft::port
