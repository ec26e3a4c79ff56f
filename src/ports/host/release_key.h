#pragma once
// Release keys on the host (never on a device): load a PEM key (private or public), generate
// one, export its public half, compute its Secure Boot v2 key digest exactly as
// `espsecure digest-sbv2-public-key` does, and sign: one signature block over some data, or a
// whole app image as `espsecure sign-data --version 2` does (SignImage). OpenSSL 3; may
// allocate. Formats: docs/formats/signature-block.md. A ReleaseKey is movable, not copyable,
// and may be used from one thread at a time.

#include <array>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "core/signature/signature_block.h"
#include "core/status.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace aloft::host {

class ReleaseKey {
 public:
  // Reads a PEM private key ("RSA PRIVATE KEY", "EC PRIVATE KEY" traditional; "PRIVATE KEY"
  // PKCS#8) or public key ("PUBLIC KEY" SubjectPublicKeyInfo; "RSA PUBLIC KEY" PKCS#1).
  // Errors (kInvalidArgument unless said): "release key: not a PEM key" (no PEM block),
  // "release key: encrypted keys are not supported", "release key: cannot decode the PEM key"
  // (garbage or truncated), "release key: key type is not RSA or ECDSA",
  // "release key: RSA key is not 3072 bits" (context: the bits it has),
  // "release key: RSA public exponent does not fit 32 bits", "release key: ECDSA curve is not
  // P-192, P-256 or P-384".
  static Result<ReleaseKey> FromPem(std::string_view pem);

  // A fresh key: kRsa3072 (e = 65537), kEcdsaP256 or kEcdsaP384. kInvalidArgument "release key:
  // P-192 keys are not generated (ESP-IDF does not offer them)"; kInternal if OpenSSL fails.
  static Result<ReleaseKey> Generate(core::SignatureScheme scheme);

  ReleaseKey(ReleaseKey&&) noexcept;
  ReleaseKey& operator=(ReleaseKey&&) noexcept;
  ~ReleaseKey();

  core::SignatureScheme scheme() const { return scheme_; }
  bool has_private_key() const { return has_private_; }

  // The private key as PEM in the traditional format espsecure writes ("BEGIN RSA PRIVATE KEY"
  // / "BEGIN EC PRIVATE KEY"). kFailedPrecondition "release key: no private key" for a public key.
  Result<std::string> PrivatePem() const;
  // The public key as SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY"), as espsecure
  // extract-public-key --version 2 writes it.
  Result<std::string> PublicPem() const;

  // The bytes a signature block carries for this key and its digest covers: RSA n LE (384),
  // e (u32 LE), rinv = 2^6144 mod n LE (384), mdash = -n^-1 mod 2^32 (u32 LE); ECDSA the curve
  // id then X, Y little-endian (zero-padded to 64 bytes for P-192).
  const std::vector<std::byte>& key_fields() const { return key_fields_; }
  // SHA-256 of key_fields(): the eFuse digest, equal to espsecure digest-sbv2-public-key.
  const std::array<std::byte, core::kKeyDigestSize>& key_digest() const { return key_digest_; }

  // Signs a precomputed digest (SchemeDigestSize bytes): RSA-PSS (SHA-256, MGF1-SHA-256, salt
  // 32) or ECDSA. Returns the signature as the block stores it: little-endian (RSA 384 bytes;
  // ECDSA r then s, each CurveFieldSize bytes). kFailedPrecondition "release key: no private
  // key"; kInvalidArgument "release key: digest has the wrong size"; kInternal on OpenSSL
  // failure.
  Result<std::vector<std::byte>> SignDigest(ConstByteSpan digest) const;

  // One signature block over `data`: hashes it (SHA-256, or SHA-384 for P-384), signs, and
  // serializes. kInvalidArgument "release key: P-192 keys cannot sign (ESP-IDF does not offer
  // them)"; SignDigest's errors.
  Result<std::array<std::byte, core::kSignatureBlockSize>> SignBlock(ConstByteSpan data) const;

 private:
  ReleaseKey(EVP_PKEY* key, core::SignatureScheme scheme, bool has_private);
  Status ComputeKeyFields();

  EVP_PKEY* key_ = nullptr;
  core::SignatureScheme scheme_ = core::SignatureScheme::kRsa3072;
  bool has_private_ = false;
  std::vector<std::byte> key_fields_;
  std::array<std::byte, core::kKeyDigestSize> key_digest_{};
};

// Signs an app image like `espsecure sign-data --version 2 [--append-signatures]`:
// - input not a multiple of 4096: pad with 0xFF to the next 4096 boundary, sign afresh
//   (`append` has nothing to append to);
// - `append` and the input a multiple of 4096: keep the valid leading blocks (magic, CRC,
//   version) of its last 4096 bytes and sign the bytes before them; if none is valid, sign the
//   whole input afresh;
// - one block per key, in order; unused sector bytes 0xFF. Output = signed region + sector.
// Errors: kInvalidArgument "sign: input is empty", "sign: no signing key", "sign: a key has no
// private part" (context: its index); kResourceExhausted "sign: up to 3 signature blocks are
// supported" (context: blocks already present + keys given); the keys' signing errors.
Result<std::vector<std::byte>> SignImage(ConstByteSpan input,
                                         std::span<const ReleaseKey* const> keys, bool append);

}  // namespace aloft::host
