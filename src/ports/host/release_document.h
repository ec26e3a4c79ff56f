#pragma once
// RELEASE.json: the file `aloft release make` writes and the server stores and serves. It
// carries the signed canonical manifest (base64), its signature blocks (base64) and, for people
// and scripts, the same fields as plain JSON. The canonical bytes are authoritative: a reader
// checks that every plain field equals the signed one and refuses the file otherwise, so the
// plain fields can be shown without being trusted. Format: docs/manifest.md. Host only
// (Boost.JSON, heap).

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/release/manifest.h"
#include "core/result.h"
#include "core/signature/signature_verifier.h"
#include "ports/host/release_key.h"

namespace aloft::host {

inline constexpr std::string_view kReleaseFormat = "aloft-release-v1";

struct ReleaseDocument {
  core::ReleaseManifest manifest;
  std::vector<std::byte> canonical;  // the signed bytes
  std::vector<std::byte> signature;  // 1..3 signature blocks of 1216 bytes
};

// Serializes `manifest` canonically, signs it with each key (one block per key, in order; at
// most 3) and returns the RELEASE.json text (two-space indented, final newline).
// Errors: SerializeManifest's; kInvalidArgument "release: no signing key" / "release: up to 3
// signing keys"; the keys' signing errors.
Result<std::string> MakeReleaseJson(const core::ReleaseManifest& manifest,
                                    std::span<const ReleaseKey* const> keys);

// Reads RELEASE.json without checking the signature: decodes and parses the canonical manifest
// and checks each plain field against it. kInvalidArgument "release: not JSON", "release: not
// a JSON object", "release: format is not aloft-release-v1", "release: unknown field",
// "release: field <name> is missing or has the wrong type", "release: manifest is not base64",
// "release: signature is not base64", "release: signature is not 1 to 3 blocks",
// "release: field <name> does not match the signed manifest"; ParseManifest's errors.
Result<ReleaseDocument> ParseReleaseJson(std::string_view json);

// ParseReleaseJson, then the device check: the signature blocks over the canonical bytes under
// `policy` (core::VerifyManifest). Errors of either.
Result<ReleaseDocument> VerifyReleaseJson(port::Crypto& crypto, std::string_view json,
                                          const core::TrustPolicy& policy);

// Standard base64 (RFC 4648, padded). Decoding is strict: only canonical encodings are accepted.
std::string Base64Encode(ConstByteSpan bytes);
Result<std::vector<std::byte>> Base64Decode(std::string_view text);

}  // namespace aloft::host
