#pragma once
// CheckinBuffer: the last-check-in updates (version, secure_version, tags, time) and the
// "offered" marks of check-ins, held in memory and written to the store in batches by a
// background thread (Store::RecordCheckins: one transaction per batch), instead of one write
// per check-in. A device that checks in twice before a flush is written once, with its latest
// state. An "offered" mark is written once per (rollout, device) while this process remembers
// it (OnExisting::kKeep, so it never overwrites a device's real progress).
//
// What a crash costs: the check-ins since the last flush (at most `flush_interval`). They are
// telemetry that every device repeats at its next check-in; events, which must not be lost,
// are never buffered. Stop (and the destructor) flushes what is pending.
//
// Thread-safe: Add and AddOffer from any thread; Flush from any thread (flushes serialize).

#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>
#include <boost/unordered/unordered_flat_set.hpp>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/status.h"
#include "server/store/store.h"

namespace aloft::server {

struct CheckinBufferOptions {
  std::chrono::milliseconds flush_interval{1'000};
  // A batch is flushed early once this many devices are pending: a burst of distinct devices
  // (about 10 MB at 50,000). Not lower: under steady load each device would then be written
  // several times per interval instead of once.
  size_t flush_threshold = 50'000;
  // Past this many pending devices (the store has been failing), new check-ins are dropped.
  size_t max_pending = 1'000'000;
};

class CheckinBuffer {
 public:
  explicit CheckinBuffer(Store& store, CheckinBufferOptions options = {});
  CheckinBuffer(const CheckinBuffer&) = delete;
  CheckinBuffer& operator=(const CheckinBuffer&) = delete;
  // Stop().
  ~CheckinBuffer();

  // Starts the background thread that flushes every flush_interval (or at the threshold).
  void Start();
  // Stops the thread, then flushes what is pending. Idempotent.
  Status Stop();

  // Queues a check-in (replacing an earlier pending one of the same device).
  void Add(DeviceCheckin checkin);
  // Queues an "offered" mark, unless this (rollout, device) was marked already.
  void AddOffer(int64_t rollout_id, const std::string& device_id, int64_t at_ms);

  // Writes everything pending now. On kUnavailable the check-ins stay pending (unless newer
  // ones arrived meanwhile) and the next flush retries; other errors drop the batch (it would
  // fail again). Either way the error is returned.
  Status Flush();

  size_t pending() const;

 private:
  void Run();

  Store& store_;
  CheckinBufferOptions options_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  bool running_ = false;
  bool stopping_ = false;
  std::thread thread_;
  // Open addressing: every check-in of the fleet lands here, and a node per device cost a
  // cache miss more per check-in.
  boost::unordered_flat_map<std::string, DeviceCheckin, boost::hash<std::string>> checkins_;
  std::vector<RolloutDevice> offers_;
  // rollout id + ':' + device id, already written
  boost::unordered_flat_set<std::string, boost::hash<std::string>> offered_;
  std::mutex flush_mutex_;  // one flush at a time
};

}  // namespace aloft::server
