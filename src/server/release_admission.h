#pragma once
// The decision to accept a release for publication: a RELEASE.json (docs/manifest.md) and the
// artifact it names are admitted only if the manifest is signed by a registered, non-revoked
// release key of its project, the artifact is exactly the bytes the manifest names (size and
// SHA-256), the image's own header says what the manifest says (chip, project, version,
// secure_version), and the image's Secure Boot v2 signature verifies under the same key. So
// the server can never be made to offer an unsigned or mismatched image: it checks, before
// storing, everything a device will check after downloading. Pure (no I/O): the handler reads
// the keys and the artifact and passes them in. Thread-safe.

#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/port/crypto.h"
#include "core/result.h"
#include "ports/host/release_document.h"
#include "server/store/records.h"

namespace aloft::server {

// The registered key that signed the document's manifest (the first of `keys`, the project's
// keys with revoked ones included, whose digest verifies it). Errors:
//   kFailedPrecondition "release: the project has no registered release key"
//   kPermissionDenied   "release: manifest signed by a revoked key"
//   kUnauthenticated    "release: manifest is not signed by a registered key of the project"
Result<ReleaseKey> FindSigningKey(port::Crypto& crypto, const host::ReleaseDocument& document,
                                  std::span<const ReleaseKey> keys);

// Admits `document` (parsed from `release_json` by host::ParseReleaseJson) with its artifact
// `image`, given every key registered for the document's project (revoked ones included, so a
// signature by a revoked key is named as such). Returns the release row to create (id and
// created_at_ms unset; manifest_json = release_json verbatim). Errors, in check order:
//   FindSigningKey's
//   core::CheckDownloadAgainstManifest's (artifact size and SHA-256 vs the manifest)
//   core::InspectAppImage's, core::ImageFactsOf's, core::CheckImageMatchesManifest's
//   kInvalidArgument    "release: artifact is not a signed image (image, padding, sector)"
//   the Secure Boot v2 verdict's status for the image under the manifest's signing key
Result<Release> AdmitRelease(port::Crypto& crypto, const host::ReleaseDocument& document,
                             std::string_view release_json, std::span<const ReleaseKey> keys,
                             ConstByteSpan image);

}  // namespace aloft::server
