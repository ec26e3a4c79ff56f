#include "server/release_admission.h"

#include <optional>
#include <string>

#include "core/format/app_image.h"
#include "core/release/manifest.h"
#include "core/release/version_policy.h"
#include "core/signature/signature_verifier.h"
#include "core/try.h"
#include "server/credentials.h"

namespace aloft::server {
namespace {

std::optional<core::TrustedKey> TrustedKeyOf(const ReleaseKey& key) {
  const std::optional<std::string> digest = HexDecode(key.key_digest);
  if (!digest.has_value() || digest->size() != core::kKeyDigestSize) {
    return std::nullopt;
  }
  core::TrustedKey trusted;
  for (size_t i = 0; i < trusted.digest.size(); ++i) {
    trusted.digest[i] = static_cast<std::byte>((*digest)[i]);
  }
  return trusted;
}

// One key at a time: a project may register more keys than a device has slots (3).
bool ManifestSignedBy(port::Crypto& crypto, const host::ReleaseDocument& document,
                      const core::TrustedKey& key) {
  const core::TrustedKey keys[] = {key};
  return core::VerifyManifest(crypto, document.canonical, document.signature,
                              core::TrustPolicy{keys, std::nullopt, false})
      .ok();
}

}  // namespace

Result<ReleaseKey> FindSigningKey(port::Crypto& crypto, const host::ReleaseDocument& document,
                                  std::span<const ReleaseKey> keys) {
  const ReleaseKey* signer = nullptr;
  bool any_valid_key = false;
  bool signed_by_revoked = false;
  for (const ReleaseKey& key : keys) {
    const std::optional<core::TrustedKey> trusted = TrustedKeyOf(key);
    if (!trusted.has_value()) {
      continue;
    }
    const bool revoked = key.revoked_at_ms.has_value();
    any_valid_key = any_valid_key || !revoked;
    if (!ManifestSignedBy(crypto, document, *trusted)) {
      continue;
    }
    if (revoked) {
      signed_by_revoked = true;
      continue;
    }
    signer = &key;
    break;
  }
  if (signer == nullptr) {
    if (!any_valid_key && !signed_by_revoked) {
      return FailedPrecondition("release: the project has no registered release key");
    }
    if (signed_by_revoked) {
      return PermissionDenied("release: manifest signed by a revoked key");
    }
    return Unauthenticated("release: manifest is not signed by a registered key of the project");
  }
  return *signer;
}

Result<Release> AdmitRelease(port::Crypto& crypto, const host::ReleaseDocument& document,
                             std::string_view release_json, std::span<const ReleaseKey> keys,
                             ConstByteSpan image) {
  const core::ReleaseManifest& manifest = document.manifest;
  ALOFT_TRY_ASSIGN(const ReleaseKey signer, FindSigningKey(crypto, document, keys));
  const std::optional<core::TrustedKey> signer_key = TrustedKeyOf(signer);
  ALOFT_TRY(core::CheckDownloadAgainstManifest(manifest, image.size(), Sha256Digest(image)));
  ALOFT_TRY_ASSIGN(const core::AppImageInfo info, core::InspectAppImage(image, crypto));
  ALOFT_TRY_ASSIGN(const core::ImageFacts facts, core::ImageFactsOf(info));
  ALOFT_TRY(core::CheckImageMatchesManifest(manifest, facts));
  if (image.size() != core::FlashFootprint(info.image_len, true)) {
    return InvalidArgument("release: artifact is not a signed image (image, padding, sector)");
  }
  const core::TrustedKey image_keys[] = {*signer_key};
  const core::SignatureVerdict verdict = core::VerifySignedImage(
      crypto, image, info.image_len, core::TrustPolicy{image_keys, std::nullopt, false});
  ALOFT_TRY(verdict.status);

  Release release;
  release.project = std::string(manifest.project.view());
  release.chip = std::string(core::ChipName(manifest.chip_id));
  release.chip_id = manifest.chip_id;
  release.version = std::string(manifest.version.view());
  release.secure_version = manifest.secure_version;
  release.size_bytes = manifest.size_bytes;
  release.sha256 = HexEncode(manifest.sha256);
  release.min_running_version = std::string(manifest.min_running_version.view());
  release.signing_key_digest = signer.key_digest;
  release.manifest_json = std::string(release_json);
  return release;
}

}  // namespace aloft::server
