#include "server/rollout_cache.h"

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

}  // namespace aloft::server
