#pragma once
// One Secure Boot v2 signature block (1216 bytes) and the signature sector (4096 bytes) that
// holds up to three of them: constants, a decoded view, the key digest a device keeps in eFuse,
// and the serializer the host signer uses. Byte-compatible with the ESP32 ROM
// (ets_secure_boot_sig_block_t) and espsecure v5.3.1; specified in
// ../shared/spec/esp-app-image.md §10-§11 and docs/formats/signature-block.md; vectors in
// tests/vectors/app-image/signed/. No heap: a SignatureBlock views the caller's bytes.
//
// RSA block (version 0x02)               ECDSA P-192/P-256 (0x03, byte 2 = 0)   P-384 (0x03, 1)
//   0 magic 0xE7, 1 version, 2..3 zero    0 E7 03 00 00                          0 E7 03 01 00
//   4 SHA-256 of the signed region (32)   4 SHA-256 (32)                         4 SHA-384 (48)
//  36 n, little-endian (384)             36 curve id (1 = P-192, 2 = P-256)     52 curve id 3
// 420 e, u32 LE                          37 X, Y little-endian (32 + 32;        53 X, Y (48 + 48)
// 424 rinv = 2^6144 mod n, LE (384)         P-192: 24 + 24 + 16 zero)
// 808 mdash = -n^-1 mod 2^32, u32 LE     101 r, s little-endian (64)            149 r, s (96)
// 812 RSA-PSS signature, LE (384)        165 zero                               245 zero
// 1196 CRC-32 (EspRomCrc32Le(0, bytes 0..1195)), u32 LE; 1200..1215 sixteen zero bytes (not
// covered by the CRC). The sector: blocks at 0, 1216, 2432, then 448 bytes; unused bytes 0xFF.
// The key digest (eFuse) is SHA-256 of bytes 36..811 (RSA), 36..100 (P-192/P-256) or 52..148
// (P-384): the "key fields" below.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>

#include "core/bytes.h"
#include "core/format/app_image.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::core {

// kSignatureSectorSize (4096) comes from core/format/app_image.h, where the sector is placed.
inline constexpr size_t kSignatureBlockSize = 1216;
inline constexpr size_t kSignatureBlockCount = 3;
inline constexpr uint8_t kSignatureBlockMagic = 0xE7;
inline constexpr uint8_t kSignatureBlockVersionRsa = 0x02;
inline constexpr uint8_t kSignatureBlockVersionEcdsa = 0x03;
inline constexpr size_t kSignatureBlockCrcOffset = 1196;  // the CRC covers bytes 0..1195
inline constexpr size_t kSignatureBlockImageDigestOffset = 4;
inline constexpr size_t kKeyDigestSize = 32;  // SHA-256, for every scheme (P-384 too)
inline constexpr size_t kMaxImageDigestSize = 48;
static_assert(kSignatureBlockCount * kSignatureBlockSize <= kSignatureSectorSize);

// RSA-3072 block fields.
inline constexpr size_t kRsaKeySize = 384;
inline constexpr size_t kRsaModulusOffset = 36;
inline constexpr size_t kRsaExponentOffset = 420;
inline constexpr size_t kRsaRinvOffset = 424;
inline constexpr size_t kRsaMdashOffset = 808;
inline constexpr size_t kRsaSignatureOffset = 812;
inline constexpr size_t kRsaKeyFieldsSize = kRsaSignatureOffset - kRsaModulusOffset;  // 776
static_assert(kRsaSignatureOffset + kRsaKeySize == kSignatureBlockCrcOffset);

// ECDSA block fields: P-192 and P-256 share one layout (a 64-byte point and signature area),
// P-384 has its own (after a 48-byte digest).
inline constexpr size_t kEcdsa256CurveOffset = 36;
inline constexpr size_t kEcdsa384CurveOffset = 52;
inline constexpr size_t kEcdsa256AreaSize = 64;  // point (X, Y) and signature (r, s) areas
inline constexpr size_t kEcdsa384AreaSize = 96;
inline constexpr uint8_t kEcdsaShaVersion256 = 0;
inline constexpr uint8_t kEcdsaShaVersion384 = 1;
inline constexpr uint8_t kCurveIdP192 = 1;
inline constexpr uint8_t kCurveIdP256 = 2;
inline constexpr uint8_t kCurveIdP384 = 3;

