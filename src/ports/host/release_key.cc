#include "ports/host/release_key.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/decoder.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/obj_mac.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "core/try.h"

namespace aloft::host {
namespace {

using core::SignatureScheme;

struct BioDeleter {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
struct BnDeleter {
  void operator()(BIGNUM* bn) const { BN_free(bn); }
};
struct BnCtxDeleter {
  void operator()(BN_CTX* ctx) const { BN_CTX_free(ctx); }
};
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* ctx) const { EVP_PKEY_CTX_free(ctx); }
};
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* sig) const { ECDSA_SIG_free(sig); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;

const unsigned char* Bytes(ConstByteSpan span) {
  return reinterpret_cast<const unsigned char*>(span.data());
}

// Never prompt for a passphrase on the terminal: encrypted keys are refused.
int NoPassphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*userdata*/) { return -1; }

// OpenSSL keeps a per-thread error queue; a failure we report as a Status must not leave
// entries behind for an unrelated later call to trip over.
template <typename T>
T ClearErrors(T value) {
  ERR_clear_error();
  return value;
}

Bn GetBn(const EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) {
    return nullptr;
  }
  return Bn(bn);
}

Result<std::string> BioText(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) {
    return Internal("release key: cannot encode the PEM key");
  }
  return std::string(data, static_cast<size_t>(size));
}

Result<SignatureScheme> SchemeOfKey(const EVP_PKEY* key) {
  const int type = EVP_PKEY_get_base_id(key);
  if (type == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(key);
    if (bits != 3072) {
      return InvalidArgument("release key: RSA key is not 3072 bits", static_cast<uint32_t>(bits));
    }
    return SignatureScheme::kRsa3072;
  }
  if (type != EVP_PKEY_EC) {
    return InvalidArgument("release key: key type is not RSA or ECDSA");
  }
  char group[64] = {};
  size_t group_size = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group,
                                     &group_size) != 1) {
    return ClearErrors(InvalidArgument("release key: ECDSA curve is not P-192, P-256 or P-384"));
  }
  int nid = OBJ_sn2nid(group);
  if (nid == NID_undef) {
    nid = EC_curve_nist2nid(group);
  }
  switch (nid) {
    case NID_X9_62_prime192v1:
      return SignatureScheme::kEcdsaP192;
    case NID_X9_62_prime256v1:
      return SignatureScheme::kEcdsaP256;
    case NID_secp384r1:
      return SignatureScheme::kEcdsaP384;
    default:
      return InvalidArgument("release key: ECDSA curve is not P-192, P-256 or P-384");
  }
}

uint8_t CurveId(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kEcdsaP192:
      return core::kCurveIdP192;
    case SignatureScheme::kEcdsaP256:
      return core::kCurveIdP256;
    case SignatureScheme::kEcdsaP384:
      return core::kCurveIdP384;
    case SignatureScheme::kRsa3072:
      return 0;
  }
  return 0;
}

bool ToLittleEndian(const BIGNUM* bn, std::byte* out, size_t size) {
  return BN_bn2lebinpad(bn, reinterpret_cast<unsigned char*>(out), static_cast<int>(size)) ==
         static_cast<int>(size);
}

}  // namespace

ReleaseKey::ReleaseKey(EVP_PKEY* key, SignatureScheme scheme, bool has_private)
    : key_(key), scheme_(scheme), has_private_(has_private) {}

ReleaseKey::ReleaseKey(ReleaseKey&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)),
      scheme_(other.scheme_),
      has_private_(other.has_private_),
      key_fields_(std::move(other.key_fields_)),
      key_digest_(other.key_digest_) {}

ReleaseKey& ReleaseKey::operator=(ReleaseKey&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    key_ = std::exchange(other.key_, nullptr);
    scheme_ = other.scheme_;
    has_private_ = other.has_private_;
    key_fields_ = std::move(other.key_fields_);
    key_digest_ = other.key_digest_;
  }
  return *this;
}

ReleaseKey::~ReleaseKey() { EVP_PKEY_free(key_); }

