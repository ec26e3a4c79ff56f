#pragma once
// Semantic versions (SemVer 2.0.0, https://semver.org) as found in esp_app_desc_t.version:
// MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], with an optional leading "v" ("v3.0.0-beta.2+build.7").
// Anything else ("6970792-dirty", "1.2", "01.0.0") is not a semantic version and therefore has
// no order; docs/security.md says what the update policy does with such versions. Pure
// functions, no heap; a SemanticVersion views the text it was parsed from.

#include <cstdint>
#include <string_view>

#include "core/result.h"

namespace aloft::core {

struct SemanticVersion {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t patch = 0;
  std::string_view prerelease;  // without the '-'; empty if none
  std::string_view build;       // without the '+'; ignored by every comparison
};

// kInvalidArgument naming the part that is wrong: "version: empty", "version: core is not
// MAJOR.MINOR.PATCH", "version: number has a leading zero", "version: number too large" (over
// 2^32-1), "version: empty prerelease identifier", "version: prerelease identifier has an
// invalid character", "version: numeric prerelease identifier has a leading zero",
// "version: empty build identifier", "version: build identifier has an invalid character".
Result<SemanticVersion> ParseSemanticVersion(std::string_view text);

// SemVer 2.0 precedence (§11): numbers numerically; a version with a prerelease is lower than
// the same version without; prerelease identifiers compared left to right, numeric ones
// numerically and below alphanumeric ones (ASCII order), a shorter list lower when all shared
// identifiers are equal. Build metadata is ignored. Returns <0, 0 or >0.
int CompareSemanticVersions(const SemanticVersion& a, const SemanticVersion& b);

enum class VersionOrder : uint8_t {
  kOlder,      // candidate precedes reference
  kSame,       // equal precedence (build metadata and a leading "v" ignored), or identical text
  kNewer,      // candidate follows reference
  kUnordered,  // either is not a semantic version (and the texts differ)
};

// Where `candidate` stands relative to `reference`.
VersionOrder CompareVersions(std::string_view reference, std::string_view candidate);

const char* VersionOrderName(VersionOrder order);  // "older", "same", "newer", "unordered"

}  // namespace aloft::core
