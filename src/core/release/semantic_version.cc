#include "core/release/semantic_version.h"

#include <algorithm>

#include "core/try.h"

namespace aloft::core {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsIdentifierChar(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool IsNumeric(std::string_view identifier) {
  return !identifier.empty() && std::all_of(identifier.begin(), identifier.end(), IsDigit);
}

// One of MAJOR, MINOR, PATCH: digits, no leading zero, at most 2^32-1.
Result<uint32_t> ParseNumber(std::string_view digits) {
  if (!IsNumeric(digits)) {
    return InvalidArgument("version: core is not MAJOR.MINOR.PATCH");
  }
  if (digits.size() > 1 && digits[0] == '0') {
    return InvalidArgument("version: number has a leading zero");
  }
  uint64_t value = 0;
  for (char c : digits) {
    value = value * 10 + static_cast<uint64_t>(c - '0');
    if (value > UINT32_MAX) {
      return InvalidArgument("version: number too large");
    }
  }
  return static_cast<uint32_t>(value);
}

// Checks dot-separated identifiers; `prerelease` adds the no-leading-zero rule for numerics.
Status CheckIdentifiers(std::string_view list, bool prerelease) {
  size_t start = 0;
  while (true) {
    const size_t dot = list.find('.', start);
    const std::string_view identifier =
        list.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (identifier.empty()) {
      return prerelease ? InvalidArgument("version: empty prerelease identifier")
                        : InvalidArgument("version: empty build identifier");
    }
    if (!std::all_of(identifier.begin(), identifier.end(), IsIdentifierChar)) {
      return prerelease ? InvalidArgument("version: prerelease identifier has an invalid character")
                        : InvalidArgument("version: build identifier has an invalid character");
    }
    if (prerelease && IsNumeric(identifier) && identifier.size() > 1 && identifier[0] == '0') {
      return InvalidArgument("version: numeric prerelease identifier has a leading zero");
    }
    if (dot == std::string_view::npos) {
      return OkStatus();
    }
    start = dot + 1;
  }
}

int Sign(int value) { return (value > 0) - (value < 0); }

// One prerelease identifier against another (SemVer §11.4.1-3).
int CompareIdentifiers(std::string_view a, std::string_view b) {
  const bool a_numeric = IsNumeric(a);
  const bool b_numeric = IsNumeric(b);
  if (a_numeric && b_numeric) {
    // No leading zeros, so the longer one is larger; equal lengths compare as text.
    if (a.size() != b.size()) {
      return a.size() < b.size() ? -1 : 1;
    }
    return Sign(a.compare(b));
  }
  if (a_numeric != b_numeric) {
    return a_numeric ? -1 : 1;
  }
  return Sign(a.compare(b));
}

}  // namespace

Result<SemanticVersion> ParseSemanticVersion(std::string_view text) {
  if (!text.empty() && text[0] == 'v') {
    text.remove_prefix(1);
  }
  if (text.empty()) {
    return InvalidArgument("version: empty");
  }
  SemanticVersion version;
  const size_t plus = text.find('+');
  if (plus != std::string_view::npos) {
    version.build = text.substr(plus + 1);
    ALOFT_TRY(CheckIdentifiers(version.build, /*prerelease=*/false));
    text = text.substr(0, plus);
  }
  const size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    version.prerelease = text.substr(dash + 1);
    ALOFT_TRY(CheckIdentifiers(version.prerelease, /*prerelease=*/true));
    text = text.substr(0, dash);
  }
  const size_t dot1 = text.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : text.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || text.find('.', dot2 + 1) != std::string_view::npos) {
    return InvalidArgument("version: core is not MAJOR.MINOR.PATCH");
  }
  ALOFT_TRY_ASSIGN(version.major, ParseNumber(text.substr(0, dot1)));
  ALOFT_TRY_ASSIGN(version.minor, ParseNumber(text.substr(dot1 + 1, dot2 - dot1 - 1)));
  ALOFT_TRY_ASSIGN(version.patch, ParseNumber(text.substr(dot2 + 1)));
  return version;
}

int CompareSemanticVersions(const SemanticVersion& a, const SemanticVersion& b) {
  if (a.major != b.major) {
    return a.major < b.major ? -1 : 1;
  }
  if (a.minor != b.minor) {
    return a.minor < b.minor ? -1 : 1;
  }
  if (a.patch != b.patch) {
    return a.patch < b.patch ? -1 : 1;
  }
  if (a.prerelease.empty() != b.prerelease.empty()) {
    // A prerelease precedes its release (§11.3).
    return a.prerelease.empty() ? 1 : -1;
  }
  if (a.prerelease.empty()) {
    return 0;
  }
  std::string_view rest_a = a.prerelease;
  std::string_view rest_b = b.prerelease;
  while (true) {
    const size_t dot_a = rest_a.find('.');
    const size_t dot_b = rest_b.find('.');
    const int order = CompareIdentifiers(rest_a.substr(0, dot_a), rest_b.substr(0, dot_b));
    if (order != 0) {
      return order;
    }
    const bool more_a = dot_a != std::string_view::npos;
    const bool more_b = dot_b != std::string_view::npos;
    if (!more_a || !more_b) {
      // A larger set of identifiers has higher precedence when all before are equal.
      return static_cast<int>(more_a) - static_cast<int>(more_b);
    }
    rest_a.remove_prefix(dot_a + 1);
    rest_b.remove_prefix(dot_b + 1);
  }
}

VersionOrder CompareVersions(std::string_view reference, std::string_view candidate) {
  const Result<SemanticVersion> ref = ParseSemanticVersion(reference);
  const Result<SemanticVersion> cand = ParseSemanticVersion(candidate);
  if (!ref.ok() || !cand.ok()) {
    // Identical text is the same build even without an order (reinstalling "6970792-dirty").
    return reference == candidate ? VersionOrder::kSame : VersionOrder::kUnordered;
  }
  const int order = CompareSemanticVersions(*ref, *cand);
  if (order == 0) {
    return VersionOrder::kSame;
  }
  return order < 0 ? VersionOrder::kNewer : VersionOrder::kOlder;
}

const char* VersionOrderName(VersionOrder order) {
  switch (order) {
    case VersionOrder::kOlder:
      return "older";
    case VersionOrder::kSame:
      return "same";
    case VersionOrder::kNewer:
      return "newer";
    case VersionOrder::kUnordered:
      return "unordered";
  }
  return "unknown";
}

}  // namespace aloft::core
