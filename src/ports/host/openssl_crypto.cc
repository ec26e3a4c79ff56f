#include "ports/host/openssl_crypto.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include <array>
#include <cstring>
#include <memory>
#include <vector>

#include "core/try.h"
#include "ports/host/small_digest.h"

namespace aloft::host {
namespace {

// The context's storage holds one EVP_MD_CTX pointer; null means "not running".
EVP_MD_CTX*& ContextPointer(port::HashContext& context) {
  static_assert(sizeof(EVP_MD_CTX*) <= sizeof(context.storage));
  return *reinterpret_cast<EVP_MD_CTX**>(context.storage);
}

const EVP_MD* Digest(port::HashAlgorithm algorithm) {
  switch (algorithm) {
    case port::HashAlgorithm::kSha256:
      return EVP_sha256();
    case port::HashAlgorithm::kSha384:
      return EVP_sha384();
    case port::HashAlgorithm::kMd5:
      return EVP_md5();
  }
  return nullptr;
}

struct PkeyDeleter {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct ParamBldDeleter {
  void operator()(OSSL_PARAM_BLD* bld) const { OSSL_PARAM_BLD_free(bld); }
};
struct ParamDeleter {
  void operator()(OSSL_PARAM* params) const { OSSL_PARAM_free(params); }
};
struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

const unsigned char* Bytes(ConstByteSpan span) {
  return reinterpret_cast<const unsigned char*>(span.data());
}

Pkey KeyFromParams(const char* type, OSSL_PARAM* params) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) <= 0 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) <= 0) {
    return nullptr;
  }
  return Pkey(key);
}

// Runs EVP_PKEY_verify over a prehashed digest; `configure` sets padding for RSA.
template <typename Configure>
Status VerifyDigest(EVP_PKEY* key, ConstByteSpan digest, const unsigned char* sig, size_t sig_size,
                    Configure configure) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key, nullptr));
  if (!ctx || EVP_PKEY_verify_init(ctx.get()) <= 0 || !configure(ctx.get())) {
    return Internal("crypto: cannot set up signature verification");
  }
  int verdict = EVP_PKEY_verify(ctx.get(), sig, sig_size, Bytes(digest), digest.size());
  if (verdict != 1) {
    return Unauthenticated("crypto: signature does not verify");
  }
  return OkStatus();
}

}  // namespace

Status OpensslCrypto::HashBegin(port::HashAlgorithm algorithm, port::HashContext& context) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) {
    return ResourceExhausted("crypto: cannot allocate a hash context");
  }
  if (EVP_DigestInit_ex(ctx, Digest(algorithm), nullptr) != 1) {
    EVP_MD_CTX_free(ctx);
    return Unimplemented("crypto: hash algorithm not available");
  }
  ContextPointer(context) = ctx;
  return OkStatus();
}

Status OpensslCrypto::HashUpdate(port::HashContext& context, ConstByteSpan data) {
  EVP_MD_CTX* ctx = ContextPointer(context);
  if (ctx == nullptr) {
    return FailedPrecondition("crypto: hash not started");
  }
  if (EVP_DigestUpdate(ctx, data.data(), data.size()) != 1) {
    return Internal("crypto: hash update failed");
  }
  return OkStatus();
}

Status OpensslCrypto::HashFinish(port::HashContext& context, ByteSpan digest) {
  EVP_MD_CTX* ctx = ContextPointer(context);
  if (ctx == nullptr) {
    return FailedPrecondition("crypto: hash not started");
  }
  ContextPointer(context) = nullptr;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int out_size = 0;
  int ok = EVP_DigestFinal_ex(ctx, out, &out_size);
  EVP_MD_CTX_free(ctx);
  if (ok != 1) {
    return Internal("crypto: hash finish failed");
  }
  if (digest.size() < out_size) {
    return InvalidArgument("crypto: digest buffer too small", out_size);
  }
  std::memcpy(digest.data(), out, out_size);
  return OkStatus();
}

