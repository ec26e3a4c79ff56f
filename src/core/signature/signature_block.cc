#include "core/signature/signature_block.h"

#include <algorithm>

#include "core/crc32.h"
#include "core/hash.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// Where each scheme keeps its fields; derived from the tables in the header.
struct Layout {
  size_t digest_size;
  size_t key_fields_offset;
  size_t key_fields_size;
  size_t signature_offset;
  size_t signature_size;  // meaningful bytes; the rest of an ECDSA area stays zero
};

Layout LayoutFor(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kRsa3072:
      return {32, kRsaModulusOffset, kRsaKeyFieldsSize, kRsaSignatureOffset, kRsaKeySize};
    case SignatureScheme::kEcdsaP192:
      return {32, kEcdsa256CurveOffset, 1 + kEcdsa256AreaSize,
              kEcdsa256CurveOffset + 1 + kEcdsa256AreaSize, 2 * 24};
    case SignatureScheme::kEcdsaP256:
      return {32, kEcdsa256CurveOffset, 1 + kEcdsa256AreaSize,
              kEcdsa256CurveOffset + 1 + kEcdsa256AreaSize, 2 * 32};
    case SignatureScheme::kEcdsaP384:
      return {48, kEcdsa384CurveOffset, 1 + kEcdsa384AreaSize,
              kEcdsa384CurveOffset + 1 + kEcdsa384AreaSize, 2 * 48};
  }
  return {};
}

uint8_t CurveIdOf(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kEcdsaP192:
      return kCurveIdP192;
    case SignatureScheme::kEcdsaP256:
      return kCurveIdP256;
    case SignatureScheme::kEcdsaP384:
      return kCurveIdP384;
    case SignatureScheme::kRsa3072:
      return 0;
  }
  return 0;
}

// The scheme named by the version byte, the SHA version byte and the curve id; nullopt for a
// combination no ROM accepts.
std::optional<SignatureScheme> SchemeOf(ConstByteSpan block) {
  const uint8_t version = LoadU8(block, 1);
  if (version == kSignatureBlockVersionRsa) {
    return SignatureScheme::kRsa3072;
  }
  if (version != kSignatureBlockVersionEcdsa) {
    return std::nullopt;
  }
  const uint8_t sha_version = LoadU8(block, 2);
  if (sha_version == kEcdsaShaVersion256) {
    const uint8_t curve = LoadU8(block, kEcdsa256CurveOffset);
    if (curve == kCurveIdP192) {
      return SignatureScheme::kEcdsaP192;
    }
    if (curve == kCurveIdP256) {
      return SignatureScheme::kEcdsaP256;
    }
    return std::nullopt;
  }
  if (sha_version == kEcdsaShaVersion384 && LoadU8(block, kEcdsa384CurveOffset) == kCurveIdP384) {
    return SignatureScheme::kEcdsaP384;
  }
  return std::nullopt;
}

}  // namespace

const char* SchemeName(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kRsa3072:
      return "rsa-3072";
    case SignatureScheme::kEcdsaP192:
      return "ecdsa-p192";
    case SignatureScheme::kEcdsaP256:
      return "ecdsa-p256";
    case SignatureScheme::kEcdsaP384:
      return "ecdsa-p384";
  }
  return "unknown";
}

port::HashAlgorithm SchemeDigestAlgorithm(SignatureScheme scheme) {
  return scheme == SignatureScheme::kEcdsaP384 ? port::HashAlgorithm::kSha384
                                               : port::HashAlgorithm::kSha256;
}

port::EcdsaCurve SchemeCurve(SignatureScheme scheme) {
  switch (scheme) {
    case SignatureScheme::kEcdsaP192:
      return port::EcdsaCurve::kP192;
    case SignatureScheme::kEcdsaP384:
      return port::EcdsaCurve::kP384;
    case SignatureScheme::kRsa3072:
    case SignatureScheme::kEcdsaP256:
      return port::EcdsaCurve::kP256;
  }
  return port::EcdsaCurve::kP256;
}

size_t SchemeDigestSize(SignatureScheme scheme) { return LayoutFor(scheme).digest_size; }
size_t SchemeKeyFieldsSize(SignatureScheme scheme) { return LayoutFor(scheme).key_fields_size; }
size_t SchemeSignatureSize(SignatureScheme scheme) { return LayoutFor(scheme).signature_size; }

