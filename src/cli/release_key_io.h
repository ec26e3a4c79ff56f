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

// The private keys a signing command was given (each must hold a private key), or nullopt
// after printing the problem.
std::optional<std::vector<host::ReleaseKey>> LoadSigningKeysOrReport(
    const std::vector<std::string>& key_paths);

// A device's trusted set from `--key PEM` files and `--key-digest HEX` values, in that order:
// at least one and at most kMaxTrustedKeys (a device has 3 key slots). nullopt after printing
// the problem, prefixed with `command` ("image verify"); `*exit_code` is then 2 for a bad or
// missing flag value and 1 for a bad file.
std::optional<std::vector<core::TrustedKey>> TrustedKeysOrReport(
    const std::string& command, const std::vector<std::string>& key_paths,
    const std::vector<std::string>& key_digests, int* exit_code);

// Lower-case hex of a key digest.
std::string DigestHex(const std::array<std::byte, core::kKeyDigestSize>& digest);

}  // namespace aloft::cli
