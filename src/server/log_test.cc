#include "server/log.h"

#include <gtest/gtest.h>

namespace aloft::server {
namespace {

TEST(FormatLogRecord, Json_IsOneObjectWithTypedFields) {
  EXPECT_EQ(FormatLogRecord(LogFormat::kJson, LogLevel::kInfo, "rollout_halted",
                            {{"rollout", int64_t{3}},
                             {"reason", "a \"quoted\"\nline"},
                             {"halted", true},
                             {"rate", 0.25}}),
            R"({"level":"info","event":"rollout_halted","rollout":3,)"
            R"("reason":"a \"quoted\"\u000aline","halted":true,"rate":0.25})");
}

TEST(FormatLogRecord, Text_IsKeyValue_QuotingOnlyWhatNeedsIt) {
  EXPECT_EQ(FormatLogRecord(LogFormat::kText, LogLevel::kWarn, "request",
                            {{"path", "/api/v1/check"}, {"status", 200}, {"note", "two words"}}),
            R"(level=warn event=request path=/api/v1/check status=200 note="two words")");
}

TEST(ParseLogLevel, Table) {
  EXPECT_EQ(*ParseLogLevel("warning"), LogLevel::kWarn);
  EXPECT_EQ(*ParseLogLevel("debug"), LogLevel::kDebug);
  EXPECT_FALSE(ParseLogLevel("loud").ok());
  EXPECT_EQ(*ParseLogFormat("json"), LogFormat::kJson);
  EXPECT_FALSE(ParseLogFormat("xml").ok());
}

}  // namespace
}  // namespace aloft::server
