// `aloft release make|verify`: signed release manifests (RELEASE.json, docs/manifest.md).

#include <openssl/evp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/image_identity.h"
#include "cli/command.h"
#include "cli/io.h"
#include "cli/release_key_io.h"
#include "core/format/app_image.h"
#include "core/release/manifest.h"
#include "core/release/semantic_version.h"
#include "core/release/version_policy.h"
#include "core/signature/signature_verifier.h"
#include "ports/host/openssl_crypto.h"
#include "ports/host/release_document.h"
#include "ports/host/release_key.h"

namespace aloft::cli {
namespace {

std::array<std::byte, 32> Sha256(ConstByteSpan bytes) {
  std::array<std::byte, 32> digest{};
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), reinterpret_cast<unsigned char*>(digest.data()), &size,
             EVP_sha256(), nullptr);
  return digest;
}

struct MakeOptions {
  std::string image;
  std::vector<std::string> keys;
  std::string output;
  std::string min_running_version;
};

int RunMake(const MakeOptions& options) {
  std::vector<host::ReleaseKey> keys;
  for (const std::string& path : options.keys) {
    std::optional<host::ReleaseKey> key = LoadReleaseKeyOrReport(path);
    if (!key.has_value()) {
      return kExitFailure;
    }
    if (!key->has_private_key()) {
      return ReportError(path + ": is a public key; signing needs the private key");
    }
    keys.push_back(std::move(*key));
  }
  const std::optional<std::vector<std::byte>> image = ReadFileOrReport(options.image);
  if (!image.has_value()) {
    return kExitFailure;
  }
  host::OpensslCrypto crypto;
  const Result<ImageIdentity> identity = ReadImageIdentity(*image, crypto);
  if (!identity.ok()) {
    return ReportFailure(options.image, identity.status());
  }
  const Result<uint32_t> region = core::SignedRegionSize(identity->image_len);
  if (!region.ok()) {
    return ReportFailure(options.image, region.status());
  }
  const uint64_t signed_size = uint64_t{*region} + core::kSignatureSectorSize;
  if (image->size() != signed_size) {
    return ReportError(options.image + ": is " + std::to_string(image->size()) +
                       " bytes, but a signed image of image_len " +
                       std::to_string(identity->image_len) + " is " + std::to_string(signed_size) +
                       " (sign it first with `aloft sign`)");
  }
  // The manifest and the image must be trusted through the same keys, so every release key
  // must have signed the image.
  std::vector<const host::ReleaseKey*> key_pointers;
  for (size_t i = 0; i < keys.size(); ++i) {
    core::TrustedKey trusted;
    trusted.digest = keys[i].key_digest();
    const core::TrustedKey one[] = {trusted};
    const core::SignatureVerdict verdict =
        core::VerifySignedImage(crypto, *image, identity->image_len, {one, std::nullopt, false});
    if (!verdict.ok()) {
      return ReportError(options.image + ": not signed by " + options.keys[i] + " (" +
                         verdict.status.reason() + ")");
    }
    key_pointers.push_back(&keys[i]);
  }

  core::ReleaseManifest manifest;
  if (!manifest.project.Assign(identity->project) || !manifest.version.Assign(identity->version) ||
      !manifest.min_running_version.Assign(options.min_running_version)) {
    return ReportError(options.image + ": project, version or minimum running version too long");
  }
  if (!options.min_running_version.empty() &&
      !core::ParseSemanticVersion(options.min_running_version).ok()) {
    return ReportError(
        "--min-running-version " + options.min_running_version + ": " +
            core::ParseSemanticVersion(options.min_running_version).status().reason(),
        kExitUsage);
  }
  if (core::ChipName(identity->chip_id).empty()) {
    return ReportError(options.image + ": chip id " + std::to_string(identity->chip_id) +
                       " is not a known ESP32-family chip");
  }
  manifest.chip_id = identity->chip_id;
  manifest.secure_version = identity->secure_version;
  manifest.size_bytes = static_cast<uint32_t>(signed_size);
  manifest.sha256 = Sha256(*image);

  Result<std::string> json = host::MakeReleaseJson(manifest, key_pointers);
  if (!json.ok()) {
    return ReportFailure(options.image, json.status());
  }
  if (!WriteFileOrReport(options.output, AsBytes(*json))) {
    return kExitFailure;
  }
  std::printf("%s: release %s %s for %s (secure_version %u, %llu bytes), signed by %zu key(s)\n",
              options.output.c_str(), identity->project.c_str(), identity->version.c_str(),
              std::string(core::ChipName(identity->chip_id)).c_str(), identity->secure_version,
              static_cast<unsigned long long>(signed_size), keys.size());
  return kExitOk;
}

