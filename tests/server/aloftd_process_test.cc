// The real aloftd process: `kill -9` during a burst of event reports loses no event that was
// answered 2xx (both backends; a seeded random kill point, printed, ALOFT_KILL_SEED replays
// it), and SIGTERM is graceful (a download in flight completes, buffered check-ins reach the
// database, the exit code is 0). The process is the built aloftd binary (ALOFTD_PATH).

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/aloftd_harness.h"

namespace aloft::testing {
namespace {

uint64_t KillSeed() {
  if (const char* text = std::getenv("ALOFT_KILL_SEED")) {
    return std::strtoull(text, nullptr, 10);
  }
  return std::random_device()();
}

// aloftd as a child process; its stdout is read until the "listening on port N" line.
class AloftdProcess {
 public:
  AloftdProcess(const std::filesystem::path& data_dir, const std::string& db) {
    int out[2];
    if (pipe(out) != 0) {
      ADD_FAILURE() << "pipe failed";
      return;
    }
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<std::string> args = {ALOFTD_PATH, "--data",      data_dir.string(),
                                       "--listen",  "127.0.0.1:0", "--log-level",
                                       "warn"};
      if (!db.empty()) {
        args.push_back("--db");
        args.push_back(db);
      }
      std::vector<char*> argv;
      for (std::string& arg : args) {
        argv.push_back(arg.data());
      }
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    out_ = out[0];
    std::string text;
    char buffer[256];
    while (text.find('\n') == std::string::npos) {
      pollfd fd{out_, POLLIN, 0};
      if (poll(&fd, 1, 20'000) <= 0) {
        ADD_FAILURE() << "aloftd did not start within 20 s";
        return;
      }
      const ssize_t n = read(out_, buffer, sizeof(buffer));
      if (n <= 0) {
        ADD_FAILURE() << "aloftd exited before listening";
        return;
      }
      text.append(buffer, static_cast<size_t>(n));
    }
    const size_t at = text.find("port ");
    port_ = at == std::string::npos ? 0 : std::atoi(text.c_str() + at + 5);
  }
  ~AloftdProcess() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) {
      close(out_);
    }
  }

  int port() const { return port_; }
  void Signal(int signal) { kill(pid_, signal); }
  // The exit status (waitpid's), after the process ends.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
  bool reaped_ = false;
};

class AloftdProcessTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      database_ = server::testing::MakeTestDatabase(Backend::kPostgres);
      ALOFT_SKIP_IF_NO_BACKEND(database_);
      db_ = database_->location();
    }
    server::InitOptions init;
    init.data_dir = dir_ / "data";
    Result<server::InitResult> created = server::InitDataDir(init);
    ASSERT_TRUE(created.ok());
    admin_token_ = created->admin_token;
    ca_pem_ = ReadText(dir_ / "data" / "ca.pem");
    // Check-ins are flushed only at shutdown (or after 10 minutes), so the SIGTERM test sees
    // the shutdown flush and nothing else.
    ASSERT_TRUE(server::WriteFileAtomically(dir_ / "data" / "aloftd.conf",
                                            R"({"checkin_flush_interval_ms": 600000})", 0644)
                    .ok());
  }

  std::string StoreLocation() const {
    return db_.empty() ? "sqlite:" + (dir_ / "data" / "aloft.db").string() : db_;
  }

  host::HttpsClient Client(int port, const std::string& token) const {
    host::HttpsClientOptions options;
    options.base_url = "https://127.0.0.1:" + std::to_string(port);
    options.ca_pem = ca_pem_;
    options.bearer_token = token;
    options.timeout = std::chrono::milliseconds(20'000);
    return host::HttpsClient::Create(options).value();
  }

  TempDir dir_;
  std::unique_ptr<server::testing::TestDatabase> database_;
  std::string db_;
  std::string admin_token_;
  std::string ca_pem_;
};

