#include "core/signature/signature_verifier.h"

#include <algorithm>

#include "core/hash.h"
#include "core/try.h"

namespace aloft::core {
namespace {

// Big-endian copy of a little-endian field (the ROM's bignums are little-endian, the port's
// are big-endian).
void ReverseInto(ConstByteSpan le, ByteSpan be) {
  std::reverse_copy(le.begin(), le.end(), be.begin());
}

bool SameBytes(ConstByteSpan a, ConstByteSpan b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

// The digest of the signed region this block's scheme needs, or an empty span.
ConstByteSpan DigestFor(const SignedRegionDigests& digests, SignatureScheme scheme) {
  if (SchemeDigestAlgorithm(scheme) == port::HashAlgorithm::kSha384) {
    return digests.sha384.has_value() ? ConstByteSpan(*digests.sha384) : ConstByteSpan();
  }
  return digests.sha256.has_value() ? ConstByteSpan(*digests.sha256) : ConstByteSpan();
}

// Runs the signature math with the block's embedded key. kUnauthenticated or kInvalidArgument
// (a malformed key) mean "does not verify"; anything else is a port failure.
Status VerifyBlockSignature(port::Crypto& crypto, const SignatureBlock& block,
                            ConstByteSpan digest) {
  if (*block.scheme == SignatureScheme::kRsa3072) {
    std::array<std::byte, kRsaKeySize> modulus;
    std::array<std::byte, kRsaKeySize> signature;
    ReverseInto(block.rsa_modulus_le, modulus);
    ReverseInto(block.signature, signature);
    return crypto.VerifyRsaPss(modulus, block.rsa_exponent, digest, signature);
  }
  const port::EcdsaCurve curve = SchemeCurve(*block.scheme);
  const size_t field = port::CurveFieldSize(curve);
  std::array<std::byte, 2 * 48> point;
  std::array<std::byte, 2 * 48> signature;
  ReverseInto(block.ecdsa_x_le, ByteSpan(point).first(field));
  ReverseInto(block.ecdsa_y_le, ByteSpan(point).subspan(field, field));
  ReverseInto(block.signature.first(field), ByteSpan(signature).first(field));
  ReverseInto(block.signature.subspan(field, field), ByteSpan(signature).subspan(field, field));
  return crypto.VerifyEcdsa(curve, ConstByteSpan(point).first(2 * field), digest,
                            ConstByteSpan(signature).first(2 * field));
}

// The verdict's status when no block verified, from the furthest outcome reached.
Status FailureFor(BlockOutcome furthest) {
  switch (furthest) {
    case BlockOutcome::kInvalid:
    case BlockOutcome::kNotChecked:
    case BlockOutcome::kOtherScheme:
      return Unauthenticated("signature: no valid signature block");
    case BlockOutcome::kUntrustedKey:
      return Unauthenticated("signature: no block signed by a trusted key");
    case BlockOutcome::kRevokedKey:
      return PermissionDenied("signature: signing key is revoked");
    case BlockOutcome::kDigestNotComputed:
      return InvalidArgument("signature: no digest of the signed region");
    case BlockOutcome::kDigestMismatch:
      return Unauthenticated("signature: image digest mismatch");
    case BlockOutcome::kBadSignature:
      return Unauthenticated("signature: signature does not verify");
    case BlockOutcome::kVerified:
      return OkStatus();
  }
  return Internal("signature: unknown block outcome");
}

}  // namespace

const char* BlockOutcomeName(BlockOutcome outcome) {
  switch (outcome) {
    case BlockOutcome::kInvalid:
      return "invalid";
    case BlockOutcome::kNotChecked:
      return "not_checked";
    case BlockOutcome::kOtherScheme:
      return "other_scheme";
    case BlockOutcome::kUntrustedKey:
      return "untrusted_key";
    case BlockOutcome::kRevokedKey:
      return "revoked_key";
    case BlockOutcome::kDigestNotComputed:
      return "digest_not_computed";
    case BlockOutcome::kDigestMismatch:
      return "digest_mismatch";
    case BlockOutcome::kBadSignature:
      return "bad_signature";
    case BlockOutcome::kVerified:
      return "verified";
  }
  return "unknown";
}

Result<uint32_t> SignedRegionSize(uint32_t image_len) {
  if (image_len == 0) {
    return InvalidArgument("signature: image length is zero");
  }
  // SignatureSectorOffset rounds up in 32 bits; the region plus its sector must not wrap.
  if (static_cast<uint64_t>(image_len) + 2 * kSignatureSectorSize - 1 > UINT32_MAX) {
    return OutOfRange("signature: image length overflows", image_len);
  }
  return SignatureSectorOffset(image_len);
}

SignatureVerdict VerifySignatureBlocks(port::Crypto& crypto, const SignedRegionDigests& digests,
                                       ConstByteSpan blocks, const TrustPolicy& policy) {
  SignatureVerdict verdict;
  if (policy.keys.size() > kMaxTrustedKeys) {
    verdict.status = InvalidArgument("signature: more than 3 trusted keys",
                                     static_cast<uint32_t>(policy.keys.size()));
    return verdict;
  }
  const size_t size = blocks.size();
  if (size == kSignatureSectorSize) {
    verdict.block_count = kSignatureBlockCount;
  } else if (size != 0 && size % kSignatureBlockSize == 0 &&
             size / kSignatureBlockSize <= kSignatureBlockCount) {
    verdict.block_count = size / kSignatureBlockSize;
  } else {
    verdict.status = DataLoss("signature: signature sector truncated", static_cast<uint32_t>(size));
    return verdict;
  }

  BlockOutcome furthest = BlockOutcome::kInvalid;
  Status port_failure = OkStatus();
  for (size_t i = 0; i < verdict.block_count; ++i) {
    BlockVerdict& out = verdict.blocks[i];
    // Length was checked above, so parsing cannot fail.
    const SignatureBlock block =
        ParseSignatureBlock(blocks.subspan(i * kSignatureBlockSize, kSignatureBlockSize)).value();
    out.validity = block.validity;
    out.scheme = block.scheme;
    out.crc_stored = block.crc_stored;
    out.crc_computed = block.crc_computed;
    if (block.scheme.has_value()) {
      Result<std::array<std::byte, kKeyDigestSize>> key_digest = SignatureKeyDigest(crypto, block);
      if (!key_digest.ok()) {
        port_failure = key_digest.status();
        out.outcome = BlockOutcome::kInvalid;
        continue;
      }
      out.key_digest = *key_digest;
    }
    out.outcome = [&]() {
      if (!block.valid()) {
        return BlockOutcome::kInvalid;
      }
      if (policy.only_block_zero && i != 0) {
        return BlockOutcome::kNotChecked;
      }
      if (policy.scheme.has_value() && *policy.scheme != *block.scheme) {
        return BlockOutcome::kOtherScheme;
      }
      bool listed = false;
      bool revoked = false;
      for (const TrustedKey& key : policy.keys) {
        if (SameBytes(key.digest, *out.key_digest)) {
          listed = true;
          revoked = revoked || key.revoked;
        }
      }
      if (!listed) {
        return BlockOutcome::kUntrustedKey;
      }
      if (revoked) {
        return BlockOutcome::kRevokedKey;
      }
      out.trusted = true;
      const ConstByteSpan digest = DigestFor(digests, *block.scheme);
      if (digest.empty()) {
        return BlockOutcome::kDigestNotComputed;
      }
      // ROM and espsecure compare the stored digest first; ESP-IDF's app-side check verifies
      // against the computed digest, which is equivalent for any genuine block (spec §12.5).
      if (!SameBytes(block.image_digest, digest)) {
        return BlockOutcome::kDigestMismatch;
      }
      const Status math = VerifyBlockSignature(crypto, block, digest);
      if (math.ok()) {
        return BlockOutcome::kVerified;
      }
      if (math.code() != Status::Code::kUnauthenticated &&
          math.code() != Status::Code::kInvalidArgument) {
        port_failure = math;
      }
      return BlockOutcome::kBadSignature;
    }();
    furthest = std::max(furthest, out.outcome);
    if (out.outcome == BlockOutcome::kVerified && !verdict.accepted_block.has_value()) {
      verdict.accepted_block = static_cast<uint8_t>(i);
    }
  }
  if (verdict.accepted_block.has_value()) {
    verdict.status = OkStatus();
  } else if (!port_failure.ok()) {
    verdict.status = port_failure;
  } else {
    verdict.status = FailureFor(furthest);
  }
  return verdict;
}

Result<SignedRegionDigests> DigestForPolicy(port::Crypto& crypto, ConstByteSpan data,
                                            const TrustPolicy& policy) {
  SignedRegionDigests digests;
  const bool any = !policy.scheme.has_value();
  if (any || SchemeDigestAlgorithm(*policy.scheme) == port::HashAlgorithm::kSha256) {
    std::array<std::byte, 32> digest{};
    Hash hash(crypto, port::HashAlgorithm::kSha256);
    ALOFT_TRY(hash.Begin());
    ALOFT_TRY(hash.Update(data));
    ALOFT_TRY(hash.Finish(digest));
    digests.sha256 = digest;
  }
  if (any || SchemeDigestAlgorithm(*policy.scheme) == port::HashAlgorithm::kSha384) {
    std::array<std::byte, 48> digest{};
    Hash hash(crypto, port::HashAlgorithm::kSha384);
    ALOFT_TRY(hash.Begin());
    ALOFT_TRY(hash.Update(data));
    ALOFT_TRY(hash.Finish(digest));
    digests.sha384 = digest;
  }
  return digests;
}

SignatureVerdict VerifySignedImage(port::Crypto& crypto, ConstByteSpan image, uint32_t image_len,
                                   const TrustPolicy& policy) {
  SignatureVerdict verdict;
  Result<uint32_t> region = SignedRegionSize(image_len);
  if (!region.ok()) {
    verdict.status = region.status();
    return verdict;
  }
  if (image.size() < static_cast<size_t>(*region)) {
    verdict.status = DataLoss("signature: image shorter than its signed region",
                              static_cast<uint32_t>(image.size()));
    return verdict;
  }
  if (image.size() - *region < kSignatureSectorSize) {
    verdict.status = DataLoss("signature: signature sector truncated",
                              static_cast<uint32_t>(image.size() - *region));
    return verdict;
  }
  Result<SignedRegionDigests> digests = DigestForPolicy(crypto, image.first(*region), policy);
  if (!digests.ok()) {
    verdict.status = digests.status();
    return verdict;
  }
  return VerifySignatureBlocks(crypto, *digests, image.subspan(*region, kSignatureSectorSize),
                               policy);
}

}  // namespace aloft::core
