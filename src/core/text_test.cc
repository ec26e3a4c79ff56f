#include "core/text.h"

#include <gtest/gtest.h>

namespace aloft::core {
namespace {

TEST(TrimOws, StripsSpacesAndTabsAtBothEndsOnly) {
  EXPECT_EQ(TrimOws(" \t a b \t "), "a b");
  EXPECT_EQ(TrimOws("ab"), "ab");
  EXPECT_EQ(TrimOws(" \t "), "");
  EXPECT_EQ(TrimOws(""), "");
  EXPECT_EQ(TrimOws("\r\nab\r\n"), "\r\nab\r\n");  // only spaces and tabs
}

TEST(ParseDecimal, DigitsThatFit64Bits) {
  EXPECT_EQ(ParseDecimal("0"), 0u);
  EXPECT_EQ(ParseDecimal("007"), 7u);
  EXPECT_EQ(ParseDecimal("18446744073709551615"), UINT64_MAX);
  EXPECT_EQ(ParseDecimal("18446744073709551616"), std::nullopt);  // one past
  EXPECT_EQ(ParseDecimal(""), std::nullopt);
  EXPECT_EQ(ParseDecimal("+1"), std::nullopt);
  EXPECT_EQ(ParseDecimal("-1"), std::nullopt);
  EXPECT_EQ(ParseDecimal(" 1"), std::nullopt);
  EXPECT_EQ(ParseDecimal("1a"), std::nullopt);
}

}  // namespace
}  // namespace aloft::core
