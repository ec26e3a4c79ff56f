#include "server/store/records.h"

#include <algorithm>
#include <utility>

namespace aloft::server {
namespace {

constexpr std::array<std::string_view, 4> kRolloutStateNames = {"active", "paused", "halted",
                                                                "completed"};
constexpr std::array<std::string_view, kUpdateStateCount> kUpdateStateNames = {
    "offered",   "downloading", "downloaded", "verified",
    "rebooting", "confirmed",   "failed",     "rolled_back"};

bool IsIdChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

bool AllOf(std::string_view text, size_t max_bytes, bool (*allowed)(char)) {
  return !text.empty() && text.size() <= max_bytes &&
         std::all_of(text.begin(), text.end(), allowed);
}

}  // namespace

std::string_view RolloutStateName(RolloutState state) {
  return kRolloutStateNames[static_cast<size_t>(state)];
}

std::optional<RolloutState> ParseRolloutState(std::string_view name) {
  for (size_t i = 0; i < kRolloutStateNames.size(); ++i) {
    if (kRolloutStateNames[i] == name) {
      return static_cast<RolloutState>(i);
    }
  }
  return std::nullopt;
}

std::string_view UpdateStateName(UpdateState state) {
  return kUpdateStateNames[static_cast<size_t>(state)];
}

std::optional<UpdateState> ParseUpdateState(std::string_view name) {
  for (size_t i = 0; i < kUpdateStateNames.size(); ++i) {
    if (kUpdateStateNames[i] == name) {
      return static_cast<UpdateState>(i);
    }
  }
  return std::nullopt;
}

bool IsValidDeviceId(std::string_view id) { return AllOf(id, kMaxIdBytes, IsIdChar); }

bool IsValidEventId(std::string_view id) { return AllOf(id, kMaxIdBytes, IsIdChar); }

bool IsValidTag(std::string_view tag) {
  return AllOf(tag, kMaxIdBytes,
               [](char c) { return IsIdChar(c) || c == ':' || c == '=' || c == '/'; });
}

bool IsValidSha256Hex(std::string_view hex) {
  return hex.size() == 64 && std::all_of(hex.begin(), hex.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

int64_t RolloutCounts::total() const {
  int64_t sum = 0;
  for (int64_t count : by_state) {
    sum += count;
  }
  return sum;
}

std::vector<std::string> CanonicalTags(std::vector<std::string> tags) {
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

}  // namespace aloft::server
