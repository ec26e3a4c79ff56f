#pragma once
// The Crypto port on OpenSSL 3 (EVP). Stateless apart from the per-hash contexts the caller
// owns, so one instance may be shared by every thread.

#include "core/port/crypto.h"

namespace aloft::host {

class OpensslCrypto final : public port::Crypto {
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
};

}  // namespace aloft::host
