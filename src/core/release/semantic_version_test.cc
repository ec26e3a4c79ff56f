#include "core/release/semantic_version.h"

#include <gtest/gtest.h>

#include <string_view>

#include "support/status_testing.h"

namespace aloft::core {
namespace {

TEST(ParseSemanticVersion, ValidForms_Fields) {
  struct Case {
    std::string_view text;
    uint32_t major, minor, patch;
    std::string_view prerelease, build;
  };
  constexpr Case kCases[] = {
      {"1.0.0", 1, 0, 0, "", ""},
      {"v1.0.0", 1, 0, 0, "", ""},
      {"2.3.4-rc1", 2, 3, 4, "rc1", ""},
      {"v3.0.0-beta.2+build.7", 3, 0, 0, "beta.2", "build.7"},
      {"0.0.0", 0, 0, 0, "", ""},
      {"4294967295.0.1", 4294967295u, 0, 1, "", ""},
      {"1.0.0-alpha-1.0.x-y", 1, 0, 0, "alpha-1.0.x-y", ""},
      {"1.0.0+001.sha-5114f85", 1, 0, 0, "", "001.sha-5114f85"},
      {"10.20.30-0.3.7", 10, 20, 30, "0.3.7", ""},
  };
  for (const Case& c : kCases) {
    const Result<SemanticVersion> v = ParseSemanticVersion(c.text);
    ASSERT_TRUE(v.ok()) << c.text << ": " << v.status().reason();
    EXPECT_EQ(v->major, c.major) << c.text;
    EXPECT_EQ(v->minor, c.minor) << c.text;
    EXPECT_EQ(v->patch, c.patch) << c.text;
    EXPECT_EQ(v->prerelease, c.prerelease) << c.text;
    EXPECT_EQ(v->build, c.build) << c.text;
  }
}

TEST(ParseSemanticVersion, NotSemver_NamedReason) {
  struct Case {
    std::string_view text;
    Status expected;
  };
  const Case kCases[] = {
      {"", InvalidArgument("version: empty")},
      {"v", InvalidArgument("version: empty")},
      {"6970792-dirty", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {"1.2", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {"1.2.3.4", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {"1..3", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {"V1.2.3", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {"vv1.2.3", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {" 1.2.3", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {"1.2.3 ", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
      {"01.2.3", InvalidArgument("version: number has a leading zero")},
      {"1.02.3", InvalidArgument("version: number has a leading zero")},
      {"4294967296.0.0", InvalidArgument("version: number too large")},
      {"1.2.3-", InvalidArgument("version: empty prerelease identifier")},
      {"1.2.3-a..b", InvalidArgument("version: empty prerelease identifier")},
      {"1.2.3-rc_1", InvalidArgument("version: prerelease identifier has an invalid character")},
      {"1.2.3-01", InvalidArgument("version: numeric prerelease identifier has a leading zero")},
      {"1.2.3+", InvalidArgument("version: empty build identifier")},
      {"1.2.3+a+b", InvalidArgument("version: build identifier has an invalid character")},
      {"v6.1-dev-1234-gabcdef", InvalidArgument("version: core is not MAJOR.MINOR.PATCH")},
  };
  for (const Case& c : kCases) {
    EXPECT_STATUS(ParseSemanticVersion(c.text).status(), c.expected) << c.text;
  }
}

// semver.org §11 examples, each strictly lower than the next.
TEST(CompareSemanticVersions, SemverSpecOrdering) {
  constexpr std::string_view kAscending[] = {
      "1.0.0-alpha",    "1.0.0-alpha.1", "1.0.0-alpha.beta",
      "1.0.0-beta",     "1.0.0-beta.2",  "1.0.0-beta.11",
      "1.0.0-rc.1",     "1.0.0",         "1.0.1",
      "1.1.0",          "1.9.0",         "1.10.0",
      "2.0.0-0",        "2.0.0",         "10.0.0",
      "4294967295.0.0",
  };
  for (size_t i = 0; i < std::size(kAscending); ++i) {
    for (size_t j = 0; j < std::size(kAscending); ++j) {
      const SemanticVersion a = ParseSemanticVersion(kAscending[i]).value();
      const SemanticVersion b = ParseSemanticVersion(kAscending[j]).value();
      const int expected = i < j ? -1 : (i > j ? 1 : 0);
      const int got = CompareSemanticVersions(a, b);
      EXPECT_EQ((got > 0) - (got < 0), expected) << kAscending[i] << " vs " << kAscending[j];
    }
  }
}

TEST(CompareVersions, Table) {
  struct Case {
    std::string_view reference, candidate;
    VersionOrder expected;
  };
  constexpr Case kCases[] = {
      {"1.0.0", "1.0.1", VersionOrder::kNewer},
      {"1.0.1", "1.0.0", VersionOrder::kOlder},
      {"1.0.0", "1.0.0", VersionOrder::kSame},
      {"1.0.0", "v1.0.0", VersionOrder::kSame},
      {"1.0.0+build.1", "1.0.0+build.2", VersionOrder::kSame},  // build metadata ignored
      {"1.0.0-rc.1", "1.0.0", VersionOrder::kNewer},
      {"1.0.0", "1.0.0-rc.1", VersionOrder::kOlder},
      {"1.0.0-beta.11", "1.0.0-beta.2", VersionOrder::kOlder},  // numeric, not text
      {"1.0.0-rc.99999999999999999999", "1.0.0-rc.100000000000000000000", VersionOrder::kNewer},
      {"6970792-dirty", "6970792-dirty", VersionOrder::kSame},  // identical text
      {"6970792-dirty", "1.0.0", VersionOrder::kUnordered},
      {"1.0.0", "6970792-dirty", VersionOrder::kUnordered},
      {"6970792", "6970793", VersionOrder::kUnordered},
      {"", "1.0.0", VersionOrder::kUnordered},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(CompareVersions(c.reference, c.candidate), c.expected)
        << c.reference << " -> " << c.candidate << " gave "
        << VersionOrderName(CompareVersions(c.reference, c.candidate));
  }
}

}  // namespace
}  // namespace aloft::core
