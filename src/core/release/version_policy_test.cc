#include "core/release/version_policy.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "support/status_testing.h"

namespace aloft::core {
namespace {

ReleaseManifest Release(std::string_view version, uint32_t secure_version,
                        std::string_view min_running = "") {
  ReleaseManifest m;
  EXPECT_TRUE(m.project.Assign("thermostat"));
  m.chip_id = 5;  // esp32c3
  EXPECT_TRUE(m.version.Assign(version));
  m.secure_version = secure_version;
  m.size_bytes = 0x40000;
  EXPECT_TRUE(m.min_running_version.Assign(min_running));
  return m;
}

DeviceFacts Device(std::string_view running, uint32_t floor = 2) {
  DeviceFacts d;
  d.chip_id = 5;
  d.project = "thermostat";
  d.running_version = running;
  d.secure_version_floor = floor;
  d.slot_size_bytes = 0x100000;
  return d;
}

const Status kOk = OkStatus();
const Status kSame = PermissionDenied("update: release version equals the running version");
const Status kOlder = PermissionDenied("update: release version is older than the running version");
const Status kUnordered =
    PermissionDenied("update: release or running version is not a semantic version");
const Status kFloor =
    PermissionDenied("update: secure_version is below the anti-rollback floor", 1);
const Status kBelowMin = PermissionDenied("update: running version is below min_running_version");
const Status kMinUnordered =
    PermissionDenied("update: running version has no order to check min_running_version");

constexpr UpdateOptions kStrict{};
constexpr UpdateOptions kDowngrade{.allow_downgrade = true};
constexpr UpdateOptions kUnorderedOk{.allow_unordered = true};
constexpr UpdateOptions kBoth{.allow_downgrade = true, .allow_unordered = true};

TEST(EvaluateUpdate, VersionAndRollbackTable) {
  struct Case {
    std::string_view running;
    std::string_view release;
    uint32_t secure_version;  // the device floor is 2
    std::string_view min_running;
    UpdateOptions options;
    Status expected;
  };
  const Case kCases[] = {
      // Newer semver: accepted.
      {"1.0.0", "1.0.1", 2, "", kStrict, kOk},
      {"1.0.0", "v2.0.0", 3, "", kStrict, kOk},
      {"1.0.0-rc.1", "1.0.0", 2, "", kStrict, kOk},
      {"1.0.0", "1.0.1-beta", 2, "", kStrict, kOk},
      // Same: refused unless the downgrade/reinstall flow allows it.
      {"1.0.0", "1.0.0", 2, "", kStrict, kSame},
      {"1.0.0", "v1.0.0+rebuild", 2, "", kStrict, kSame},
      {"1.0.0", "1.0.0", 2, "", kDowngrade, kOk},
      // Older: refused unless allowed.
      {"1.2.0", "1.1.9", 2, "", kStrict, kOlder},
      {"1.0.0", "1.0.0-rc.1", 2, "", kStrict, kOlder},
      {"1.2.0", "1.1.9", 2, "", kDowngrade, kOk},
      {"1.2.0", "1.1.9", 2, "", kUnorderedOk, kOlder},
      // Anti-rollback floor: never overridable.
      {"1.0.0", "2.0.0", 1, "", kStrict, kFloor},
      {"1.2.0", "1.1.0", 1, "", kBoth, kFloor},
      {"1.0.0", "2.0.0", 2, "", kStrict, kOk},  // equal to the floor is fine
      // Unordered versions (git describe output): need the explicit flag.
      {"6970792-dirty", "1.0.0", 2, "", kStrict, kUnordered},
      {"1.0.0", "6970792-dirty", 2, "", kStrict, kUnordered},
      {"6970792-dirty", "7a1b2c3", 2, "", kStrict, kUnordered},
      {"6970792-dirty", "1.0.0", 2, "", kUnorderedOk, kOk},
      {"6970792-dirty", "1.0.0", 2, "", kDowngrade, kUnordered},
      {"6970792-dirty", "6970792-dirty", 2, "", kStrict, kSame},
      {"6970792-dirty", "6970792-dirty", 2, "", kUnorderedOk, kSame},
      // Minimum running version.
      {"1.0.0", "2.0.0", 2, "1.5.0", kStrict, kBelowMin},
      {"1.5.0", "2.0.0", 2, "1.5.0", kStrict, kOk},
      {"1.6.0", "2.0.0", 2, "v1.5.0", kStrict, kOk},
      {"1.5.0-rc.1", "2.0.0", 2, "1.5.0", kStrict, kBelowMin},
      {"1.0.0", "2.0.0", 2, "1.5.0", kBoth, kBelowMin},  // no option lowers it
      {"6970792-dirty", "2.0.0", 2, "1.5.0", kStrict, kMinUnordered},
      {"6970792-dirty", "2.0.0", 2, "1.5.0", kUnorderedOk, kOk},
  };
  for (const Case& c : kCases) {
    SCOPED_TRACE(std::string(c.running) + " -> " + std::string(c.release) + " sv " +
                 std::to_string(c.secure_version) + " min '" + std::string(c.min_running) +
                 "' downgrade " + std::to_string(c.options.allow_downgrade) + " unordered " +
                 std::to_string(c.options.allow_unordered));
    const Status got = EvaluateUpdate(
        Device(c.running), Release(c.release, c.secure_version, c.min_running), c.options);
    EXPECT_STATUS(got, c.expected);
  }
}

TEST(EvaluateUpdate, WrongChipProjectOrTooBig_RefusedWhateverTheOptions) {
  for (const UpdateOptions& options : {kStrict, kBoth}) {
    ReleaseManifest other_chip = Release("2.0.0", 2);
    other_chip.chip_id = 9;
    EXPECT_STATUS(EvaluateUpdate(Device("1.0.0"), other_chip, options),
                  PermissionDenied("update: release is for another chip", 9));
    ReleaseManifest other_project = Release("2.0.0", 2);
    ASSERT_TRUE(other_project.project.Assign("doorbell"));
    EXPECT_STATUS(EvaluateUpdate(Device("1.0.0"), other_project, options),
                  PermissionDenied("update: release is for another project"));
    ReleaseManifest too_big = Release("2.0.0", 2);
    too_big.size_bytes = 0x101000;
    EXPECT_STATUS(EvaluateUpdate(Device("1.0.0"), too_big, options),
                  OutOfRange("update: release does not fit the update slot", 0x101000));
    too_big.size_bytes = 0x100000;  // exactly the slot
    EXPECT_STATUS(EvaluateUpdate(Device("1.0.0"), too_big, options), kOk);
  }
}

TEST(CheckDownloadAgainstManifest, SizeAndHash) {
  ReleaseManifest m = Release("2.0.0", 2);
  m.sha256.fill(std::byte{0xAB});
  std::array<std::byte, 32> sha;
  sha.fill(std::byte{0xAB});
  EXPECT_STATUS(CheckDownloadAgainstManifest(m, 0x40000, sha), kOk);
  EXPECT_STATUS(CheckDownloadAgainstManifest(m, 0x40001, sha),
                OutOfRange("update: image is larger than its manifest says", 0x40000));
  EXPECT_STATUS(CheckDownloadAgainstManifest(m, uint64_t{1} << 40, sha),
                OutOfRange("update: image is larger than its manifest says", 0x40000));
  EXPECT_STATUS(CheckDownloadAgainstManifest(m, 0x3FFFF, sha),
                DataLoss("update: image is shorter than its manifest says", 0x3FFFF));
  sha[31] = std::byte{0xAC};
  EXPECT_STATUS(CheckDownloadAgainstManifest(m, 0x40000, sha),
                Unauthenticated("update: image sha256 differs from the manifest"));
  EXPECT_STATUS(CheckDownloadAgainstManifest(m, 0x40000, ConstByteSpan(sha).first(16)),
                Unauthenticated("update: image sha256 differs from the manifest"));
}

TEST(CheckImageMatchesManifest, EachFieldChecked) {
  const ReleaseManifest m = Release("2.0.0", 3);
  const ImageFacts good{5, "thermostat", "2.0.0", 3};
  EXPECT_STATUS(CheckImageMatchesManifest(m, good), kOk);
  ImageFacts f = good;
  f.chip_id = 0;
  EXPECT_STATUS(CheckImageMatchesManifest(m, f),
                PermissionDenied("update: image chip differs from the manifest", 0));
  f = good;
  f.project = "doorbell";
  EXPECT_STATUS(CheckImageMatchesManifest(m, f),
                PermissionDenied("update: image project differs from the manifest"));
  f = good;
  f.version = "2.0.1";
  EXPECT_STATUS(CheckImageMatchesManifest(m, f),
                PermissionDenied("update: image version differs from the manifest"));
  f = good;
  f.secure_version = 2;
  EXPECT_STATUS(CheckImageMatchesManifest(m, f),
                PermissionDenied("update: image secure_version differs from the manifest", 2));
}

}  // namespace
}  // namespace aloft::core