Result<ReleaseKey> ReleaseKey::FromPem(std::string_view pem) {
  if (pem.find("-----BEGIN ") == std::string_view::npos) {
    return InvalidArgument("release key: not a PEM key");
  }
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    return InvalidArgument("release key: encrypted keys are not supported");
  }
  const bool is_private = pem.find("PRIVATE KEY-----") != std::string_view::npos;
  const bool is_public = !is_private && pem.find("PUBLIC KEY-----") != std::string_view::npos;
  if (!is_private && !is_public) {
    return InvalidArgument("release key: not a PEM key");
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    return Internal("release key: out of memory");
  }
  EVP_PKEY* raw = nullptr;
  if (is_private) {
    raw = PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  } else {
    // The decoder takes both SubjectPublicKeyInfo ("PUBLIC KEY") and PKCS#1 ("RSA PUBLIC KEY").
    OSSL_DECODER_CTX* decoder = OSSL_DECODER_CTX_new_for_pkey(
        &raw, "PEM", nullptr, nullptr, EVP_PKEY_PUBLIC_KEY, nullptr, nullptr);
    if (decoder == nullptr || OSSL_DECODER_from_bio(decoder, bio.get()) != 1) {
      EVP_PKEY_free(raw);
      raw = nullptr;
    }
    OSSL_DECODER_CTX_free(decoder);
  }
  if (raw == nullptr) {
    return ClearErrors(InvalidArgument("release key: cannot decode the PEM key"));
  }
  ReleaseKey key(raw, SignatureScheme::kRsa3072, is_private);
  ALOFT_TRY_ASSIGN(key.scheme_, SchemeOfKey(raw));
  ALOFT_TRY(key.ComputeKeyFields());
  return key;
}

Result<ReleaseKey> ReleaseKey::Generate(SignatureScheme scheme) {
  EVP_PKEY* raw = nullptr;
  switch (scheme) {
    case SignatureScheme::kRsa3072:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
      break;
    case SignatureScheme::kEcdsaP256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case SignatureScheme::kEcdsaP384:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case SignatureScheme::kEcdsaP192:
      return InvalidArgument(
          "release key: P-192 keys are not generated (ESP-IDF does not offer them)");
  }
  if (raw == nullptr) {
    return ClearErrors(Internal("release key: key generation failed"));
  }
  ReleaseKey key(raw, scheme, /*has_private=*/true);
  ALOFT_TRY(key.ComputeKeyFields());
  return key;
}

Status ReleaseKey::ComputeKeyFields() {
  key_fields_.assign(core::SchemeKeyFieldsSize(scheme_), std::byte{0});
  std::byte* out = key_fields_.data();
  if (scheme_ == SignatureScheme::kRsa3072) {
    Bn n = GetBn(key_, OSSL_PKEY_PARAM_RSA_N);
    Bn e = GetBn(key_, OSSL_PKEY_PARAM_RSA_E);
    if (!n || !e) {
      return ClearErrors(Internal("release key: cannot read the RSA key numbers"));
    }
    if (BN_num_bits(e.get()) > 32) {
      return InvalidArgument("release key: RSA public exponent does not fit 32 bits");
    }
    // rinv = R^2 mod n with R = 2^3072: the Montgomery constant the ROM's RSA accelerator needs.
    std::unique_ptr<BN_CTX, BnCtxDeleter> ctx(BN_CTX_new());
    Bn r_squared(BN_new());
    Bn rinv(BN_new());
    if (!ctx || !r_squared || !rinv || BN_set_bit(r_squared.get(), 2 * 3072) != 1 ||
        BN_mod(rinv.get(), r_squared.get(), n.get(), ctx.get()) != 1 ||
        !ToLittleEndian(n.get(), out, core::kRsaKeySize) ||
        !ToLittleEndian(rinv.get(), out + (core::kRsaRinvOffset - core::kRsaModulusOffset),
                        core::kRsaKeySize)) {
      return ClearErrors(Internal("release key: cannot compute the RSA block fields"));
    }
    StoreLe32(key_fields_, core::kRsaExponentOffset - core::kRsaModulusOffset,
              static_cast<uint32_t>(BN_get_word(e.get())));
    // mdash = -n^-1 mod 2^32. Newton's iteration doubles the correct low bits each step; an odd
    // n is its own inverse mod 8 (3 bits), so four steps reach 48 >= 32 bits.
    const uint32_t n0 = LoadLe32(key_fields_, 0);
    uint32_t inverse = n0;
    for (int i = 0; i < 4; ++i) {
      inverse *= 2u - n0 * inverse;
    }
    StoreLe32(key_fields_, core::kRsaMdashOffset - core::kRsaModulusOffset, 0u - inverse);
  } else {
    Bn x = GetBn(key_, OSSL_PKEY_PARAM_EC_PUB_X);
    Bn y = GetBn(key_, OSSL_PKEY_PARAM_EC_PUB_Y);
    const size_t field = port::CurveFieldSize(core::SchemeCurve(scheme_));
    out[0] = std::byte{CurveId(scheme_)};
    if (!x || !y || !ToLittleEndian(x.get(), out + 1, field) ||
        !ToLittleEndian(y.get(), out + 1 + field, field)) {
      return ClearErrors(Internal("release key: cannot read the ECDSA public point"));
    }
  }
  const unsigned int expected = core::kKeyDigestSize;
  unsigned int size = 0;
  if (EVP_Digest(key_fields_.data(), key_fields_.size(),
                 reinterpret_cast<unsigned char*>(key_digest_.data()), &size, EVP_sha256(),
                 nullptr) != 1 ||
      size != expected) {
    return ClearErrors(Internal("release key: cannot hash the key fields"));
  }
  return OkStatus();
}