void OpensslCrypto::HashAbort(port::HashContext& context) {
  EVP_MD_CTX_free(ContextPointer(context));
  ContextPointer(context) = nullptr;
}

Status OpensslCrypto::VerifyEcdsa(port::EcdsaCurve curve, ConstByteSpan public_key,
                                  ConstByteSpan digest, ConstByteSpan signature) {
  const size_t field = port::CurveFieldSize(curve);
  if (public_key.size() != 2 * field || signature.size() != 2 * field) {
    return InvalidArgument("crypto: ecdsa key or signature has the wrong length");
  }
  const char* group = curve == port::EcdsaCurve::kP192   ? "prime192v1"
                      : curve == port::EcdsaCurve::kP256 ? "prime256v1"
                                                         : "secp384r1";
  std::vector<unsigned char> point(1 + public_key.size());
  point[0] = 0x04;  // uncompressed point
  std::memcpy(point.data() + 1, public_key.data(), public_key.size());

  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return Internal("crypto: cannot build ecdsa key parameters");
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Pkey key = params ? KeyFromParams("EC", params.get()) : nullptr;
  if (!key) {
    return InvalidArgument("crypto: ecdsa public key is not a point on the curve");
  }

  // OpenSSL verifies DER-encoded (r, s); convert from the raw big-endian pair.
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(Bytes(signature), static_cast<int>(field), nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(signature) + field, static_cast<int>(field), nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig, r, s) != 1) {
    ECDSA_SIG_free(sig);
    BN_free(r);
    BN_free(s);
    return Internal("crypto: cannot build ecdsa signature");
  }
  unsigned char* der = nullptr;
  int der_size = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (der_size <= 0) {
    return Internal("crypto: cannot encode ecdsa signature");
  }
  Status status = VerifyDigest(key.get(), digest, der, static_cast<size_t>(der_size),
                               [](EVP_PKEY_CTX*) { return true; });
  OPENSSL_free(der);
  return status;
}

Status OpensslCrypto::VerifyRsaPss(ConstByteSpan modulus, uint32_t public_exponent,
                                   ConstByteSpan digest, ConstByteSpan signature) {
  if (modulus.empty() || signature.size() != modulus.size() || digest.size() != 32) {
    return InvalidArgument("crypto: rsa modulus, signature or digest has the wrong length");
  }
  std::unique_ptr<BIGNUM, BnDeleter> n(
      BN_bin2bn(Bytes(modulus), static_cast<int>(modulus.size()), nullptr));
  std::unique_ptr<BIGNUM, BnDeleter> e(BN_new());
  if (!n || !e || BN_set_word(e.get(), public_exponent) != 1) {
    return Internal("crypto: cannot build rsa key numbers");
  }
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldDeleter> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get()) != 1) {
    return Internal("crypto: cannot build rsa key parameters");
  }
  std::unique_ptr<OSSL_PARAM, ParamDeleter> params(OSSL_PARAM_BLD_to_param(bld.get()));
  Pkey key = params ? KeyFromParams("RSA", params.get()) : nullptr;
  if (!key) {
    return InvalidArgument("crypto: rsa public key is malformed");
  }
  return VerifyDigest(key.get(), digest, Bytes(signature), signature.size(), [](EVP_PKEY_CTX* ctx) {
    return EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, 32) > 0;
  });
}

Status OpensslCrypto::HmacSha256(ConstByteSpan key, ConstByteSpan message, ByteSpan mac) {
  if (key.empty() || mac.size() < 32) {
    return InvalidArgument("crypto: hmac key is empty or mac buffer too small");
  }
  std::array<std::byte, 32> out{};
  ALOFT_TRY(SmallHmacSha256(key, message, out));
  std::memcpy(mac.data(), out.data(), out.size());
  return OkStatus();
}

}  // namespace aloft::host
