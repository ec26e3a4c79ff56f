#include "core/base64.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "core/hex.h"
#include "support/status_testing.h"

namespace aloft::core {
namespace {

std::string Decode(std::string_view text) {
  std::array<std::byte, 64> out{};
  Result<size_t> size = Base64Decode(text, out);
  EXPECT_TRUE(size.ok()) << ::aloft::testing::DescribeStatus(size.status());
  if (!size.ok()) {
    return "<error>";
  }
  return std::string(reinterpret_cast<const char*>(out.data()), *size);
}

TEST(Base64Decode, Rfc4648Vectors_Decode) {
  const std::pair<std::string_view, std::string_view> cases[] = {
      {"", ""},
      {"Zg==", "f"},
      {"Zm8=", "fo"},
      {"Zm9v", "foo"},
      {"Zm9vYg==", "foob"},
      {"Zm9vYmE=", "fooba"},
      {"Zm9vYmFy", "foobar"},
      {"+/+/", "\xfb\xff\xbf"},
  };
  for (const auto& [text, plain] : cases) {
    EXPECT_EQ(Decode(text), plain) << text;
    EXPECT_EQ(Base64DecodedSize(text), plain.size()) << text;
  }
}

TEST(Base64Decode, MalformedText_IsRefusedNamingTheFault) {
  std::array<std::byte, 16> out{};
  const std::pair<std::string_view, Status> cases[] = {
      {"Zg=", InvalidArgument("base64: length is not a multiple of 4")},
      {"Z$==", InvalidArgument("base64: invalid character", 1)},
      {"Zm9 ", InvalidArgument("base64: invalid character", 3)},
      {"Zg==Zg==", InvalidArgument("base64: misplaced padding", 2)},
      {"Z=g=", InvalidArgument("base64: misplaced padding", 1)},
      {"Zg=a", InvalidArgument("base64: misplaced padding", 2)},
      {"====", InvalidArgument("base64: misplaced padding", 0)},
      {"Zh==", InvalidArgument("base64: non-zero unused bits")},
      {"Zm9=", InvalidArgument("base64: non-zero unused bits")},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_STATUS(Base64Decode(text, out).status(), expected) << text;
  }
}

TEST(Base64Decode, SmallBuffer_SaysHowMuchIsNeeded) {
  std::array<std::byte, 5> out{};
  EXPECT_STATUS(Base64Decode("Zm9vYmFy", out).status(),
                ResourceExhausted("base64: output buffer too small", 6));
}

TEST(Base64Decode, InPlace_DecodesOverItsOwnText) {
  std::string text = "Zm9vYmFyYmF6cXV4";  // "foobarbazqux"
  std::span<std::byte> out(reinterpret_cast<std::byte*>(text.data()), text.size());
  Result<size_t> size = Base64Decode(text, out);
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(text.substr(0, *size), "foobarbazqux");
}

TEST(Hex, EncodeDecode_RoundTripAndRefuseBadDigits) {
  const std::array<std::byte, 3> bytes{std::byte{0x00}, std::byte{0xAB}, std::byte{0x7f}};
  std::array<char, 6> text{};
  HexEncode(bytes, text);
  EXPECT_EQ(std::string_view(text.data(), text.size()), "00ab7f");
  std::array<std::byte, 3> back{};
  ASSERT_TRUE(HexDecode("00AB7f", back).ok());
  EXPECT_EQ(back, bytes);
  EXPECT_STATUS(HexDecode("00ab7", back), InvalidArgument("hex: wrong length"));
  EXPECT_STATUS(HexDecode("00ag7f", back), InvalidArgument("hex: invalid digit", 3));
  EXPECT_STATUS(HexDecode("x0ab7f", back), InvalidArgument("hex: invalid digit", 0));
}

}  // namespace
}  // namespace aloft::core
