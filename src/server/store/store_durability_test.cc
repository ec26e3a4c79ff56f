// Durability under SIGKILL, on both backends: a child process records events in a loop and
// writes the number of each event to a pipe only after RecordEvent returned OK (the moment a
// handler would answer 2xx); the parent SIGKILLs it at a random point, reopens the store and
// checks that every reported event is there. The seed is printed; ALOFT_DURABILITY_SEED=N
// replays it. The PostgreSQL cluster must run with fsync on (checked).

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include "server/store/store.h"
#include "server/store/store_test_backend.h"
#include "support/status_testing.h"

namespace aloft::server {
namespace {

using testing::Backend;

constexpr int kRounds = 3;

uint64_t DurabilitySeed() {
  if (const char* text = std::getenv("ALOFT_DURABILITY_SEED")) {
    return std::strtoull(text, nullptr, 10);
  }
  return std::random_device()();
}

// The child: records events e0, e1, ... for `device_id` until killed, reporting each committed
// number on `fd`. Never returns.
[[noreturn]] void RecordUntilKilled(const std::string& location, const std::string& device_id,
                                    int fd) {
  auto opened = OpenStore(location);
  if (!opened.ok()) {
    _exit(3);
  }
  std::unique_ptr<Store> store = std::move(opened).value();
  for (int64_t i = 0;; ++i) {
    Event event;
    event.device_id = device_id;
    event.event_id = "e" + std::to_string(i);
    event.state = UpdateState::kDownloading;
    event.progress_bytes = i;  // the number again, as an integer the check can range over
    event.received_at_ms = 1'700'000'000'000 + i;
    auto outcome = store->RecordEvent(event);
    if (!outcome.ok() || *outcome != EventInsert::kNew) {
      _exit(4);
    }
    // Reported only after the commit returned: what a client would have been told.
    if (write(fd, &i, sizeof(i)) != static_cast<ssize_t>(sizeof(i))) {
      _exit(5);
    }
  }
}

class StoreDurabilityTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    database_ = testing::MakeTestDatabase(GetParam());
    ALOFT_SKIP_IF_NO_BACKEND(database_);
  }
  std::unique_ptr<testing::TestDatabase> database_;
};

TEST_P(StoreDurabilityTest, Sigkill_DuringEventBurst_EveryReportedEventSurvives) {
  if (GetParam() == Backend::kPostgres) {
    ASSERT_EQ(
        database_->QueryInt("SELECT CASE WHEN current_setting('fsync') = 'on' AND"
                            " current_setting('synchronous_commit') = 'on' THEN 1 ELSE 0 END"),
        1)
        << "the durability test needs a cluster with fsync and synchronous_commit on";
  }
  const uint64_t seed = DurabilitySeed();
  std::cout << "durability seed: " << seed << " (ALOFT_DURABILITY_SEED=" << seed << " to replay)\n";
  RecordProperty("seed", std::to_string(seed));
  std::mt19937_64 random(seed);

  {
    auto store = database_->Open();
    ASSERT_TRUE(store.ok());
    for (int round = 0; round < kRounds; ++round) {
      Device device;
      device.id = "dev-" + std::to_string(round);
      device.token_hash = std::string(63, 'a') + static_cast<char>('0' + round);
      device.project = "p";
      device.chip = "esp32";
      ASSERT_TRUE((*store)->RegisterDevice(device).ok());
    }
  }  // closed before forking: the child opens its own connections

  for (int round = 0; round < kRounds; ++round) {
    const std::string device_id = "dev-" + std::to_string(round);
    const int64_t kill_after = std::uniform_int_distribution<int64_t>(20, 300)(random);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      close(fds[0]);
      RecordUntilKilled(database_->location(), device_id, fds[1]);
    }
    close(fds[1]);
    // Read reports until the chosen count, kill the child mid-burst, then drain what it had
    // reported before it died.
    std::vector<int64_t> reported;
    int64_t number = 0;
    bool killed = false;
    while (read(fds[0], &number, sizeof(number)) == static_cast<ssize_t>(sizeof(number))) {
      reported.push_back(number);
      if (!killed && static_cast<int64_t>(reported.size()) == kill_after) {
        kill(child, SIGKILL);
        killed = true;
      }
    }
    close(fds[0]);
    if (!killed) {
      kill(child, SIGKILL);
    }
    int wait_status = 0;
    ASSERT_EQ(waitpid(child, &wait_status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL)
        << "the child stopped by itself (exit " << WEXITSTATUS(wait_status) << ") in round "
        << round << " after " << reported.size() << " events";
    ASSERT_GE(static_cast<int64_t>(reported.size()), kill_after);
    const auto n = static_cast<int64_t>(reported.size());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_EQ(reported[static_cast<size_t>(i)], i);
    }

    // Reopen (recovery runs here: SQLite replays its WAL, PostgreSQL already has it) and check.
    auto reopened = database_->Open();
    ASSERT_TRUE(reopened.ok()) << aloft::testing::DescribeStatus(reopened.status());
    const std::string where = " FROM events WHERE device_id = '" + device_id + "'";
    EXPECT_EQ(database_->QueryInt("SELECT COUNT(*)" + where + " AND progress_bytes < " +
                                  std::to_string(n)),
              n)
        << "round " << round << ": a reported event is missing";
    // At most one more: committed, killed before it could be reported.
    int64_t total = database_->QueryInt("SELECT COUNT(*)" + where);
    EXPECT_GE(total, n);
    EXPECT_LE(total, n + 1);
    auto device = (*reopened)->GetDevice(device_id);
    ASSERT_TRUE(device.ok());
    EXPECT_EQ(device->last_event_state, UpdateState::kDownloading);
    std::cout << "round " << round << ": killed after " << kill_after << " reports; " << n
              << " reported, " << total << " stored\n";
  }
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreDurabilityTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres),
                         testing::BackendName);

}  // namespace
}  // namespace aloft::server