Result<SignatureBlock> ParseSignatureBlock(ConstByteSpan block) {
  if (block.size() < kSignatureBlockSize) {
    return DataLoss("signature block: truncated", static_cast<uint32_t>(block.size()));
  }
  block = block.first(kSignatureBlockSize);
  SignatureBlock out;
  out.magic = LoadU8(block, 0);
  out.version = LoadU8(block, 1);
  out.crc_stored = LoadLe32(block, kSignatureBlockCrcOffset);
  out.crc_computed = EspRomCrc32Le(0, block.first(kSignatureBlockCrcOffset));
  if (out.magic != kSignatureBlockMagic) {
    // Erased flash (0xFF) lands here: an absent block, not a damaged one.
    out.validity = InvalidArgument("signature block: magic is not 0xE7");
    return out;
  }
  out.scheme = SchemeOf(block);
  if (!out.crc_ok()) {
    out.validity = DataLoss("signature block: crc mismatch");
  } else if (!out.scheme.has_value()) {
    const bool known_version =
        out.version == kSignatureBlockVersionRsa || out.version == kSignatureBlockVersionEcdsa;
    out.validity = known_version
                       ? InvalidArgument("signature block: unknown ecdsa curve or sha version")
                       : InvalidArgument("signature block: unknown version");
  }
  if (!out.scheme.has_value()) {
    return out;
  }
  const Layout layout = LayoutFor(*out.scheme);
  out.image_digest = block.subspan(kSignatureBlockImageDigestOffset, layout.digest_size);
  out.key_fields = block.subspan(layout.key_fields_offset, layout.key_fields_size);
  out.signature = block.subspan(layout.signature_offset, layout.signature_size);
  if (*out.scheme == SignatureScheme::kRsa3072) {
    out.rsa_modulus_le = block.subspan(kRsaModulusOffset, kRsaKeySize);
    out.rsa_exponent = LoadLe32(block, kRsaExponentOffset);
    out.rsa_rinv_le = block.subspan(kRsaRinvOffset, kRsaKeySize);
    out.rsa_mdash = LoadLe32(block, kRsaMdashOffset);
  } else {
    const size_t field = port::CurveFieldSize(SchemeCurve(*out.scheme));
    out.ecdsa_x_le = block.subspan(layout.key_fields_offset + 1, field);
    out.ecdsa_y_le = block.subspan(layout.key_fields_offset + 1 + field, field);
  }
  return out;
}

Result<std::array<std::byte, kKeyDigestSize>> SignatureKeyDigest(port::Crypto& crypto,
                                                                 const SignatureBlock& block) {
  if (!block.scheme.has_value() || block.key_fields.empty()) {
    return FailedPrecondition("signature block: key digest of a block with an unknown scheme");
  }
  std::array<std::byte, kKeyDigestSize> digest{};
  Hash hash(crypto, port::HashAlgorithm::kSha256);
  ALOFT_TRY(hash.Begin());
  ALOFT_TRY(hash.Update(block.key_fields));
  ALOFT_TRY(hash.Finish(digest));
  return digest;
}

Status SerializeSignatureBlock(const SignatureBlockFields& fields, ByteSpan out) {
  if (out.size() < kSignatureBlockSize) {
    return InvalidArgument("signature block: output buffer too small",
                           static_cast<uint32_t>(out.size()));
  }
  const Layout layout = LayoutFor(fields.scheme);
  if (fields.image_digest.size() != layout.digest_size) {
    return InvalidArgument("signature block: image digest has the wrong size",
                           static_cast<uint32_t>(fields.image_digest.size()));
  }
  if (fields.key_fields.size() != layout.key_fields_size) {
    return InvalidArgument("signature block: key fields have the wrong size",
                           static_cast<uint32_t>(fields.key_fields.size()));
  }
  if (fields.signature.size() != layout.signature_size) {
    return InvalidArgument("signature block: signature has the wrong size",
                           static_cast<uint32_t>(fields.signature.size()));
  }
  if (fields.scheme != SignatureScheme::kRsa3072 &&
      LoadU8(fields.key_fields, 0) != CurveIdOf(fields.scheme)) {
    return InvalidArgument("signature block: key fields name another curve");
  }
  ByteSpan block = out.first(kSignatureBlockSize);
  // espsecure packs with zero padding ("xx", "1031x", "951x" and the 16-byte tail).
  std::fill(block.begin(), block.end(), std::byte{0});
  StoreU8(block, 0, kSignatureBlockMagic);
  const bool rsa = fields.scheme == SignatureScheme::kRsa3072;
  StoreU8(block, 1, rsa ? kSignatureBlockVersionRsa : kSignatureBlockVersionEcdsa);
  if (fields.scheme == SignatureScheme::kEcdsaP384) {
    StoreU8(block, 2, kEcdsaShaVersion384);
  }
  std::copy(fields.image_digest.begin(), fields.image_digest.end(),
            block.begin() + kSignatureBlockImageDigestOffset);
  std::copy(fields.key_fields.begin(), fields.key_fields.end(),
            block.begin() + static_cast<std::ptrdiff_t>(layout.key_fields_offset));
  std::copy(fields.signature.begin(), fields.signature.end(),
            block.begin() + static_cast<std::ptrdiff_t>(layout.signature_offset));
  StoreLe32(block, kSignatureBlockCrcOffset,
            EspRomCrc32Le(0, ConstByteSpan(block).first(kSignatureBlockCrcOffset)));
  return OkStatus();
}

}  // namespace aloft::core
