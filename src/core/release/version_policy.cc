#include "core/release/version_policy.h"

#include <algorithm>

#include "core/release/semantic_version.h"

namespace aloft::core {

Status EvaluateUpdate(const DeviceFacts& device, const ReleaseManifest& manifest,
                      const UpdateOptions& options) {
  if (manifest.chip_id != device.chip_id) {
    return PermissionDenied("update: release is for another chip", manifest.chip_id);
  }
  if (manifest.project.view() != device.project) {
    return PermissionDenied("update: release is for another project");
  }
  if (manifest.size_bytes > device.slot_size_bytes) {
    return OutOfRange("update: release does not fit the update slot", manifest.size_bytes);
  }
  // The bootloader would refuse to boot it anyway (and ESP-IDF refuses to write it): refusing
  // here keeps the slot and the download budget for something bootable. No option lowers it.
  if (manifest.secure_version < device.secure_version_floor) {
    return PermissionDenied("update: secure_version is below the anti-rollback floor",
                            manifest.secure_version);
  }
  if (!manifest.min_running_version.empty()) {
    switch (CompareVersions(manifest.min_running_version.view(), device.running_version)) {
      case VersionOrder::kOlder:
        return PermissionDenied("update: running version is below min_running_version");
      case VersionOrder::kUnordered:
        if (!options.allow_unordered) {
          return PermissionDenied(
              "update: running version has no order to check min_running_version");
        }
        break;
      case VersionOrder::kSame:
      case VersionOrder::kNewer:
        break;
    }
  }
  switch (CompareVersions(device.running_version, manifest.version.view())) {
    case VersionOrder::kNewer:
      return OkStatus();
    case VersionOrder::kSame:
      return options.allow_downgrade
                 ? OkStatus()
                 : PermissionDenied("update: release version equals the running version");
    case VersionOrder::kOlder:
      return options.allow_downgrade
                 ? OkStatus()
                 : PermissionDenied("update: release version is older than the running version");
    case VersionOrder::kUnordered:
      return options.allow_unordered
                 ? OkStatus()
                 : PermissionDenied("update: release or running version is not a semantic version");
  }
  return Internal("update: unknown version order");
}

Status CheckDownloadAgainstManifest(const ReleaseManifest& manifest, uint64_t received_size,
                                    ConstByteSpan sha256) {
  if (received_size > manifest.size_bytes) {
    return OutOfRange("update: image is larger than its manifest says", manifest.size_bytes);
  }
  if (received_size < manifest.size_bytes) {
    return DataLoss("update: image is shorter than its manifest says",
                    static_cast<uint32_t>(received_size));
  }
  if (sha256.size() != manifest.sha256.size() ||
      !std::equal(sha256.begin(), sha256.end(), manifest.sha256.begin())) {
    return Unauthenticated("update: image sha256 differs from the manifest");
  }
  return OkStatus();
}

Status CheckImageMatchesManifest(const ReleaseManifest& manifest, const ImageFacts& image) {
  if (image.chip_id != manifest.chip_id) {
    return PermissionDenied("update: image chip differs from the manifest", image.chip_id);
  }
  if (image.project != manifest.project.view()) {
    return PermissionDenied("update: image project differs from the manifest");
  }
  if (image.version != manifest.version.view()) {
    return PermissionDenied("update: image version differs from the manifest");
  }
  if (image.secure_version != manifest.secure_version) {
    return PermissionDenied("update: image secure_version differs from the manifest",
                            image.secure_version);
  }
  return OkStatus();
}

Result<ImageFacts> ImageFactsOf(const AppImageInfo& info) {
  if (!info.app_description.has_value()) {
    return InvalidArgument("update: image has no app description");
  }
  const AppDescription& desc = *info.app_description;
  return ImageFacts{info.header.chip_id, desc.project_name.view(), desc.version.view(),
                    desc.secure_version};
}

}  // namespace aloft::core
