#pragma once
// Comparing Status values in tests. Status's operator== compares reason pointers, and the same
// string literal may live at different addresses in different translation units, so tests
// compare code, reason text and context instead, and print all three on failure.
//
//   EXPECT_STATUS(ParseX(bytes).status(), DataLoss("x: crc mismatch", 3));

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "core/status.h"

namespace aloft::testing {

inline std::string DescribeStatus(const Status& status) {
  std::string text = std::string(CodeName(status.code())) + " \"" + status.reason() + "\"";
  if (status.has_context()) {
    text += " (context " + std::to_string(status.context()) + ")";
  }
  return text;
}

inline bool SameStatus(const Status& a, const Status& b) {
  return a.code() == b.code() && std::strcmp(a.reason(), b.reason()) == 0 &&
         a.has_context() == b.has_context() && a.context() == b.context();
}

inline ::testing::AssertionResult StatusEq(const Status& actual, const Status& expected) {
  if (SameStatus(actual, expected)) {
    return ::testing::AssertionSuccess();
  }
  return ::testing::AssertionFailure()
         << "status is " << DescribeStatus(actual) << ", expected " << DescribeStatus(expected);
}

}  // namespace aloft::testing

#define EXPECT_STATUS(actual, expected) \
  EXPECT_TRUE(::aloft::testing::StatusEq((actual), (expected)))
#define ASSERT_STATUS(actual, expected) \
  ASSERT_TRUE(::aloft::testing::StatusEq((actual), (expected)))
