#pragma once
// Secure Boot v2 verification with device semantics (../shared/spec/esp-app-image.md §12): a
// signature block counts only if it is valid (magic, CRC, the device's scheme), its own embedded
// key's SHA-256 is one of the device's trusted, non-revoked key digests, its image digest field
// equals the digest the device computed, and its signature verifies under that embedded key.
// Accept iff any block does. Fails closed: every path that does not reach a verified block
// returns an error. Deliberately unlike `espsecure verify-signature`, which ignores the key
// inside the block and so accepts a block whose key fields were altered.
//
// Two entry points: VerifySignedImage over a whole image in memory, and VerifySignatureBlocks
// for the streaming installer, which hashes the signed region as it arrives and then hands over
// the digest(s) and the 4096-byte sector. The same call verifies release manifests (whose
// "sector" is 1 to 3 bare blocks). No heap; stateless; the Crypto port does the math.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "core/signature/signature_block.h"
#include "core/status.h"

namespace aloft::core {

// A device has at most three key-digest slots (eFuse KEY_PURPOSE SECURE_BOOT_DIGEST0..2).
inline constexpr size_t kMaxTrustedKeys = 3;

struct TrustedKey {
  std::array<std::byte, kKeyDigestSize> digest{};
  bool revoked = false;  // KEY_REVOKEn burnt: never trusted again
};

struct TrustPolicy {
  // At most kMaxTrustedKeys. A digest listed both revoked and not revoked counts as revoked.
  std::span<const TrustedKey> keys;
  // The device's scheme; blocks of any other scheme are skipped as a chip would. nullopt means
  // "any scheme" (host tools, where the given keys decide): each block is then checked against
  // the digest of its own scheme, which must be among the digests supplied.
  std::optional<SignatureScheme> scheme;
  // ESP32 ECO3 (one eFuse digest): ESP-IDF checks signature block 0 only.
  bool only_block_zero = false;
};

// Digests of the signed region [0, SignedRegionSize(image_len)). A device computes the one its
// scheme needs; host tools may compute both.
struct SignedRegionDigests {
  std::optional<std::array<std::byte, 32>> sha256;
  std::optional<std::array<std::byte, 48>> sha384;
};

// What happened to one block, in the order the checks run.
enum class BlockOutcome : uint8_t {
  kInvalid,            // magic, CRC, version or curve not valid (SignatureBlock::validity says)
  kNotChecked,         // a block after block 0 on an only-block-0 device
  kOtherScheme,        // valid, but not the device's scheme
  kUntrustedKey,       // its key digest is not among the trusted digests
  kRevokedKey,         // its key digest is trusted but revoked
  kDigestNotComputed,  // "any scheme" mode without the digest this block's scheme needs
  kDigestMismatch,     // its image digest field differs from the computed digest
  kBadSignature,       // the signature does not verify under its embedded key
  kVerified,
};

const char* BlockOutcomeName(BlockOutcome outcome);  // "invalid", "untrusted_key", ...

struct BlockVerdict {
  BlockOutcome outcome = BlockOutcome::kInvalid;
  Status validity = OkStatus();  // SignatureBlock::validity
  std::optional<SignatureScheme> scheme;
  uint32_t crc_stored = 0;
  uint32_t crc_computed = 0;
  // Set whenever the scheme is known (even for an invalid CRC, for display).
  std::optional<std::array<std::byte, kKeyDigestSize>> key_digest;
  bool trusted = false;  // key digest among the trusted ones and not revoked
  bool crc_ok() const { return crc_stored == crc_computed; }
  bool verified() const { return outcome == BlockOutcome::kVerified; }
};

struct SignatureVerdict {
  // OK iff some block verified. Otherwise the failure of the block that got furthest:
  //   kUnauthenticated "signature: no valid signature block" (none valid for this device),
  //   kUnauthenticated "signature: no block signed by a trusted key",
  //   kPermissionDenied "signature: signing key is revoked" (the furthest block's key is
  //     trusted but revoked: authentic, refused),
  //   kUnauthenticated "signature: image digest mismatch",
  //   kUnauthenticated "signature: signature does not verify";
  // kDataLoss "signature: signature sector truncated" (context: bytes available);
  // kInvalidArgument "signature: more than 3 trusted keys" / "signature: no digest of the
  // signed region"; port errors (hashing) as they come.
  Status status = Unauthenticated("signature: no valid signature block");
  std::array<BlockVerdict, kSignatureBlockCount> blocks{};
  size_t block_count = 0;  // how many entries of `blocks` were examined (1..3)
  std::optional<uint8_t> accepted_block;
  bool ok() const { return status.ok(); }
};

// align_up(image_len, 4096): where the signature sector starts (spec §9, §12).
// kInvalidArgument "signature: image length is zero"; kOutOfRange "signature: image length
// overflows" if the region and its sector do not fit in 32 bits.
Result<uint32_t> SignedRegionSize(uint32_t image_len);

// Verifies `blocks` — a whole 4096-byte sector, or 1..3 bare blocks (k x 1216 bytes) as
// release manifests carry them — against `digests` under `policy`. Any other size is
// kDataLoss "signature: signature sector truncated". Examines every block (at most three
// signature checks) so the verdict can report each one.
SignatureVerdict VerifySignatureBlocks(port::Crypto& crypto, const SignedRegionDigests& digests,
                                       ConstByteSpan blocks, const TrustPolicy& policy);

// Whole-image form: hashes [0, SignedRegionSize(image_len)) of `image` (SHA-256 and/or SHA-384
// as the policy needs) and verifies the 4096 bytes that follow. kDataLoss "signature: image
// shorter than its signed region", or "signature: signature sector truncated" (context: the
// sector bytes present) if `image` ends before the sector does; bytes after the sector are
// ignored (a partition read holds more). `image_len` comes from the app-image parser.
SignatureVerdict VerifySignedImage(port::Crypto& crypto, ConstByteSpan image, uint32_t image_len,
                                   const TrustPolicy& policy);

// Hashes `data` with what `policy` needs: its scheme's algorithm, or both SHA-256 and SHA-384
// when the scheme is "any".
Result<SignedRegionDigests> DigestForPolicy(port::Crypto& crypto, ConstByteSpan data,
                                            const TrustPolicy& policy);

}  // namespace aloft::core
