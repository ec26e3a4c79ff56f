// `aloft release make|verify`: signed release manifests (RELEASE.json, docs/manifest.md);
// `aloft release publish|list`: releases on aloftd (docs/protocol.md "Releases").

#include <openssl/evp.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/image_identity.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "cli/release_key_io.h"
#include "cli/server_client.h"
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
  std::optional<std::vector<host::ReleaseKey>> loaded = LoadSigningKeysOrReport(options.keys);
  if (!loaded.has_value()) {
    return kExitFailure;
  }
  std::vector<host::ReleaseKey> keys = std::move(*loaded);
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
  int exit_code = kExitOk;
  const std::optional<std::vector<core::TrustedKey>> keys =
      TrustedKeysOrReport("release verify", options.keys, options.key_digests, &exit_code);
  if (!keys.has_value()) {
    return exit_code;
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
              std::string(m.version.view()).c_str(), std::string(core::ChipName(m.chip_id)).c_str(),
              m.secure_version, m.size_bytes,
              options.image.empty() ? "" : (", matches " + options.image).c_str());
  return kExitOk;
}

struct PublishOptions {
  ServerOptions server;
  std::string image;
  std::string release;
  bool json = false;
};

int RunPublish(const PublishOptions& options) {
  const std::optional<std::vector<std::byte>> image = ReadFileOrReport(options.image);
  const std::optional<std::vector<std::byte>> release = ReadFileOrReport(options.release);
  if (!image.has_value() || !release.has_value()) {
    return kExitFailure;
  }
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  const std::string sha256 = HexString(Sha256(*image));
  const std::string_view image_bytes(reinterpret_cast<const char*>(image->data()), image->size());
  // The artifact first: the server admits a release only when its artifact is there.
  if (!CallOrReport(*client, options.server, "PUT", "/api/v1/artifacts/" + sha256, image_bytes,
                    "application/octet-stream")
           .has_value()) {
    return kExitFailure;
  }
  const std::string_view release_text(reinterpret_cast<const char*>(release->data()),
                                      release->size());
  std::optional<boost::json::value> published =
      CallOrReport(*client, options.server, "POST", "/api/v1/releases", release_text);
  if (!published.has_value()) {
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(*published);
    return kExitOk;
  }
  const boost::json::value& r = *published;
  std::printf("published release %lld: %s %s for %s (%s bytes, sha256 %s)\n",
              static_cast<long long>(r.at("id").to_number<int64_t>()),
              std::string(r.at("project").as_string()).c_str(),
              std::string(r.at("version").as_string()).c_str(),
              std::string(r.at("chip").as_string()).c_str(),
              boost::json::serialize(r.at("size")).c_str(), sha256.c_str());
  return kExitOk;
}

struct ListOptions {
  ServerOptions server;
  std::string project;
  std::string chip;
  std::string version;
  bool json = false;
};

int RunList(const ListOptions& options) {
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  std::string query;
  const std::pair<const char*, const std::string*> filters[] = {
      {"project", &options.project}, {"chip", &options.chip}, {"version", &options.version}};
  for (const auto& [name, value] : filters) {
    if (!value->empty()) {
      query += (query.empty() ? "?" : "&") + std::string(name) + "=" + UrlEncode(*value);
    }
  }
  std::optional<boost::json::value> list =
      CallOrReport(*client, options.server, "GET", "/api/v1/releases" + query);
  if (!list.has_value()) {
    return kExitFailure;
  }
  if (options.json) {
    PrintJson(*list);
    return kExitOk;
  }
  std::printf("%-6s %-16s %-9s %-16s %-8s %-10s %s\n", "id", "project", "chip", "version", "secure",
              "size", "sha256");
  for (const auto& item : list->at("releases").as_array()) {
    const boost::json::object& r = item.as_object();
    std::printf("%-6s %-16s %-9s %-16s %-8s %-10s %s\n", boost::json::serialize(r.at("id")).c_str(),
                std::string(r.at("project").as_string()).c_str(),
                std::string(r.at("chip").as_string()).c_str(),
                std::string(r.at("version").as_string()).c_str(),
                boost::json::serialize(r.at("secure_version")).c_str(),
                boost::json::serialize(r.at("size")).c_str(),
                std::string(r.at("sha256").as_string()).c_str());
  }
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

  auto publish = std::make_shared<PublishOptions>();
  CLI::App* publish_cmd = group->add_subcommand(
      "publish",
      "Upload a signed image and publish its RELEASE.json on aloftd (the server verifies both "
      "against the project's registered release keys)");
  AddServerOptions(*publish_cmd, publish->server);
  publish_cmd->add_option("image", publish->image, "Signed app image (from `aloft sign`)")
      ->required();
  publish_cmd->add_option("release", publish->release, "RELEASE.json (from `aloft release make`)")
      ->required();
  publish_cmd->add_flag("--json", publish->json, "Print the release as JSON");
  publish_cmd->callback([publish, &result] { result.exit_code = RunPublish(*publish); });

  auto list = std::make_shared<ListOptions>();
  CLI::App* list_cmd = group->add_subcommand("list", "Releases on aloftd, newest first");
  AddServerOptions(*list_cmd, list->server);
  list_cmd->add_option("--project", list->project, "Only this project");
  list_cmd->add_option("--chip", list->chip, "Only this chip");
  list_cmd->add_option("--version", list->version, "Only this version");
  list_cmd->add_flag("--json", list->json, "Print JSON");
  list_cmd->callback([list, &result] { result.exit_code = RunList(*list); });
}

}  // namespace aloft::cli
