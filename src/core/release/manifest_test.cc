#include "core/release/manifest.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "support/allocation_counter.h"
#include "support/status_testing.h"
#include "support/vectors.h"

namespace aloft::core {
namespace {

// The canonical form, exactly as docs/manifest.md shows it.
constexpr std::string_view kCanonical =
    "aloft-release-manifest-v1\n"
    "project=aloft_vec_c3\n"
    "chip=esp32c3\n"
    "chip_id=5\n"
    "version=2.3.4-rc1\n"
    "secure_version=2\n"
    "size=135168\n"
    "sha256=0de843cf37e243611f5fe4c28f94b16a840aa8495bec9def9376e9effe3e224d\n"
    "min_running_version=\n";

ReleaseManifest Example() {
  ReleaseManifest m;
  EXPECT_TRUE(m.project.Assign("aloft_vec_c3"));
  m.chip_id = 5;
  EXPECT_TRUE(m.version.Assign("2.3.4-rc1"));
  m.secure_version = 2;
  m.size_bytes = 135168;
  constexpr uint8_t kSha[] = {0x0d, 0xe8, 0x43, 0xcf, 0x37, 0xe2, 0x43, 0x61, 0x1f, 0x5f, 0xe4,
                              0xc2, 0x8f, 0x94, 0xb1, 0x6a, 0x84, 0x0a, 0xa8, 0x49, 0x5b, 0xec,
                              0x9d, 0xef, 0x93, 0x76, 0xe9, 0xef, 0xfe, 0x3e, 0x22, 0x4d};
  for (size_t i = 0; i < 32; ++i) {
    m.sha256[i] = std::byte{kSha[i]};
  }
  return m;
}

std::string Serialize(const ReleaseManifest& m) {
  std::array<std::byte, kMaxManifestSize> out;
  const Result<size_t> size = SerializeManifest(m, out);
  EXPECT_TRUE(size.ok()) << size.status().reason();
  return size.ok() ? std::string(reinterpret_cast<const char*>(out.data()), *size) : "";
}

TEST(SerializeManifest, Example_ExactCanonicalBytes) {
  testing::AllocationGuard guard;
  std::array<std::byte, kMaxManifestSize> out;
  const Result<size_t> size = SerializeManifest(Example(), out);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(out.data()), *size), kCanonical);
}

TEST(ParseManifest, Example_Fields) {
  testing::AllocationGuard guard;
  const Result<ReleaseManifest> m = ParseManifest(AsBytes(kCanonical));
  ASSERT_TRUE(m.ok()) << m.status().reason();
  EXPECT_EQ(m->project.view(), "aloft_vec_c3");
  EXPECT_EQ(m->chip_id, 5);
  EXPECT_EQ(m->version.view(), "2.3.4-rc1");
  EXPECT_EQ(m->secure_version, 2u);
  EXPECT_EQ(m->size_bytes, 135168u);
  EXPECT_EQ(m->sha256, Example().sha256);
  EXPECT_TRUE(m->min_running_version.empty());
  EXPECT_EQ(*m, Example());
}

TEST(Manifest, RoundTrips_ParseOfSerializeAndBack) {
  ReleaseManifest m = Example();
  ASSERT_TRUE(m.min_running_version.Assign("v1.2.0"));
  m.chip_id = 0x20;  // esp32s31: the longest chip name
  m.secure_version = UINT32_MAX;
  m.size_bytes = 0xFFFFF000;
  ASSERT_TRUE(m.project.Assign(std::string(32, 'p')));
  ASSERT_TRUE(m.version.Assign("v3.0.0-beta.2+build.7.abcdefghij"));
  ASSERT_TRUE(m.min_running_version.Assign("1.0.0-alpha.1+build.0123456789ab"));
  const std::string bytes = Serialize(m);
  // The longest known chip id has 2 digits; kMaxManifestSize allows 5.
  EXPECT_EQ(bytes.size(), kMaxManifestSize - 3);
  const Result<ReleaseManifest> parsed = ParseManifest(AsBytes(bytes));
  ASSERT_TRUE(parsed.ok()) << parsed.status().reason();
  EXPECT_EQ(*parsed, m);
  EXPECT_EQ(Serialize(*parsed), bytes);
}

