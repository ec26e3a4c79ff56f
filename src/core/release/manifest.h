#pragma once
// Release manifest: what a release claims (project, chip, version, secure_version, size and
// SHA-256 of the signed image, optional minimum running version), in canonical bytes that are
// signed with Secure Boot v2 signature blocks by the same release keys as the image, so a device
// trusts manifests and images through the same eFuse key digests. The canonical form is a
// bijection (one byte string per manifest and back); it is specified byte by byte in
// docs/manifest.md:
//
//   aloft-release-manifest-v1\n
//   project=<1..32 bytes 0x21..0x7E>\n
//   chip=<ChipName(chip_id)>\n
//   chip_id=<decimal, no leading zero, 0..65535>\n
//   version=<1..32 bytes 0x21..0x7E>\n
//   secure_version=<decimal u32>\n
//   size=<decimal u32, a multiple of 4096, at least 8192>\n
//   sha256=<64 lower-case hex digits>\n
//   min_running_version=<empty, or a semantic version of at most 32 bytes>\n
//
// Nothing else: no whitespace, no '\r', every key exactly once and in this order, nothing after
// the last '\n'. The signature over it is 1..3 signature blocks (docs/formats/signature-block.md)
// whose image digest is SHA-256 (SHA-384 for P-384 keys) of the canonical bytes. No heap.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "core/signature/signature_verifier.h"
#include "core/status.h"

namespace aloft::core {

inline constexpr std::string_view kManifestHeader = "aloft-release-manifest-v1\n";
inline constexpr size_t kManifestTextMax = 32;  // project, version: esp_app_desc_t's widths

// Text of at most N bytes, stored inline.
template <size_t N>
class BoundedText {
 public:
  static_assert(N <= 255);
  // False (and unchanged) if `text` is longer than N.
  bool Assign(std::string_view text) {
    if (text.size() > N) {
      return false;
    }
    for (size_t i = 0; i < text.size(); ++i) {
      chars_[i] = text[i];
    }
    size_ = static_cast<uint8_t>(text.size());
    return true;
  }
  std::string_view view() const { return {chars_.data(), size_}; }
  bool empty() const { return size_ == 0; }
  friend bool operator==(const BoundedText& a, const BoundedText& b) {
    return a.view() == b.view();
  }

 private:
  std::array<char, N> chars_{};
  uint8_t size_ = 0;
};

struct ReleaseManifest {
  BoundedText<kManifestTextMax> project;
  uint16_t chip_id = 0;  // the canonical bytes also carry ChipName(chip_id)
  BoundedText<kManifestTextMax> version;
  uint32_t secure_version = 0;
  uint32_t size_bytes = 0;             // of the signed image (image, padding, signature sector)
  std::array<std::byte, 32> sha256{};  // of those size_bytes bytes
  BoundedText<kManifestTextMax> min_running_version;  // empty: no minimum

  friend bool operator==(const ReleaseManifest&, const ReleaseManifest&) = default;
};

// The longest canonical manifest (every field at its maximum).
inline constexpr size_t kMaxManifestSize = kManifestHeader.size() + (8 + kManifestTextMax + 1) +
                                           (5 + 8 + 1) + (8 + 5 + 1) + (8 + kManifestTextMax + 1) +
                                           (15 + 10 + 1) + (5 + 10 + 1) + (7 + 64 + 1) +
                                           (20 + kManifestTextMax + 1);
static_assert(kMaxManifestSize == 303);

// Parses canonical bytes, strictly. kInvalidArgument naming the field, with the byte offset as
// context: "manifest: missing header line", "manifest: expected field project", ...,
// "manifest: project is not 1..32 printable ASCII bytes", "manifest: chip does not match
// chip_id", "manifest: number is not canonical decimal", "manifest: number too large",
// "manifest: size is not a signed image size", "manifest: sha256 is not 64 lower-case hex
// digits", "manifest: min_running_version is not a semantic version", "manifest: trailing bytes
// after the last field"; kOutOfRange "manifest: too long" over kMaxManifestSize.
Result<ReleaseManifest> ParseManifest(ConstByteSpan canonical);

// Writes the canonical bytes of `manifest` to `out`; returns their length. Checks every field
// as ParseManifest does (so Parse(Serialize(m)) == m), naming the field; kOutOfRange
// "manifest: output buffer too small".
Result<size_t> SerializeManifest(const ReleaseManifest& manifest, ByteSpan out);

// Device side: verifies `signature_blocks` (1..3 blocks of 1216 bytes) over `canonical` under
// `policy` (the device's trusted key digests and scheme; see VerifySignatureBlocks), then
// parses. The signature is checked before a single field is believed. Errors: the signature
// verdict's status, then ParseManifest's.
Result<ReleaseManifest> VerifyManifest(port::Crypto& crypto, ConstByteSpan canonical,
                                       ConstByteSpan signature_blocks, const TrustPolicy& policy);

}  // namespace aloft::core
