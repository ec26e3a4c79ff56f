#include "core/status.h"

#include <gtest/gtest.h>

#include "core/result.h"
#include "core/try.h"

namespace aloft {
namespace {

TEST(Status, Default_IsOk) {
  Status status;
  EXPECT_TRUE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kOk);
  EXPECT_STREQ(status.reason(), "ok");
  EXPECT_FALSE(status.has_context());
}

TEST(Status, Error_CarriesCodeReasonAndContext) {
  Status status = DataLoss("otadata: sector 1 crc mismatch", 1);
  EXPECT_FALSE(status.ok());
  EXPECT_EQ(status.code(), Status::Code::kDataLoss);
  EXPECT_STREQ(status.reason(), "otadata: sector 1 crc mismatch");
  EXPECT_TRUE(status.has_context());
  EXPECT_EQ(status.context(), 1u);
  EXPECT_STREQ(CodeName(status.code()), "data_loss");
}

TEST(Status, WithContext_KeepsCodeAndReason) {
  Status status = InvalidArgument("csv: size field is empty").WithContext(7);
  EXPECT_EQ(status.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(status.context(), 7u);
  EXPECT_TRUE(OkStatus().WithContext(3).ok());
}

Result<int> Half(int value) {
  if (value % 2 != 0) {
    return InvalidArgument("half: odd value", static_cast<uint32_t>(value));
  }
  return value / 2;
}

Result<int> Quarter(int value) {
  ALOFT_TRY_ASSIGN(int half, Half(value));
  ALOFT_TRY_ASSIGN(int quarter, Half(half));
  return quarter;
}

Status CheckEven(int value) {
  ALOFT_TRY(Half(value));
  return OkStatus();
}

TEST(Result, TryAssign_PropagatesFirstError) {
  EXPECT_EQ(Quarter(8).value(), 2);
  Result<int> odd = Quarter(6);
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().context(), 3u);
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), Status::Code::kInvalidArgument);
}

TEST(ResultDeathTest, ValueOfError_Crashes) {
  Result<int> error = Half(1);
  EXPECT_DEATH((void)error.value(), "internal check failed");
}

}  // namespace
}  // namespace aloft