Result<std::string> ReleaseKey::PrivatePem() const {
  if (!has_private_) {
    return FailedPrecondition("release key: no private key");
  }
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey_traditional(bio.get(), key_, nullptr, nullptr, 0, nullptr,
                                                   nullptr) != 1) {
    return ClearErrors(Internal("release key: cannot encode the private key"));
  }
  return BioText(bio.get());
}

Result<std::string> ReleaseKey::PublicPem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), key_) != 1) {
    return ClearErrors(Internal("release key: cannot encode the public key"));
  }
  return BioText(bio.get());
}

Result<std::vector<std::byte>> ReleaseKey::SignDigest(ConstByteSpan digest) const {
  if (!has_private_) {
    return FailedPrecondition("release key: no private key");
  }
  if (digest.size() != core::SchemeDigestSize(scheme_)) {
    return InvalidArgument("release key: digest has the wrong size",
                           static_cast<uint32_t>(digest.size()));
  }
  const bool rsa = scheme_ == SignatureScheme::kRsa3072;
  const EVP_MD* md = scheme_ == SignatureScheme::kEcdsaP384 ? EVP_sha384() : EVP_sha256();
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, key_, nullptr));
  if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 ||
      EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1) {
    return ClearErrors(Internal("release key: cannot set up signing"));
  }
  if (rsa && (EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PSS_PADDING) != 1 ||
              EVP_PKEY_CTX_set_rsa_mgf1_md(ctx.get(), EVP_sha256()) != 1 ||
              EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx.get(), 32) != 1)) {
    return ClearErrors(Internal("release key: cannot set up RSA-PSS"));
  }
  size_t size = 0;
  if (EVP_PKEY_sign(ctx.get(), nullptr, &size, Bytes(digest), digest.size()) != 1) {
    return ClearErrors(Internal("release key: signing failed"));
  }
  std::vector<unsigned char> raw(size);
  if (EVP_PKEY_sign(ctx.get(), raw.data(), &size, Bytes(digest), digest.size()) != 1) {
    return ClearErrors(Internal("release key: signing failed"));
  }
  raw.resize(size);
  std::vector<std::byte> signature(core::SchemeSignatureSize(scheme_));
  if (rsa) {
    if (raw.size() != signature.size()) {
      return Internal("release key: RSA signature has the wrong size");
    }
    // The block stores the signature little-endian, for the ROM's RSA accelerator.
    std::reverse_copy(raw.begin(), raw.end(), reinterpret_cast<unsigned char*>(signature.data()));
    return signature;
  }
  // OpenSSL writes ECDSA signatures as DER; the block wants raw r, s little-endian.
  const unsigned char* der = raw.data();
  std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter> sig(
      d2i_ECDSA_SIG(nullptr, &der, static_cast<long>(raw.size())));
  if (!sig) {
    return ClearErrors(Internal("release key: cannot decode the ECDSA signature"));
  }
  const size_t field = signature.size() / 2;
  if (!ToLittleEndian(ECDSA_SIG_get0_r(sig.get()), signature.data(), field) ||
      !ToLittleEndian(ECDSA_SIG_get0_s(sig.get()), signature.data() + field, field)) {
    return ClearErrors(Internal("release key: ECDSA signature does not fit the curve"));
  }
  return signature;
}

