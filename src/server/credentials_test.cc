#include "server/credentials.h"

#include <gtest/gtest.h>

#include <set>

namespace aloft::server {
namespace {

TEST(GenerateToken, Tokens_AreBase64UrlOf32BytesAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    const Result<std::string> token = GenerateToken();
    ASSERT_TRUE(token.ok());
    EXPECT_EQ(token->size(), 43u);  // 256 bits in 6-bit characters, no padding
    EXPECT_TRUE(IsWellFormedToken(*token)) << *token;
    seen.insert(*token);
  }
  EXPECT_EQ(seen.size(), 100u);
}

TEST(IsWellFormedToken, Table) {
  EXPECT_TRUE(IsWellFormedToken(std::string(32, 'a')));
  EXPECT_TRUE(IsWellFormedToken(std::string(128, '-')));
  EXPECT_FALSE(IsWellFormedToken(std::string(31, 'a')));
  EXPECT_FALSE(IsWellFormedToken(std::string(129, 'a')));
  EXPECT_FALSE(IsWellFormedToken(std::string(40, 'a') + "+"));
  EXPECT_FALSE(IsWellFormedToken(std::string(40, 'a') + "="));
  EXPECT_FALSE(IsWellFormedToken(""));
}

TEST(TokenHash, IsSha256Hex) {
  EXPECT_EQ(TokenHash("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(HexDecode, Table) {
  EXPECT_EQ(HexDecode("00ff7A"), std::optional<std::string>(std::string("\x00\xff\x7a", 3)));
  EXPECT_EQ(HexDecode(""), std::optional<std::string>(""));
  EXPECT_EQ(HexDecode("abc"), std::nullopt);
  EXPECT_EQ(HexDecode("zz"), std::nullopt);
  EXPECT_EQ(HexEncode(AsBytes(std::string_view("\x01\xab", 2))), "01ab");
}

TEST(DeriveDeviceSecret, MatchesTheProtocolFormula) {
  MasterKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = std::byte(i);
  }
  // Python: hmac.new(bytes(range(32)), b'aloft-device-secret-v1\0c3-0001', sha256)
  EXPECT_EQ(HexEncode(DeriveDeviceSecret(key, "c3-0001")),
            "6bdb19538c597e089bcb8e5438b966c179a97a964a45bdfd80083d0046ba21a5");
  EXPECT_NE(DeriveDeviceSecret(key, "c3-0002"), DeriveDeviceSecret(key, "c3-0001"));
}

TEST(ParseBearerToken, Table) {
  struct Case {
    const char* field;
    std::optional<std::string_view> token;
  };
  const Case cases[] = {
      {"Bearer abc", "abc"},       {"bearer abc", "abc"},        {"BEARER   abc  ", "abc"},
      {"Bearer", std::nullopt},    {"Bearer ", std::nullopt},    {"Basic abc", std::nullopt},
      {"Bearerabc", std::nullopt}, {"Bearer a b", std::nullopt}, {"", std::nullopt},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(ParseBearerToken(c.field), c.token) << c.field;
  }
}

}  // namespace
}  // namespace aloft::server
