#pragma once
// The update decisions a device makes about an authentic release, as pure functions (no I/O,
// no clock): is this release for me and allowed (EvaluateUpdate), did the download deliver
// exactly what the manifest promised (CheckDownloadAgainstManifest), and does the image's own
// header say the same as its manifest (CheckImageMatchesManifest). Each returns OK or the first
// refusal, naming the rule. docs/security.md maps each rule to the attack it stops.

#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "core/format/app_image.h"
#include "core/release/manifest.h"
#include "core/status.h"

namespace aloft::core {

// What the device knows about itself.
struct DeviceFacts {
  uint16_t chip_id = 0;               // esp_chip_id_t of this chip
  std::string_view project;           // esp_app_desc_t.project_name of the running app
  std::string_view running_version;   // esp_app_desc_t.version of the running app
  uint32_t secure_version_floor = 0;  // the eFuse anti-rollback counter
  uint32_t slot_size_bytes = 0;       // size of the OTA slot the update would be written to
};

struct UpdateOptions {
  // Accept a release whose version is the same as or older than the running one (a deliberate
  // downgrade or reinstall flow). Never lowers the secure_version floor.
  bool allow_downgrade = false;
  // Accept when either version is not a semantic version (so no order is known), and when the
  // running version cannot be checked against min_running_version for that reason.
  bool allow_unordered = false;
};

// Decides whether the device may install the release `manifest` describes. Checks, in order:
//   kPermissionDenied "update: release is for another chip"
//   kPermissionDenied "update: release is for another project"
//   kOutOfRange       "update: release does not fit the update slot" (context: size)
//   kPermissionDenied "update: secure_version is below the anti-rollback floor" (context: it)
//   kPermissionDenied "update: running version is below min_running_version"
//   kPermissionDenied "update: running version has no order to check min_running_version"
//   kPermissionDenied "update: release version equals the running version"
//   kPermissionDenied "update: release version is older than the running version"
//   kPermissionDenied "update: release or running version is not a semantic version"
// The last four yield to `options` as documented there; the first four never do.
Status EvaluateUpdate(const DeviceFacts& device, const ReleaseManifest& manifest,
                      const UpdateOptions& options);

// After the download: `received_size` bytes whose SHA-256 is `sha256` must be exactly what the
// manifest names. kOutOfRange "update: image is larger than its manifest says" (endless data);
// kDataLoss "update: image is shorter than its manifest says"; kUnauthenticated "update: image
// sha256 differs from the manifest" (a different image: mix and match).
Status CheckDownloadAgainstManifest(const ReleaseManifest& manifest, uint64_t received_size,
                                    ConstByteSpan sha256);

// What the image's own header and app description say (from the app-image parser).
struct ImageFacts {
  uint16_t chip_id = 0;
  std::string_view project;
  std::string_view version;
  uint32_t secure_version = 0;
};

// The signed image must describe itself as its signed manifest does: kPermissionDenied
// "update: image chip differs from the manifest", "... project ...", "... version ...",
// "update: image secure_version differs from the manifest".
Status CheckImageMatchesManifest(const ReleaseManifest& manifest, const ImageFacts& image);

// The facts of an inspected image (header chip id, esp_app_desc_t project, version and
// secure_version). The views point into `info`, which must outlive the result.
// kInvalidArgument "update: image has no app description" when esp_app_desc_t is missing.
Result<ImageFacts> ImageFactsOf(const AppImageInfo& info);

}  // namespace aloft::core
