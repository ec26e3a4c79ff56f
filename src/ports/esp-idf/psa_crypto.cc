#include "ports/esp-idf/psa_crypto.h"

#include <psa/crypto.h>

#include <array>
#include <cstring>
#include <new>

namespace aloft::espidf {
namespace {

static_assert(sizeof(psa_hash_operation_t) <= sizeof(port::HashContext::storage),
              "port::HashContext must hold a PSA hash operation");
static_assert(alignof(psa_hash_operation_t) <= alignof(port::HashContext),
              "port::HashContext must be aligned for a PSA hash operation");

// The operation object inside the caller's context. The context's bytes start zeroed, which is
// PSA_HASH_OPERATION_INIT (an inactive operation); HashBegin constructs a fresh one regardless.
psa_hash_operation_t* Operation(port::HashContext& context) {
  return std::launder(reinterpret_cast<psa_hash_operation_t*>(context.storage));
}

psa_algorithm_t HashAlgorithmOf(port::HashAlgorithm algorithm) {
  switch (algorithm) {
    case port::HashAlgorithm::kSha256:
      return PSA_ALG_SHA_256;
    case port::HashAlgorithm::kSha384:
      return PSA_ALG_SHA_384;
    case port::HashAlgorithm::kMd5:
      return PSA_ALG_MD5;
  }
  return PSA_ALG_NONE;
}

const uint8_t* Bytes(ConstByteSpan span) { return reinterpret_cast<const uint8_t*>(span.data()); }

// A PSA error of the hash and MAC calls, as the port's codes.
Status FromPsa(psa_status_t status, const char* internal_reason) {
  switch (status) {
    case PSA_SUCCESS:
      return OkStatus();
    case PSA_ERROR_NOT_SUPPORTED:
      return Unimplemented("crypto: algorithm not available");
    case PSA_ERROR_INSUFFICIENT_MEMORY:
      return ResourceExhausted("crypto: out of memory");
    case PSA_ERROR_BAD_STATE:
      return FailedPrecondition("crypto: hash not started");
    default:
      return Internal(internal_reason, static_cast<uint32_t>(status));
  }
}

// A volatile PSA key, destroyed when the scope ends (every return path of a verify).
class ScopedKey {
 public:
  ScopedKey() = default;
  ScopedKey(const ScopedKey&) = delete;
  ScopedKey& operator=(const ScopedKey&) = delete;
  ~ScopedKey() {
    if (imported_) {
      psa_destroy_key(id_);
    }
  }

  psa_status_t Import(psa_key_type_t type, size_t bits, psa_key_usage_t usage,
                      psa_algorithm_t algorithm, const uint8_t* data, size_t size) {
    psa_key_attributes_t attributes = psa_key_attributes_init();
    psa_set_key_type(&attributes, type);
    psa_set_key_bits(&attributes, bits);
    psa_set_key_usage_flags(&attributes, usage);
    psa_set_key_algorithm(&attributes, algorithm);
    const psa_status_t status = psa_import_key(&attributes, data, size, &id_);
    psa_reset_key_attributes(&attributes);
    imported_ = status == PSA_SUCCESS;
    return status;
  }
  mbedtls_svc_key_id_t id() const { return id_; }

