#pragma once
// RolloutCache: the active rollouts (with their releases) of each (project, chip), kept in
// memory so a check-in does not query the database. An entry lives for a short TTL; admin
// writes on this server (a new rollout, pause, resume, percent, a halt) call Invalidate, and
// other servers against the same PostgreSQL pick the change up when their entries expire, so
// several instances converge within the TTL. Alongside each release it keeps the published
// RELEASE.json compacted to one line, ready to splice into a check-in answer, and with each
// rollout the devices that failed it (Store::ListFailedRolloutDevices), which are not offered
// it again; a failure reported to this server is added at once (RecordFailure).
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

// The active rollouts of one (project, chip), oldest first, each release's RELEASE.json as one
// compact line and each rollout's failed devices (release_json[i] and failed_devices[i] belong
// to rollouts[i]; failed_devices[i] is sorted, unique).
struct RolloutSet {
  std::vector<ActiveRollout> rollouts;
  std::vector<std::string> release_json;
  std::vector<std::vector<std::string>> failed_devices;

  // The ids of the rollouts the device failed (CheckinFacts::failed_rollouts), in set order.
  std::vector<int64_t> FailedRollouts(std::string_view device_id) const;
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

  // The device's latest state in the rollout is now failed or rolled_back (its event has
  // committed): cached sets holding the rollout list the device from now on, so its next
  // check-in here is not offered the rollout again. A load already under way is not cached.
  void RecordFailure(int64_t rollout_id, std::string_view device_id);

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