// Changing any one byte of a canonical manifest either fails to parse, or parses to a manifest
// whose canonical bytes are the changed bytes (so the signature, over the bytes, still catches
// it). There is no second spelling of the same manifest.
TEST(ParseManifest, EveryByteChanged_RefusedOrADifferentManifest) {
  const std::string original(kCanonical);
  const Result<ReleaseManifest> base = ParseManifest(AsBytes(original));
  ASSERT_TRUE(base.ok());
  size_t refused = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    for (int value : {0x00, 0x0A, 0x0D, 0x20, 0x30, 0x3D, 0x41, 0x61, 0x7F, 0xFF}) {
      std::string changed = original;
      if (changed[i] == static_cast<char>(value)) {
        continue;
      }
      changed[i] = static_cast<char>(value);
      const Result<ReleaseManifest> m = ParseManifest(AsBytes(changed));
      if (!m.ok()) {
        ++refused;
        continue;
      }
      EXPECT_NE(*m, *base) << "byte " << i << " = " << value;
      EXPECT_EQ(Serialize(*m), changed) << "byte " << i << " = " << value;
    }
  }
  EXPECT_GT(refused, original.size() * 8);
}

TEST(ParseManifest, Malformed_NamedErrors) {
  const std::string base(kCanonical);
  auto replace = [&](std::string_view from, std::string_view to) {
    std::string text = base;
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  struct Case {
    std::string text;
    Status expected;
  };
  const Case cases[] = {
      {"", InvalidArgument("manifest: missing header line", 0)},
      {replace("-v1\n", "-v2\n"), InvalidArgument("manifest: missing header line", 0)},
      {replace("project=", "Project="), InvalidArgument("manifest: expected field project", 26)},
      {replace("project=", "project ="), InvalidArgument("manifest: expected field project", 26)},
      {replace("aloft_vec_c3", ""),
       InvalidArgument("manifest: project is not 1..32 printable ASCII bytes", 34)},
      {replace("aloft_vec_c3", "aloft vec"),
       InvalidArgument("manifest: project is not 1..32 printable ASCII bytes", 34)},
      {replace("aloft_vec_c3", std::string(33, 'x')),
       InvalidArgument("manifest: project is not 1..32 printable ASCII bytes", 34)},
      {replace("chip=esp32c3\n", "chip=esp32c3\r\n"),
       InvalidArgument("manifest: chip does not match chip_id", 52)},
      {replace("chip=esp32c3", "chip=esp32"),
       InvalidArgument("manifest: chip does not match chip_id", 52)},
      {replace("chip_id=5", "chip_id=05"),
       InvalidArgument("manifest: number is not canonical decimal", 68)},
      {replace("chip_id=5", "chip_id=+5"),
       InvalidArgument("manifest: number is not canonical decimal", 68)},
      {replace("chip_id=5", "chip_id=65541"), InvalidArgument("manifest: number too large", 68)},
      {replace("chip_id=5", "chip_id=3"),
       InvalidArgument("manifest: chip does not match chip_id", 52)},
      {replace("version=2.3.4-rc1\n", "\n"),
       InvalidArgument("manifest: expected field version", 70)},
      {replace("secure_version=2", "secure_version=4294967296"),
       InvalidArgument("manifest: number too large", 103)},
      {replace("secure_version=2", "secure_version="),
       InvalidArgument("manifest: number is not canonical decimal", 103)},
      {replace("size=135168", "size=135169"),
       InvalidArgument("manifest: size is not a signed image size", 110)},
      {replace("size=135168", "size=4096"),
       InvalidArgument("manifest: size is not a signed image size", 110)},
      {replace("sha256=0de8", "sha256=0DE8"),
       InvalidArgument("manifest: sha256 is not 64 lower-case hex digits", 125)},
      {replace("e224d\n", "e224\n"),
       InvalidArgument("manifest: sha256 is not 64 lower-case hex digits", 124)},
      {replace("min_running_version=\n", "min_running_version=1.0\n"),
       InvalidArgument("manifest: min_running_version is not a semantic version", 209)},
      {replace("min_running_version=\n", "min_running_version=\n\n"),
       InvalidArgument("manifest: trailing bytes after the last field", 210)},
      {replace("min_running_version=\n", "min_running_version="),
       InvalidArgument("manifest: last line does not end with a newline", 189)},
      {replace("min_running_version=\n", ""),
       InvalidArgument("manifest: expected field min_running_version", 189)},
      // Fields out of order.
      {replace("chip=esp32c3\nchip_id=5\n", "chip_id=5\nchip=esp32c3\n"),
       InvalidArgument("manifest: expected field chip", 47)},
      // A duplicated field is a field out of place.
      {replace("version=2.3.4-rc1\n", "version=2.3.4-rc1\nversion=9.9.9\n"),
       InvalidArgument("manifest: expected field secure_version", 88)},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.text);
    EXPECT_STATUS(ParseManifest(AsBytes(c.text)).status(), c.expected);
  }
  const std::string too_long = base + std::string(kMaxManifestSize, 'x');
  EXPECT_STATUS(ParseManifest(AsBytes(too_long)).status(),
                OutOfRange("manifest: too long", static_cast<uint32_t>(too_long.size())));
}

