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

std::optional<std::vector<core::TrustedKey>> TrustedKeysOrReport(
    const std::vector<std::string>& key_paths, const std::vector<std::string>& key_digests,
    bool* usage_error) {
  *usage_error = false;
  std::vector<core::TrustedKey> keys;
  for (const std::string& path : key_paths) {
    std::optional<host::ReleaseKey> key = LoadReleaseKeyOrReport(path);
    if (!key.has_value()) {
      return std::nullopt;
    }
    core::TrustedKey trusted;
    trusted.digest = key->key_digest();
    keys.push_back(trusted);
  }
  for (const std::string& hex : key_digests) {
    core::TrustedKey trusted;
    bool ok = hex.size() == 2 * trusted.digest.size();
    for (size_t i = 0; ok && i < trusted.digest.size(); ++i) {
      unsigned value = 0;
      ok = std::sscanf(hex.c_str() + 2 * i, "%2x", &value) == 1 &&
           std::isxdigit(static_cast<unsigned char>(hex[2 * i])) &&
           std::isxdigit(static_cast<unsigned char>(hex[2 * i + 1]));
      trusted.digest[i] = std::byte{static_cast<uint8_t>(value)};
    }
    if (!ok) {
      *usage_error = true;
      ReportError("--key-digest " + hex + ": not 64 hex digits (a SHA-256 key digest)", kExitUsage);
      return std::nullopt;
    }
    keys.push_back(trusted);
  }
  return keys;
}

std::string DigestHex(const std::array<std::byte, core::kKeyDigestSize>& digest) {
  return HexString(digest);
}

}  // namespace aloft::cli
