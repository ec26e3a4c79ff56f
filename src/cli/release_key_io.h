#pragma once
// Reading release keys and trusted-key sets from the command line, shared by `aloft key`,
// `aloft sign`, `aloft release` and `aloft image verify`. Failures are printed here, once,
// naming the file or flag, so callers only choose the exit code.

#include <optional>
#include <string>
#include <vector>

#include "core/signature/signature_verifier.h"
#include "ports/host/release_key.h"

namespace aloft::cli {

// The key in a PEM file, or nullopt after printing "aloft: PATH: release key: PROBLEM".
std::optional<host::ReleaseKey> LoadReleaseKeyOrReport(const std::string& path);

// Trusted key digests from `--key PEM` files and `--key-digest HEX` values, in that order.
// nullopt after printing the problem; `*usage_error` says whether it was a bad flag value
// (exit 2) rather than a bad file (exit 1).
std::optional<std::vector<core::TrustedKey>> TrustedKeysOrReport(
    const std::vector<std::string>& key_paths, const std::vector<std::string>& key_digests,
    bool* usage_error);

// Lower-case hex of a key digest.
std::string DigestHex(const std::array<std::byte, core::kKeyDigestSize>& digest);

}  // namespace aloft::cli
