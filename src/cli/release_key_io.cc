#include "cli/release_key_io.h"

#include <cctype>
#include <cstdio>
#include <cstring>

#include "cli/command.h"
#include "cli/io.h"

namespace aloft::cli {

std::optional<host::ReleaseKey> LoadReleaseKeyOrReport(const std::string& path) {
  const std::optional<std::vector<std::byte>> bytes = ReadFileOrReport(path);
  if (!bytes.has_value()) {
    return std::nullopt;
  }
  const std::string pem(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  Result<host::ReleaseKey> key = host::ReleaseKey::FromPem(pem);
  if (!key.ok()) {
    std::string message = path + ": " + key.status().reason();
    if (key.status().has_context()) {
      // The only key error with a number is the RSA size.
      message += " (it has " + std::to_string(key.status().context()) + " bits)";
    }
    ReportError(message);
    return std::nullopt;
  }
  return std::move(key).value();
}

std::optional<std::vector<host::ReleaseKey>> LoadSigningKeysOrReport(
    const std::vector<std::string>& key_paths) {
  std::vector<host::ReleaseKey> keys;
  for (const std::string& path : key_paths) {
    std::optional<host::ReleaseKey> key = LoadReleaseKeyOrReport(path);
    if (!key.has_value()) {
      return std::nullopt;
    }
    if (!key->has_private_key()) {
      ReportError(path + ": is a public key; signing needs the private key");
      return std::nullopt;
    }
    keys.push_back(std::move(*key));
  }
  return keys;
}

std::optional<std::vector<core::TrustedKey>> TrustedKeysOrReport(
    const std::string& command, const std::vector<std::string>& key_paths,
    const std::vector<std::string>& key_digests, int* exit_code) {
  *exit_code = kExitUsage;
  if (key_paths.empty() && key_digests.empty()) {
    ReportError(command + ": give at least one --key PEM or --key-digest HEX", kExitUsage);
    return std::nullopt;
  }
  if (key_paths.size() + key_digests.size() > core::kMaxTrustedKeys) {
    ReportError(command + ": at most 3 trusted keys (a device has 3 key slots)", kExitUsage);
    return std::nullopt;
  }
  std::vector<core::TrustedKey> keys;
  for (const std::string& path : key_paths) {
    std::optional<host::ReleaseKey> key = LoadReleaseKeyOrReport(path);
    if (!key.has_value()) {
      *exit_code = kExitFailure;
      return std::nullopt;
    }
    core::TrustedKey trusted;
    trusted.digest = key->key_digest();
    keys.push_back(trusted);
  }
  for (const std::string& hex : key_digests) {
    const std::optional<std::array<std::byte, 32>> digest = ParseKeyDigest(hex);
    if (!digest.has_value()) {
      ReportError("--key-digest " + hex + ": not 64 hex digits (a SHA-256 key digest)", kExitUsage);
      return std::nullopt;
    }
    core::TrustedKey trusted;
    trusted.digest = *digest;
    keys.push_back(trusted);
  }
  return keys;
}

std::string DigestHex(const std::array<std::byte, core::kKeyDigestSize>& digest) {
  return HexString(digest);
}

}  // namespace aloft::cli
