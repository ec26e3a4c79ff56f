#include "server/store/records.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "server/store/internal/sql_store.h"

namespace aloft::server {
namespace {

using ::testing::ElementsAre;

TEST(RolloutStateName, EveryState_RoundTripsThroughParse) {
  const RolloutState states[] = {RolloutState::kActive, RolloutState::kPaused,
                                 RolloutState::kHalted, RolloutState::kCompleted};
  const char* names[] = {"active", "paused", "halted", "completed"};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(RolloutStateName(states[i]), names[i]);
    EXPECT_EQ(ParseRolloutState(names[i]), states[i]);
  }
  EXPECT_FALSE(ParseRolloutState("Active").has_value());
  EXPECT_FALSE(ParseRolloutState("").has_value());
}

TEST(UpdateStateName, EveryState_RoundTripsThroughParse) {
  const char* names[] = {"offered",   "downloading", "downloaded", "verified",
                         "rebooting", "confirmed",   "failed",     "rolled_back"};
  for (size_t i = 0; i < kUpdateStateCount; ++i) {
    auto state = static_cast<UpdateState>(i);
    EXPECT_EQ(UpdateStateName(state), names[i]);
    EXPECT_EQ(ParseUpdateState(names[i]), state);
  }
  EXPECT_FALSE(ParseUpdateState("rolled-back").has_value());
}

TEST(IsValidDeviceId, Table) {
  struct Case {
    std::string id;
    bool valid;
  };
  const Case cases[] = {
      {"a", true},
      {"esp32-AB_01.x", true},
      {std::string(64, 'z'), true},
      {"", false},
      {std::string(65, 'z'), false},
      {"a b", false},
      {"a/b", false},
      {"a,b", false},
      {"é", false},
      {std::string("a\0b", 3), false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(IsValidDeviceId(c.id), c.valid) << c.id;
    EXPECT_EQ(IsValidEventId(c.id), c.valid) << c.id;
  }
}

TEST(IsValidTag, AllowsKeyValueAndPathCharactersButNoComma) {
  EXPECT_TRUE(IsValidTag("zone=eu-west/1:a"));
  EXPECT_TRUE(IsValidTag("beta"));
  EXPECT_FALSE(IsValidTag("a,b"));
  EXPECT_FALSE(IsValidTag(""));
  EXPECT_FALSE(IsValidTag("a b"));
  EXPECT_FALSE(IsValidTag(std::string(65, 't')));
}

TEST(IsValidSha256Hex, LowercaseSixtyFourDigitsOnly) {
  EXPECT_TRUE(IsValidSha256Hex(std::string(64, 'a')));
  EXPECT_TRUE(IsValidSha256Hex(std::string(32, '0') + std::string(32, 'f')));
  EXPECT_FALSE(IsValidSha256Hex(std::string(64, 'A')));
  EXPECT_FALSE(IsValidSha256Hex(std::string(63, 'a')));
  EXPECT_FALSE(IsValidSha256Hex(std::string(65, 'a')));
  EXPECT_FALSE(IsValidSha256Hex(std::string(64, 'g')));
}

TEST(RolloutCounts, OfAndTotal) {
  RolloutCounts counts;
  counts.by_state[static_cast<size_t>(UpdateState::kConfirmed)] = 7;
  counts.by_state[static_cast<size_t>(UpdateState::kFailed)] = 2;
  EXPECT_EQ(counts.of(UpdateState::kConfirmed), 7);
  EXPECT_EQ(counts.of(UpdateState::kOffered), 0);
  EXPECT_EQ(counts.total(), 9);
}

TEST(CanonicalTags, SortsAndRemovesDuplicates) {
  EXPECT_THAT(CanonicalTags({"b", "a", "b", "c", "a"}), ElementsAre("a", "b", "c"));
  EXPECT_TRUE(CanonicalTags({}).empty());
}

TEST(EncodeTags, StoredFormWrapsEveryTagInCommas) {
  EXPECT_EQ(internal::EncodeTags({}), "");
  EXPECT_EQ(internal::EncodeTags({"a"}), ",a,");
  EXPECT_EQ(internal::EncodeTags({"a", "zone=b"}), ",a,zone=b,");
}

TEST(DecodeTags, InvertsEncodeAndIgnoresEmptyPieces) {
  EXPECT_TRUE(internal::DecodeTags("").empty());
  EXPECT_THAT(internal::DecodeTags(",a,zone=b,"), ElementsAre("a", "zone=b"));
  EXPECT_THAT(internal::DecodeTags("a,,b"), ElementsAre("a", "b"));
}

}  // namespace
}  // namespace aloft::server