enum class SignatureScheme : uint8_t {
  kRsa3072,    // RSA-3072, RSA-PSS (SHA-256, MGF1-SHA-256, salt 32)
  kEcdsaP192,  // legacy: parsed and verified, never generated (spec §8)
  kEcdsaP256,
  kEcdsaP384,  // over SHA-384 of the signed data
};

// "rsa-3072", "ecdsa-p192", "ecdsa-p256", "ecdsa-p384" (the names `aloft key gen` takes).
const char* SchemeName(SignatureScheme scheme);
// SHA-384 for P-384, SHA-256 for every other scheme.
port::HashAlgorithm SchemeDigestAlgorithm(SignatureScheme scheme);
// The curve of an ECDSA scheme (kP256 for RSA, which has none).
port::EcdsaCurve SchemeCurve(SignatureScheme scheme);
// 32 or 48.
size_t SchemeDigestSize(SignatureScheme scheme);
// Bytes of the key fields the key digest covers: 776 (RSA), 65 (P-192, P-256), 97 (P-384).
size_t SchemeKeyFieldsSize(SignatureScheme scheme);
// Bytes of the signature: 384 (RSA), 2 x 24, 2 x 32, 2 x 48 (r then s).
size_t SchemeSignatureSize(SignatureScheme scheme);

// A decoded block: views into the caller's 1216 bytes, which must outlive it.
struct SignatureBlock {
  uint8_t magic = 0;
  uint8_t version = 0;
  // Why the block is not valid, or OK. A device skips invalid blocks (spec §12 step 3):
  // "signature block: magic is not 0xE7", "signature block: crc mismatch",
  // "signature block: unknown version", "signature block: unknown ecdsa curve or sha version".
  Status validity = OkStatus();
  // Known only when magic, version and curve are recognised (even if the CRC is wrong).
  std::optional<SignatureScheme> scheme;
  uint32_t crc_stored = 0;
  uint32_t crc_computed = 0;

  // The fields below are set only when `scheme` is known.
  ConstByteSpan image_digest;  // 32 or 48 bytes: what the signer hashed
  ConstByteSpan key_fields;    // what the key digest covers (see SchemeKeyFieldsSize)
  ConstByteSpan signature;     // SchemeSignatureSize bytes, little-endian (r then s for ECDSA)
  // RSA: n and rinv little-endian (384 bytes each), e, mdash. Empty/zero for ECDSA.
  ConstByteSpan rsa_modulus_le;
  uint32_t rsa_exponent = 0;
  ConstByteSpan rsa_rinv_le;
  uint32_t rsa_mdash = 0;
  // ECDSA: X and Y little-endian, CurveFieldSize bytes each. Empty for RSA.
  ConstByteSpan ecdsa_x_le;
  ConstByteSpan ecdsa_y_le;

  bool crc_ok() const { return crc_stored == crc_computed; }
  bool valid() const { return validity.ok(); }
};

// Decodes one block. Never fails on content: an invalid block is returned with `validity`
// saying why. kDataLoss "signature block: truncated" if `block` is shorter than 1216 bytes
// (bytes past 1216 are ignored).
Result<SignatureBlock> ParseSignatureBlock(ConstByteSpan block);

// SHA-256 of the block's key fields: the digest a device keeps in eFuse and espsecure
// digest-sbv2-public-key writes. kFailedPrecondition if the block's scheme is unknown; hash
// errors from the port.
Result<std::array<std::byte, kKeyDigestSize>> SignatureKeyDigest(port::Crypto& crypto,
                                                                 const SignatureBlock& block);

// What the serializer needs; every span is the exact size for `scheme`.
struct SignatureBlockFields {
  SignatureScheme scheme = SignatureScheme::kRsa3072;
  ConstByteSpan image_digest;  // SchemeDigestSize bytes
  ConstByteSpan key_fields;    // SchemeKeyFieldsSize bytes, e.g. from host::ReleaseKey
  ConstByteSpan signature;     // SchemeSignatureSize bytes, little-endian
};

// Writes a block exactly as espsecure does (zero fill, CRC, 16 zero tail bytes) into the first
// 1216 bytes of `out`. kInvalidArgument naming the field if a span has the wrong size or `out`
// is too small.
Status SerializeSignatureBlock(const SignatureBlockFields& fields, ByteSpan out);

}  // namespace aloft::core
