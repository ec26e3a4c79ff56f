#include "server/rollout_cache.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace aloft::server {

std::string CompactJson(std::string_view json) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(json, ec);
  if (ec) {
    return std::string(json);
  }
  return boost::json::serialize(value);
}

std::vector<int64_t> RolloutSet::FailedRollouts(std::string_view device_id) const {
  std::vector<int64_t> failed;
  for (size_t i = 0; i < rollouts.size() && i < failed_devices.size(); ++i) {
    if (std::binary_search(failed_devices[i].begin(), failed_devices[i].end(), device_id)) {
      failed.push_back(rollouts[i].rollout.id);
    }
  }
  return failed;
}

RolloutCache::RolloutCache(Store& store, RolloutCacheOptions options)
    : store_(store), options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = [] { return std::chrono::steady_clock::now(); };
  }
}

Result<std::shared_ptr<const RolloutSet>> RolloutCache::Get(std::string_view project,
                                                            std::string_view chip) {
  std::string key;
  key.reserve(project.size() + chip.size() + 1);
  key.append(project).push_back('\0');
  key.append(chip);
  const auto now = options_.clock();
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(key);
    if (it != entries_.end() && it->second.expires > now) {
      return it->second.set;
    }
    generation = generation_;
  }
  // Loaded without the lock, so one slow query does not stall every other check-in.
  Result<std::vector<ActiveRollout>> loaded = store_.ListActiveRollouts(project, chip);
  if (!loaded.ok()) {
    return loaded.status();
  }
  auto set = std::make_shared<RolloutSet>();
  set->rollouts = std::move(loaded).value();
  for (const ActiveRollout& active : set->rollouts) {
    set->release_json.push_back(CompactJson(active.release.manifest_json));
    Result<std::vector<std::string>> failed = store_.ListFailedRolloutDevices(active.rollout.id);
    if (!failed.ok()) {
      return failed.status();
    }
    set->failed_devices.push_back(std::move(failed).value());
  }
  std::shared_ptr<const RolloutSet> shared = std::move(set);
  std::lock_guard lock(mutex_);
  // An Invalidate since the load began may have changed what the store holds: answer this
  // caller with what it read, but do not keep it.
  if (generation == generation_) {
    if (entries_.size() >= options_.max_entries) {
      entries_.clear();
    }
    entries_[key] = Entry{shared, now + options_.ttl};
  }
  return shared;
}

void RolloutCache::Invalidate() {
  std::lock_guard lock(mutex_);
  ++generation_;
  entries_.clear();
}

void RolloutCache::RecordFailure(int64_t rollout_id, std::string_view device_id) {
  std::lock_guard lock(mutex_);
  // A load under way may have read the failed devices before this failure committed.
  ++generation_;
  for (auto& [key, entry] : entries_) {
    const RolloutSet& cached = *entry.set;
    for (size_t i = 0; i < cached.rollouts.size(); ++i) {
      if (cached.rollouts[i].rollout.id != rollout_id) {
        continue;
      }
      const std::vector<std::string>& failed = cached.failed_devices[i];
      const auto at = std::lower_bound(failed.begin(), failed.end(), device_id);
      if (at != failed.end() && *at == device_id) {
        break;
      }
      // Readers may hold the old snapshot: copy, insert in order, swap the entry's pointer.
      const ptrdiff_t position = at - failed.begin();
      auto updated = std::make_shared<RolloutSet>(cached);
      std::vector<std::string>& list = updated->failed_devices[i];
      list.insert(list.begin() + position, std::string(device_id));
      entry.set = std::move(updated);
      break;
    }
  }
}

}  // namespace aloft::server
