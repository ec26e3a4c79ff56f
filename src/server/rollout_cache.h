#pragma once
// RolloutCache: the active rollouts (with their releases) of each (project, chip), kept in
// memory so a check-in does not query the database. An entry lives for a short TTL; admin
// writes on this server (a new rollout, pause, resume, percent, a halt) call Invalidate, and
// other servers against the same PostgreSQL pick the change up when their entries expire, so
// several instances converge within the TTL. Alongside each release it keeps the published
// RELEASE.json compacted to one line, ready to splice into a check-in answer.
//
// Thread-safe. Readers share immutable snapshots (shared_ptr), so a check-in never holds a
// lock while it decides. A load that races with Invalidate is answered but not cached.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/result.h"
#include "server/authenticator.h"
#include "server/store/store.h"

namespace aloft::server {

// The active rollouts of one (project, chip), oldest first, and each release's RELEASE.json as
// one compact line (release_json[i] belongs to rollouts[i]).
struct RolloutSet {
  std::vector<ActiveRollout> rollouts;
  std::vector<std::string> release_json;
};

struct RolloutCacheOptions {
  std::chrono::milliseconds ttl{2'000};
  size_t max_entries = 10'000;  // distinct (project, chip) pairs; emptied when past this
  SteadyClock clock;            // default: std::chrono::steady_clock::now
};

class RolloutCache {
 public:
  explicit RolloutCache(Store& store, RolloutCacheOptions options = {});

  // The rollouts for (project, chip), from memory or, when absent or expired, from the store.
  // Store errors are returned as is (the caller answers 503).
  Result<std::shared_ptr<const RolloutSet>> Get(std::string_view project, std::string_view chip);

  // Forgets everything; the next Get of each pair reads the store.
  void Invalidate();

 private:
  struct Entry {
    std::shared_ptr<const RolloutSet> set;
    std::chrono::steady_clock::time_point expires;
  };

  Store& store_;
  RolloutCacheOptions options_;
  std::mutex mutex_;
  uint64_t generation_ = 0;                         // bumped by Invalidate
  std::unordered_map<std::string, Entry> entries_;  // key: project + '\0' + chip
};

// RELEASE.json text compacted to one line (the same object); the text itself if it is not JSON.
std::string CompactJson(std::string_view json);

}  // namespace aloft::server