 private:
  mbedtls_svc_key_id_t id_{};
  bool imported_ = false;
};

// What a failed import means for a public key the caller handed in.
Status FromImport(psa_status_t status, const char* malformed_reason) {
  if (status == PSA_ERROR_INVALID_ARGUMENT) {
    return InvalidArgument(malformed_reason);
  }
  return FromPsa(status, "crypto: cannot import the public key");
}

// What a failed psa_verify_hash means. An r or s outside [1, n-1] is INVALID_ARGUMENT in some
// Mbed TLS versions: a signature that does not verify either way.
Status FromVerify(psa_status_t status) {
  if (status == PSA_ERROR_INVALID_SIGNATURE || status == PSA_ERROR_INVALID_ARGUMENT) {
    return Unauthenticated("crypto: signature does not verify");
  }
  return FromPsa(status, "crypto: signature verification failed to run");
}

// Largest RSA key PSA builds by default (PSA_VENDOR_RSA_MAX_KEY_BITS): 4096 bits.
constexpr size_t kMaxRsaModulusSize = 512;
// SEQUENCE { INTEGER n, INTEGER e }: two tags, three lengths of up to 3 bytes, a sign byte.
constexpr size_t kMaxRsaPublicKeyDerSize = kMaxRsaModulusSize + 32;

// Appends a DER length.
size_t PutDerLength(size_t length, uint8_t* out) {
  if (length < 0x80) {
    out[0] = static_cast<uint8_t>(length);
    return 1;
  }
  if (length <= 0xFF) {
    out[0] = 0x81;
    out[1] = static_cast<uint8_t>(length);
    return 2;
  }
  out[0] = 0x82;
  out[1] = static_cast<uint8_t>(length >> 8);
  out[2] = static_cast<uint8_t>(length);
  return 3;
}

// Appends a DER INTEGER holding the big-endian unsigned `value` (leading zeros dropped, a zero
// byte added when the top bit is set, so it stays positive).
size_t PutDerUnsigned(const uint8_t* value, size_t size, uint8_t* out) {
  while (size > 1 && value[0] == 0) {
    ++value;
    --size;
  }
  const bool pad = (value[0] & 0x80) != 0;
  size_t at = 0;
  out[at++] = 0x02;
  at += PutDerLength(size + (pad ? 1 : 0), out + at);
  if (pad) {
    out[at++] = 0x00;
  }
  std::memcpy(out + at, value, size);
  return at + size;
}

// The PSA import format of an RSA public key: RSAPublicKey (RFC 8017 A.1.1) in DER.
// REQUIRES: 0 < modulus.size() <= kMaxRsaModulusSize.
size_t EncodeRsaPublicKey(ConstByteSpan modulus, uint32_t exponent,
                          std::array<uint8_t, kMaxRsaPublicKeyDerSize>& out) {
  std::array<uint8_t, kMaxRsaPublicKeyDerSize> body{};
  size_t body_size = PutDerUnsigned(Bytes(modulus), modulus.size(), body.data());
  const uint8_t e[4] = {static_cast<uint8_t>(exponent >> 24), static_cast<uint8_t>(exponent >> 16),
                        static_cast<uint8_t>(exponent >> 8), static_cast<uint8_t>(exponent)};
  body_size += PutDerUnsigned(e, sizeof(e), body.data() + body_size);
  size_t at = 0;
  out[at++] = 0x30;
  at += PutDerLength(body_size, out.data() + at);
  std::memcpy(out.data() + at, body.data(), body_size);
  return at + body_size;
}

}  // namespace

Status PsaCrypto::Init() {
  if (initialized_) {
    return OkStatus();
  }
  const psa_status_t status = psa_crypto_init();
  if (status != PSA_SUCCESS) {
    return Unavailable("crypto: psa_crypto_init failed", static_cast<uint32_t>(status));
  }
  initialized_ = true;
  return OkStatus();
}

Status PsaCrypto::HashBegin(port::HashAlgorithm algorithm, port::HashContext& context) {
  if (Status status = Init(); !status.ok()) {
    return status;
  }
  psa_hash_operation_t* operation = new (context.storage) psa_hash_operation_t;
  *operation = psa_hash_operation_init();
  const psa_status_t status = psa_hash_setup(operation, HashAlgorithmOf(algorithm));
  if (status != PSA_SUCCESS) {
    psa_hash_abort(operation);
    return FromPsa(status, "crypto: hash setup failed");
  }
  return OkStatus();
}

Status PsaCrypto::HashUpdate(port::HashContext& context, ConstByteSpan data) {
  return FromPsa(psa_hash_update(Operation(context), Bytes(data), data.size()),
                 "crypto: hash update failed");
}

Status PsaCrypto::HashFinish(port::HashContext& context, ByteSpan digest) {
  // Into a buffer of the largest size first: psa_hash_finish with a short buffer fails without
  // saying how long the digest is, and the port promises kInvalidArgument with its length.
  std::array<uint8_t, PSA_HASH_MAX_SIZE> out{};
  size_t size = 0;
  const psa_status_t status = psa_hash_finish(Operation(context), out.data(), out.size(), &size);
  if (status != PSA_SUCCESS) {
    psa_hash_abort(Operation(context));
    return FromPsa(status, "crypto: hash finish failed");
  }
  if (digest.size() < size) {
    return InvalidArgument("crypto: digest buffer too small", static_cast<uint32_t>(size));
  }
  std::memcpy(digest.data(), out.data(), size);
  return OkStatus();
}

void PsaCrypto::HashAbort(port::HashContext& context) { psa_hash_abort(Operation(context)); }

Status PsaCrypto::VerifyEcdsa(port::EcdsaCurve curve, ConstByteSpan public_key,
                              ConstByteSpan digest, ConstByteSpan signature) {
  const size_t field = port::CurveFieldSize(curve);
  if (public_key.size() != 2 * field || signature.size() != 2 * field) {
    return InvalidArgument("crypto: ecdsa key or signature has the wrong length");
  }
  if (Status status = Init(); !status.ok()) {
    return status;
  }
  std::array<uint8_t, 1 + 2 * 48> point{};
  point[0] = 0x04;  // uncompressed: PSA's import format for a Weierstrass public key
  std::memcpy(point.data() + 1, public_key.data(), public_key.size());
  ScopedKey key;
  const psa_status_t imported =
      key.Import(PSA_KEY_TYPE_ECC_PUBLIC_KEY(PSA_ECC_FAMILY_SECP_R1), 8 * field,
                 PSA_KEY_USAGE_VERIFY_HASH, PSA_ALG_ECDSA_ANY, point.data(), 1 + 2 * field);
  if (imported != PSA_SUCCESS) {
    return FromImport(imported, "crypto: ecdsa public key is not a point on the curve");
  }
  return FromVerify(psa_verify_hash(key.id(), PSA_ALG_ECDSA_ANY, Bytes(digest), digest.size(),
                                    Bytes(signature), signature.size()));
}

Status PsaCrypto::VerifyRsaPss(ConstByteSpan modulus, uint32_t public_exponent,
                               ConstByteSpan digest, ConstByteSpan signature) {
  if (modulus.empty() || modulus.size() > kMaxRsaModulusSize ||
      signature.size() != modulus.size() || digest.size() != 32) {
    return InvalidArgument("crypto: rsa modulus, signature or digest has the wrong length");
  }
  if (Status status = Init(); !status.ok()) {
    return status;
  }
  std::array<uint8_t, kMaxRsaPublicKeyDerSize> der{};
  const size_t der_size = EncodeRsaPublicKey(modulus, public_exponent, der);
  // PSA_ALG_RSA_PSS(SHA-256): MGF1 with SHA-256 and a salt as long as the hash (32 bytes), the
  // Secure Boot v2 parameters. (Mbed TLS 2.28 accepts any salt length here; 3.6 requires 32.)
  const psa_algorithm_t algorithm = PSA_ALG_RSA_PSS(PSA_ALG_SHA_256);
  ScopedKey key;
  const psa_status_t imported = key.Import(
      PSA_KEY_TYPE_RSA_PUBLIC_KEY, 0, PSA_KEY_USAGE_VERIFY_HASH, algorithm, der.data(), der_size);
  if (imported != PSA_SUCCESS) {
    return FromImport(imported, "crypto: rsa public key is malformed");
  }
  return FromVerify(psa_verify_hash(key.id(), algorithm, Bytes(digest), digest.size(),
                                    Bytes(signature), signature.size()));
}

Status PsaCrypto::HmacSha256(ConstByteSpan key, ConstByteSpan message, ByteSpan mac) {
  if (key.empty() || mac.size() < 32) {
    return InvalidArgument("crypto: hmac key is empty or mac buffer too small");
  }
  if (Status status = Init(); !status.ok()) {
    return status;
  }
  const psa_algorithm_t algorithm = PSA_ALG_HMAC(PSA_ALG_SHA_256);
  ScopedKey secret;
  const psa_status_t imported =
      secret.Import(PSA_KEY_TYPE_HMAC, 8 * key.size(), PSA_KEY_USAGE_SIGN_MESSAGE, algorithm,
                    Bytes(key), key.size());
  if (imported != PSA_SUCCESS) {
    return FromPsa(imported, "crypto: cannot import the hmac key");
  }
  size_t size = 0;
  const psa_status_t computed =
      psa_mac_compute(secret.id(), algorithm, Bytes(message), message.size(),
                      reinterpret_cast<uint8_t*>(mac.data()), mac.size(), &size);
  if (computed != PSA_SUCCESS || size != 32) {
    return FromPsa(computed == PSA_SUCCESS ? PSA_ERROR_GENERIC_ERROR : computed,
                   "crypto: hmac-sha256 failed");
  }
  return OkStatus();
}

}  // namespace aloft::espidf