TEST(SerializeManifest, InvalidFields_Refused) {
  std::array<std::byte, kMaxManifestSize> out;
  ReleaseManifest m = Example();
  m.chip_id = 1;
  EXPECT_STATUS(SerializeManifest(m, out).status(),
                InvalidArgument("manifest: chip_id is not a known chip", 1));
  m = Example();
  ASSERT_TRUE(m.project.Assign("has space"));
  EXPECT_STATUS(SerializeManifest(m, out).status(),
                InvalidArgument("manifest: project is not 1..32 printable ASCII bytes"));
  m = Example();
  ASSERT_TRUE(m.version.Assign(""));
  EXPECT_STATUS(SerializeManifest(m, out).status(),
                InvalidArgument("manifest: version is not 1..32 printable ASCII bytes"));
  m = Example();
  m.size_bytes = 4096;
  EXPECT_STATUS(SerializeManifest(m, out).status(),
                InvalidArgument("manifest: size is not a signed image size", 0));
  m = Example();
  ASSERT_TRUE(m.min_running_version.Assign("6970792-dirty"));
  EXPECT_STATUS(SerializeManifest(m, out).status(),
                InvalidArgument("manifest: min_running_version is not a semantic version", 0));
  EXPECT_STATUS(SerializeManifest(Example(), ByteSpan(out).first(100)).status(),
                OutOfRange("manifest: output buffer too small", 100));
}

TEST(ParseManifest, VectorFiles_ParseAndReserializeByteForByte) {
  const std::string example =
      testing::ReadText(testing::VectorPath("release-manifest/example.manifest"));
  EXPECT_EQ(example, kCanonical);
  for (const char* name :
       {"release-manifest/example.manifest", "release-manifest/longest.manifest"}) {
    const std::string text = testing::ReadText(testing::VectorPath(name));
    const Result<ReleaseManifest> m = ParseManifest(AsBytes(text));
    ASSERT_TRUE(m.ok()) << name << ": " << m.status().reason();
    EXPECT_EQ(Serialize(*m), text) << name;
  }
}

TEST(BoundedText, LongerThanCapacity_Unchanged) {
  BoundedText<4> text;
  EXPECT_TRUE(text.Assign("abcd"));
  EXPECT_FALSE(text.Assign("abcde"));
  EXPECT_EQ(text.view(), "abcd");
}

}  // namespace
}  // namespace aloft::core
