#include "server/checkin_buffer.h"

#include <algorithm>

#include "core/log.h"

namespace aloft::server {
namespace {

// Remembered offers; past this the set is emptied (a re-written mark is harmless: kKeep).
constexpr size_t kMaxRememberedOffers = 1'000'000;

}  // namespace

CheckinBuffer::CheckinBuffer(Store& store, CheckinBufferOptions options)
    : store_(store), options_(options) {}

CheckinBuffer::~CheckinBuffer() { (void)Stop(); }

void CheckinBuffer::Start() {
  std::lock_guard lock(mutex_);
  if (running_ || stopping_) {
    return;
  }
  running_ = true;
  thread_ = std::thread([this] { Run(); });
}

Status CheckinBuffer::Stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
  }
  return Flush();
}

void CheckinBuffer::Run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.flush_interval,
                   [this] { return stopping_ || checkins_.size() >= options_.flush_threshold; });
    if (stopping_) {
      break;
    }
    lock.unlock();
    const Status status = Flush();
    if (!status.ok()) {
      ALOFT_LOG_WARN("checkins: flush failed (%s), will retry", status.reason());
    }
    lock.lock();
  }
}

void CheckinBuffer::Add(DeviceCheckin checkin) {
  bool wake = false;
  {
    std::lock_guard lock(mutex_);
    auto it = checkins_.find(checkin.device_id);
    if (it != checkins_.end()) {
      it->second = std::move(checkin);
      return;
    }
    if (checkins_.size() >= options_.max_pending) {
      return;  // the store has been failing for a long time; the device will check in again
    }
    std::string id = checkin.device_id;
    checkins_.emplace(std::move(id), std::move(checkin));
    wake = checkins_.size() == options_.flush_threshold;
  }
  if (wake) {
    wake_.notify_one();
  }
}

void CheckinBuffer::AddOffer(int64_t rollout_id, const std::string& device_id, int64_t at_ms) {
  std::string key = std::to_string(rollout_id);
  key.push_back(':');
  key += device_id;
  std::lock_guard lock(mutex_);
  if (offered_.count(key) != 0) {
    return;
  }
  if (offered_.size() >= kMaxRememberedOffers) {
    offered_.clear();
  }
  offered_.insert(std::move(key));
  offers_.push_back(RolloutDevice{rollout_id, device_id, UpdateState::kOffered, "", at_ms});
}

size_t CheckinBuffer::pending() const {
  std::lock_guard lock(mutex_);
  return checkins_.size() + offers_.size();
}

Status CheckinBuffer::Flush() {
  std::lock_guard flush_lock(flush_mutex_);
  boost::unordered_flat_map<std::string, DeviceCheckin, boost::hash<std::string>> checkins;
  std::vector<RolloutDevice> offers;
  {
    std::lock_guard lock(mutex_);
    checkins.swap(checkins_);
    offers.swap(offers_);
    // The same devices will check in again: room for them now, not by rehashing as they come.
    checkins_.reserve(std::min(checkins.size(), options_.flush_threshold));
  }
  Status result = OkStatus();
  if (!checkins.empty()) {
    std::vector<DeviceCheckin> batch;
    batch.reserve(checkins.size());
    for (auto& [id, checkin] : checkins) {
      batch.push_back(checkin);
    }
    Result<size_t> written = store_.RecordCheckins(batch);
    if (!written.ok()) {
      result = written.status();
      // A transient failure: put them back for the next flush, unless a newer check-in of the
      // device came in. Anything else would fail again the same way: drop the batch.
      if (result.code() == Status::Code::kUnavailable) {
        std::lock_guard lock(mutex_);
        for (auto& [id, checkin] : checkins) {
          checkins_.try_emplace(id, std::move(checkin));
        }
      } else {
        ALOFT_LOG_ERROR("checkins: dropping a batch of %zu: %s", batch.size(), result.reason());
      }
    }
  }
  for (size_t i = 0; i < offers.size(); ++i) {
    const Status status = store_.UpsertRolloutDevice(offers[i], OnExisting::kKeep);
    if (status.ok() || status.code() == Status::Code::kNotFound) {
      continue;  // a rollout or device that is gone has nothing to mark
    }
    result = status;
    if (status.code() != Status::Code::kUnavailable) {
      continue;
    }
    std::lock_guard lock(mutex_);
    offers_.insert(offers_.end(), offers.begin() + static_cast<ptrdiff_t>(i), offers.end());
    break;
  }
  return result;
}

}  // namespace aloft::server