Result<std::array<std::byte, core::kSignatureBlockSize>> ReleaseKey::SignBlock(
    ConstByteSpan data) const {
  if (scheme_ == SignatureScheme::kEcdsaP192) {
    return InvalidArgument("release key: P-192 keys cannot sign (ESP-IDF does not offer them)");
  }
  std::array<std::byte, core::kMaxImageDigestSize> digest{};
  const size_t digest_size = core::SchemeDigestSize(scheme_);
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), reinterpret_cast<unsigned char*>(digest.data()), &size,
                 digest_size == 48 ? EVP_sha384() : EVP_sha256(), nullptr) != 1 ||
      size != digest_size) {
    return ClearErrors(Internal("release key: cannot hash the data"));
  }
  const ConstByteSpan digest_span = ConstByteSpan(digest).first(digest_size);
  ALOFT_TRY_ASSIGN(const std::vector<std::byte> signature, SignDigest(digest_span));
  std::array<std::byte, core::kSignatureBlockSize> block{};
  ALOFT_TRY(core::SerializeSignatureBlock({scheme_, digest_span, key_fields_, signature}, block));
  return block;
}

Result<std::vector<std::byte>> SignImage(ConstByteSpan input,
                                         std::span<const ReleaseKey* const> keys, bool append) {
  if (input.empty()) {
    return InvalidArgument("sign: input is empty");
  }
  if (keys.empty()) {
    return InvalidArgument("sign: no signing key");
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i] == nullptr || !keys[i]->has_private_key()) {
      return InvalidArgument("sign: a key has no private part", static_cast<uint32_t>(i));
    }
  }
  std::vector<std::byte> contents(input.begin(), input.end());
  std::vector<std::byte> kept_blocks;
  if (contents.size() % core::kSignatureSectorSize != 0) {
    // espsecure pads with 0xFF, as erased flash reads, so the sector starts on a 4 KiB boundary.
    contents.resize((contents.size() / core::kSignatureSectorSize + 1) * core::kSignatureSectorSize,
                    std::byte{0xFF});
  } else if (append) {
    const ConstByteSpan sector = input.last(std::min<size_t>(input.size(), core::kSignatureSectorSize));
    size_t valid = 0;
    while (valid < core::kSignatureBlockCount) {
      // espsecure's validate_signature_block: magic, version 2 or 3, CRC.
      const auto block =
          core::ParseSignatureBlock(sector.subspan(valid * core::kSignatureBlockSize));
      if (!block.ok() || block->magic != core::kSignatureBlockMagic ||
          (block->version != core::kSignatureBlockVersionRsa &&
           block->version != core::kSignatureBlockVersionEcdsa) ||
          !block->crc_ok()) {
        break;
      }
      ++valid;
    }
    if (valid == core::kSignatureBlockCount) {
      return ResourceExhausted("sign: up to 3 signature blocks are supported",
                               static_cast<uint32_t>(valid + keys.size()));
    }
    if (valid > 0) {
      kept_blocks.assign(sector.begin(), sector.begin() + static_cast<std::ptrdiff_t>(
                                                              valid * core::kSignatureBlockSize));
      contents.resize(contents.size() - core::kSignatureSectorSize);
    }
  }
  const size_t blocks_before = kept_blocks.size() / core::kSignatureBlockSize;
  if (blocks_before + keys.size() > core::kSignatureBlockCount) {
    return ResourceExhausted("sign: up to 3 signature blocks are supported",
                             static_cast<uint32_t>(blocks_before + keys.size()));
  }
  std::vector<std::byte> out = std::move(contents);
  const size_t sector_start = out.size();
  out.insert(out.end(), kept_blocks.begin(), kept_blocks.end());
  for (const ReleaseKey* key : keys) {
    ALOFT_TRY_ASSIGN(const auto block, key->SignBlock(ConstByteSpan(out).first(sector_start)));
    out.insert(out.end(), block.begin(), block.end());
  }
  out.resize(sector_start + core::kSignatureSectorSize, std::byte{0xFF});
  return out;
}

}  // namespace aloft::host