struct VerifyOptions {
  std::string release;
  std::vector<std::string> keys;
  std::vector<std::string> key_digests;
  std::string image;
};

int RunVerify(const VerifyOptions& options) {
  if (options.keys.empty() && options.key_digests.empty()) {
    return ReportError("release verify: give at least one --key PEM or --key-digest HEX",
                       kExitUsage);
  }
  bool usage_error = false;
  const std::optional<std::vector<core::TrustedKey>> keys =
      TrustedKeysOrReport(options.keys, options.key_digests, &usage_error);
  if (!keys.has_value()) {
    return usage_error ? kExitUsage : kExitFailure;
  }
  if (keys->size() > core::kMaxTrustedKeys) {
    return ReportError("release verify: at most 3 trusted keys (a device has 3 key slots)",
                       kExitUsage);
  }
  const std::optional<std::vector<std::byte>> text = ReadFileOrReport(options.release);
  if (!text.has_value()) {
    return kExitFailure;
  }
  host::OpensslCrypto crypto;
  const Result<host::ReleaseDocument> document = host::VerifyReleaseJson(
      crypto, std::string_view(reinterpret_cast<const char*>(text->data()), text->size()),
      {*keys, std::nullopt, false});
  if (!document.ok()) {
    return ReportFailure(options.release, document.status());
  }
  const core::ReleaseManifest& m = document->manifest;
  if (!options.image.empty()) {
    const std::optional<std::vector<std::byte>> image = ReadFileOrReport(options.image);
    if (!image.has_value()) {
      return kExitFailure;
    }
    const Status download = core::CheckDownloadAgainstManifest(m, image->size(), Sha256(*image));
    if (!download.ok()) {
      return ReportFailure(options.image, download);
    }
    const Result<ImageIdentity> identity = ReadImageIdentity(*image, crypto);
    if (!identity.ok()) {
      return ReportFailure(options.image, identity.status());
    }
    const Status header = core::CheckImageMatchesManifest(
        m, {identity->chip_id, identity->project, identity->version, identity->secure_version});
    if (!header.ok()) {
      return ReportFailure(options.image, header);
    }
    const core::SignatureVerdict verdict =
        core::VerifySignedImage(crypto, *image, identity->image_len, {*keys, std::nullopt, false});
    if (!verdict.ok()) {
      return ReportFailure(options.image, verdict.status);
    }
  }
  std::printf("%s: valid release %s %s for %s (secure_version %u, %u bytes)%s\n",
              options.release.c_str(), std::string(m.project.view()).c_str(),
              std::string(m.version.view()).c_str(),
              std::string(core::ChipName(m.chip_id)).c_str(), m.secure_version, m.size_bytes,
              options.image.empty() ? "" : (", matches " + options.image).c_str());
  return kExitOk;
}

}  // namespace

void AddReleaseCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group = app.add_subcommand("release", "Signed release manifests (RELEASE.json)");
  group->require_subcommand(1);

  auto make = std::make_shared<MakeOptions>();
  CLI::App* make_cmd = group->add_subcommand(
      "make",
      "Write RELEASE.json for a signed image: project, chip, version and secure_version from the "
      "image, its size and SHA-256, signed with the same release key(s)");
  make_cmd->add_option("image", make->image, "Signed app image (from `aloft sign`)")->required();
  make_cmd->add_option("--key", make->keys, "Private key PEM that signed the image (repeatable)")
      ->required()
      ->allow_extra_args(false);
  make_cmd->add_option("-o,--output", make->output, "Where to write RELEASE.json")->required();
  make_cmd->add_option("--min-running-version", make->min_running_version,
                       "Devices must run at least this (semantic) version to install it");
  make_cmd->callback([make, &result] { result.exit_code = RunMake(*make); });

  auto verify = std::make_shared<VerifyOptions>();
  CLI::App* verify_cmd = group->add_subcommand(
      "verify",
      "Verify RELEASE.json as a device would (and, with --image, that the image is the one it "
      "names)");
  verify_cmd->add_option("release", verify->release, "RELEASE.json")->required();
  verify_cmd->add_option("--key", verify->keys, "Trusted key PEM (repeatable)")
      ->allow_extra_args(false);
  verify_cmd->add_option("--key-digest", verify->key_digests, "Trusted key digest (repeatable)")
      ->allow_extra_args(false);
  verify_cmd->add_option("--image", verify->image, "The signed image the release names");
  verify_cmd->callback([verify, &result] { result.exit_code = RunVerify(*verify); });
}

}  // namespace aloft::cli