TEST_P(AloftdProcessTest, Sigkill_DuringEventBurst_LosesNoAcknowledgedEvent) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 2;
  const uint64_t seed = KillSeed();
  std::cout << "kill seed " << seed << " (ALOFT_KILL_SEED replays it)\n";
  std::mt19937_64 random(seed);

  std::vector<DeviceCredentials> devices;
  std::map<std::string, std::set<std::string>> acknowledged;  // device → event ids
  for (int round = 0; round < kRounds; ++round) {
    AloftdProcess process(dir_ / "data", db_);
    ASSERT_GT(process.port(), 0);
    if (round == 0) {
      host::HttpsClient admin = Client(process.port(), admin_token_);
      for (int t = 0; t < kThreads; ++t) {
        const std::string id = "burst-" + std::to_string(t);
        Result<host::HttpsReply> reply =
            admin.Send("POST", "/api/v1/devices",
                       R"({"id":")" + id + R"(","project":"thermo","chip":"esp32c3"})");
        ASSERT_TRUE(reply.ok());
        ASSERT_EQ(reply->status, 201) << reply->body;
        devices.push_back({id, std::string(ParseJson(reply->body).at("token").as_string()), ""});
      }
    }
    // Kill once this many events have been acknowledged in this round.
    const int kill_after = 20 + static_cast<int>(random() % 200);
    std::mutex mutex;
    std::condition_variable changed;
    int acked_this_round = 0;
    std::atomic<bool> killed{false};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        host::HttpsClient client = Client(process.port(), devices[t].token);
        for (int i = 0; !killed.load(); ++i) {
          const std::string base = "r" + std::to_string(round) + "-" + std::to_string(i);
          const std::string body = "{\"device_id\":\"" + devices[t].id + "\",\"events\":[" +
                                   "{\"id\":\"" + base + "a\",\"state\":\"downloading\"," +
                                   "\"version\":\"1.0.0\"},{\"id\":\"" + base +
                                   "b\",\"state\":\"verified\",\"version\":\"1.0.0\"}]}";
          Result<host::HttpsReply> reply = client.Send("POST", "/api/v1/events", body);
          if (!reply.ok() || reply->status != 200) {
            continue;  // the server is gone (or going): only answered events count
          }
          std::lock_guard lock(mutex);
          acknowledged[devices[t].id].insert(base + "a");
          acknowledged[devices[t].id].insert(base + "b");
          acked_this_round += 2;
          changed.notify_all();
        }
      });
    }
    {
      std::unique_lock lock(mutex);
      changed.wait(lock, [&] { return acked_this_round >= kill_after; });
    }
    process.Signal(SIGKILL);
    killed.store(true);
    for (std::thread& thread : threads) {
      thread.join();
    }
    process.Wait();
  }

  Result<std::unique_ptr<server::Store>> store = server::OpenStore(StoreLocation());
  ASSERT_TRUE(store.ok()) << DescribeStatus(store.status());
  size_t total = 0;
  for (const auto& [device, ids] : acknowledged) {
    const std::vector<server::Event> events =
        (*store)->ListDeviceEvents(device, server::kMaxPageSize).value();
    std::set<std::string> stored;
    for (const server::Event& event : events) {
      stored.insert(event.event_id);
    }
    for (const std::string& id : ids) {
      EXPECT_EQ(stored.count(id), 1u)
          << device << " lost acknowledged event " << id << " (seed " << seed << ")";
    }
    total += ids.size();
  }
  EXPECT_GE(total, 40u);
}

TEST_P(AloftdProcessTest, Sigterm_FinishesInFlightDownload_FlushesCheckins_ExitsZero) {
  AloftdProcess process(dir_ / "data", db_);
  ASSERT_GT(process.port(), 0);
  host::HttpsClient admin = Client(process.port(), admin_token_);
  // An artifact big enough to be in flight for many reads.
  std::string artifact(4 * 1024 * 1024, '\0');
  std::mt19937 bytes(7);
  for (char& c : artifact) {
    c = static_cast<char>(bytes());
  }
  const std::string sha = server::Sha256Hex(AsBytes(artifact));
  Result<host::HttpsReply> uploaded = admin.Send("PUT", "/api/v1/artifacts/" + sha, artifact);
  ASSERT_TRUE(uploaded.ok());
  ASSERT_EQ(uploaded->status, 201);
  Result<host::HttpsReply> registered = admin.Send(
      "POST", "/api/v1/devices", R"({"id":"term-1","project":"thermo","chip":"esp32c3"})");
  ASSERT_TRUE(registered.ok());
  const std::string token(ParseJson(registered->body).at("token").as_string());
  host::HttpsClient device = Client(process.port(), token);
  Result<host::HttpsReply> checkin = device.Send(
      "POST", "/api/v1/check", CheckinBody("term-1", "00112233445566778899aabbccddeeff", "1.2.3"));
  ASSERT_TRUE(checkin.ok());
  ASSERT_EQ(checkin->status, 200);

  // SIGTERM arrives while the download is in flight; the download still completes.
  std::string received;
  bool signalled = false;
  Result<host::HttpsReply> download =
      device.Download("/api/v1/artifacts/" + sha, 0, [&](ConstByteSpan chunk) {
        if (!signalled) {
          process.Signal(SIGTERM);
          signalled = true;
        }
        received.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
        return true;
      });
  ASSERT_TRUE(download.ok()) << DescribeStatus(download.status()) << " " << device.last_error();
  EXPECT_EQ(download->status, 200);
  EXPECT_EQ(received.size(), artifact.size());
  EXPECT_TRUE(received == artifact);

  const int status = process.Wait();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  // The check-in was only buffered (the flush interval is 10 minutes): the shutdown flush wrote
  // it.
  Result<std::unique_ptr<server::Store>> store = server::OpenStore(StoreLocation());
  ASSERT_TRUE(store.ok());
  const server::Device stored = (*store)->GetDevice("term-1").value();
  EXPECT_EQ(stored.current_version, "1.2.3");
  EXPECT_TRUE(stored.last_checkin_at_ms.has_value());
  // And nobody is listening any more.
  host::HttpsClient late = Client(process.port(), token);
  EXPECT_FALSE(late.Send("GET", "/healthz").ok());
}

INSTANTIATE_TEST_SUITE_P(Backends, AloftdProcessTest,
                         ::testing::Values(Backend::kSqlite, Backend::kPostgres), BackendParamName);

}  // namespace
}  // namespace aloft::testing
