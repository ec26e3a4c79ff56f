#pragma once
// PsaCrypto: the Crypto port (core/port/crypto.h) on the PSA Crypto API — what ESP-IDF v5.3+
// ships in Mbed TLS 3.6 and the only crypto API of Mbed TLS 4 (ESP-IDF v6). The same file builds
// on the host against Debian's Mbed TLS 2.28, where espidf_port_tests runs it over the Secure
// Boot v2 vectors (src/ports/esp-idf/psa_crypto_test.cc).
//
// PSA calls, and how their results map onto the port's codes:
//   psa_crypto_init                 on first use (idempotent); failure → kUnavailable
//   psa_hash_setup/update/finish/abort   SHA-256, SHA-384, MD5; the psa_hash_operation_t lives
//                                   in the caller's HashContext. PSA_ERROR_NOT_SUPPORTED →
//                                   kUnimplemented, _INSUFFICIENT_MEMORY → kResourceExhausted,
//                                   _BAD_STATE → kFailedPrecondition, others → kInternal
//   psa_import_key + psa_verify_hash + psa_destroy_key
//                                   ECDSA: the uncompressed point 04||X||Y as a SECP_R1 public
//                                   key, PSA_ALG_ECDSA_ANY (the caller's digest as is);
//                                   RSA-PSS: a DER RSAPublicKey built from modulus and exponent,
//                                   PSA_ALG_RSA_PSS(SHA-256). Import PSA_ERROR_INVALID_ARGUMENT →
//                                   kInvalidArgument; verify PSA_ERROR_INVALID_SIGNATURE (or
//                                   _INVALID_ARGUMENT: r or s out of range) → kUnauthenticated
//   psa_import_key + psa_mac_compute(PSA_ALG_HMAC(SHA-256)) + psa_destroy_key   HMAC-SHA256
// Reasons are the host port's (OpensslCrypto), so a contract test compares them one to one.
// Keys live in volatile PSA key slots for the duration of one call only.
//
// No heap of ours (Mbed TLS manages its key slots). Thread-safety: as the port says; PSA itself
// is thread-safe when Mbed TLS is built with MBEDTLS_THREADING_C (ESP-IDF's default).

#include "core/port/crypto.h"

namespace aloft::espidf {

class PsaCrypto final : public port::Crypto {
 public:
  Status HashBegin(port::HashAlgorithm algorithm, port::HashContext& context) override;
  Status HashUpdate(port::HashContext& context, ConstByteSpan data) override;
  Status HashFinish(port::HashContext& context, ByteSpan digest) override;
  void HashAbort(port::HashContext& context) override;
  Status VerifyEcdsa(port::EcdsaCurve curve, ConstByteSpan public_key, ConstByteSpan digest,
                     ConstByteSpan signature) override;
  Status VerifyRsaPss(ConstByteSpan modulus, uint32_t public_exponent, ConstByteSpan digest,
                      ConstByteSpan signature) override;
  Status HmacSha256(ConstByteSpan key, ConstByteSpan message, ByteSpan mac) override;

 private:
  Status Init();

  bool initialized_ = false;
};

}  // namespace aloft::espidf
