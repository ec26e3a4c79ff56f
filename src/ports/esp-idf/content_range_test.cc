#include "ports/esp-idf/content_range.h"

#include <gtest/gtest.h>

#include <optional>
#include <string_view>

namespace aloft::espidf {
namespace {

struct Case {
  std::string_view value;
  std::optional<ContentRange> expected;
};

TEST(ParseContentRange, Table) {
  const Case cases[] = {
      {"bytes 0-99/100", ContentRange{0, 99, 100}},
      {"bytes 4096-131071/131072", ContentRange{4096, 131071, 131072}},
      {"  BYTES 5-5/6 ", ContentRange{5, 5, 6}},
      {"bytes 10-19/*", ContentRange{10, 19, 0}},
      {"bytes 0-4294967294/4294967295", ContentRange{0, 4294967294u, 4294967295u}},
      {"bytes 0-99/99", std::nullopt},                  // total must exceed the last byte
      {"bytes 20-10/100", std::nullopt},                // first after last
      {"bytes */100", std::nullopt},                    // the 416 form: no range
      {"bytes 0-99", std::nullopt},                     // no total
      {"bits 0-99/100", std::nullopt},                  // another unit
      {"bytes -5/100", std::nullopt},                   // no first byte
      {"bytes 0-4294967296/4294967297", std::nullopt},  // beyond 32 bits
      {"bytes 0x10-0x20/100", std::nullopt},
      {"bytes 1-2/3/4", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(c.value));
    const std::optional<ContentRange> got = ParseContentRange(c.value);
    ASSERT_EQ(got.has_value(), c.expected.has_value());
    if (got) {
      EXPECT_EQ(got->first, c.expected->first);
      EXPECT_EQ(got->last, c.expected->last);
      EXPECT_EQ(got->total, c.expected->total);
    }
  }
}

}  // namespace
}  // namespace aloft::espidf
