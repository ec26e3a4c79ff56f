#include "ports/esp-idf/config_text.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "support/status_testing.h"

namespace aloft::espidf {
namespace {

constexpr std::string_view kDigest0 =
    "3d2cb6b92fa6f7586827b7a5f35907fac48affeb5b3601a4683b97e9d5229f70";  // test_rsa3072_key0
constexpr std::string_view kDigest1 =
    "6FBE5B60DB1595325C262A1C7F2D611F5B4B6DC0E43FBE5F6796658EB0ACD5C5";  // key1, upper case

TEST(ParseTrustedKeyDigests, EmptySlotsSkipped_KeysInOrder) {
  const std::string_view texts[] = {"", kDigest1, " ", kDigest0};
  std::array<core::TrustedKey, 3> keys{};
  const Result<size_t> count = ParseTrustedKeyDigests(texts, keys);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 2u);
  EXPECT_EQ(keys[0].digest[0], std::byte{0x6f});
  EXPECT_EQ(keys[0].digest[31], std::byte{0xc5});
  EXPECT_EQ(keys[1].digest[0], std::byte{0x3d});
  EXPECT_EQ(keys[1].digest[31], std::byte{0x70});
  EXPECT_FALSE(keys[0].revoked);
}

TEST(ParseTrustedKeyDigests, BadOrMissing_NamedErrors) {
  std::array<core::TrustedKey, 3> keys{};
  const std::string none[] = {"", "", ""};
  const std::string_view none_views[] = {none[0], none[1], none[2]};
  EXPECT_STATUS(ParseTrustedKeyDigests(none_views, keys).status(),
                InvalidArgument("settings: no trusted key digest"));
  const std::string short_digest(kDigest0.substr(0, 62));
  const std::string_view short_texts[] = {kDigest0, short_digest};
  EXPECT_STATUS(ParseTrustedKeyDigests(short_texts, keys).status(),
                InvalidArgument("settings: trusted key digest is not 64 hex digits", 1));
  std::string not_hex(kDigest0);
  not_hex[10] = 'g';
  const std::string_view bad_texts[] = {not_hex};
  EXPECT_STATUS(ParseTrustedKeyDigests(bad_texts, keys).status(),
                InvalidArgument("settings: trusted key digest is not 64 hex digits", 0));
  const std::string_view four[] = {kDigest0, kDigest1, kDigest0, kDigest1};
  EXPECT_STATUS(ParseTrustedKeyDigests(four, keys).status(),
                OutOfRange("settings: more trusted key digests than slots", 3));
}

TEST(SplitTags, Table) {
  std::array<std::string_view, 8> tags{};
  Result<size_t> count = SplitTags(" lab, floor-2,,beta ,", tags);
  ASSERT_TRUE(count.ok());
  ASSERT_EQ(*count, 3u);
  EXPECT_EQ(tags[0], "lab");
  EXPECT_EQ(tags[1], "floor-2");
  EXPECT_EQ(tags[2], "beta");
  count = SplitTags("", tags);
  ASSERT_TRUE(count.ok());
  EXPECT_EQ(*count, 0u);
  EXPECT_STATUS(SplitTags("a,b,c,d,e,f,g,h,i", tags).status(),
                OutOfRange("settings: too many device tags", 8));
  const std::string long_tag = "x," + std::string(65, 't');
  EXPECT_STATUS(SplitTags(long_tag, tags).status(),
                InvalidArgument("settings: device tag longer than 64 bytes", 1));
}

TEST(FormatMacDeviceId, PrefixAndLowerCaseHex) {
  const std::array<uint8_t, 6> mac = {0xA0, 0xB1, 0xC2, 0x03, 0xE4, 0xF5};
  std::array<char, 65> out{};
  const Result<size_t> size = FormatMacDeviceId("esp-", mac, out);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(std::string_view(out.data(), *size), "esp-a0b1c203e4f5");
  EXPECT_EQ(out[*size], '\0');
  const std::string long_prefix(53, 'p');
  EXPECT_STATUS(FormatMacDeviceId(long_prefix, mac, out).status(),
                InvalidArgument("settings: device id longer than 64 bytes", 65));
}

TEST(CopyDeviceId, PrintableOneTo64Bytes) {
  std::array<char, 65> out{};
  const Result<size_t> size = CopyDeviceId("c3-0001", out);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(std::string_view(out.data()), "c3-0001");
  const Status bad = InvalidArgument("settings: device id is not 1..64 printable bytes");
  EXPECT_STATUS(CopyDeviceId("", out).status(), bad);
  EXPECT_STATUS(CopyDeviceId("has space", out).status(), bad);
  EXPECT_STATUS(CopyDeviceId(std::string(65, 'd'), out).status(), bad);
}

}  // namespace
}  // namespace aloft::espidf
