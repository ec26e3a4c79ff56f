#pragma once
// End-to-end rig: a real aloftd (AloftdHarness: SQLite, TLS on 127.0.0.1) and real emulated
// ESP32s talking to it: each an EmulatedFlash with the tutorial partition table and a signed
// test image (emulator/test_image.h) in ota_0, Secure Boot v2 with the release key's digest,
// the real agent and boot logic (DeviceRuntime, virtual time), a libcurl transport pinning the
// server's CA (CurlTransport) and an ImageSelfTest that does what the running image's marker
// says. Nothing fake sits between device and server; a test may route a device through a
// FaultProxy or wrap its transport or flash in an observing or power-cutting decorator.
// Test-only: heap, gtest.

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/agent_harness.h"  // MemoryKeyValue, RunCyclesUntil, IsSettled
#include "core/hex.h"
#include "emulator/device_runtime.h"
#include "emulator/test_image.h"
#include "ports/host/curl_transport.h"
#include "ports/host/faulty_flash.h"
#include "ports/host/openssl_crypto.h"
#include "ports/host/release_document.h"
#include "ports/host/release_key.h"
#include "support/aloftd_harness.h"
#include "support/device_fixture.h"
#include "support/status_testing.h"

namespace aloft::testing {

inline constexpr const char* kE2eProject = "thermo";
inline constexpr const char* kE2eChip = "esp32c3";
inline constexpr uint16_t kE2eChipId = 5;

// The seed of a test's random choices: fixed, so runs are reproducible, unless
// --gtest_random_seed=N asks for another (tests print the seed they used).
inline uint32_t TestSeed(uint32_t salt) {
  const int32_t flag = GTEST_FLAG_GET(random_seed);
  return (flag != 0 ? static_cast<uint32_t>(flag) : 1u) + salt;
}

// A test image (its self-test marker included), signed with `key`, and its RELEASE.json.
inline SignedRelease MakeSignedTestRelease(
    const host::ReleaseKey& key, const std::string& version,
    emulator::SelfTestMode self_test = emulator::SelfTestMode::kPass,
    uint32_t size_bytes = 64 * 1024, uint32_t seed = 1) {
  host::OpensslCrypto crypto;
  emulator::TestImageSpec spec;
  spec.version = version;
  spec.project = kE2eProject;
  spec.chip_id = kE2eChipId;
  spec.size_bytes = size_bytes;
  spec.self_test = self_test;
  spec.fill_seed = seed;
  const std::vector<std::byte> app = emulator::MakeTestImage(crypto, spec).value();
  const host::ReleaseKey* keys[] = {&key};
  SignedRelease release;
  release.image = host::SignImage(app, keys, false).value();
  release.sha256 = server::Sha256Hex(release.image);
  release.version = version;
  release.project = kE2eProject;
  core::ReleaseManifest manifest;
  EXPECT_TRUE(manifest.project.Assign(kE2eProject));
  EXPECT_TRUE(manifest.version.Assign(version));
  manifest.chip_id = kE2eChipId;
  manifest.secure_version = 0;
  manifest.size_bytes = static_cast<uint32_t>(release.image.size());
  manifest.sha256 = server::Sha256Digest(release.image);
  release.json = host::MakeReleaseJson(manifest, keys).value();
  return release;
}

// A transport decorator that observes (and lets a test act between calls): every call goes to
// the real transport unchanged. `before_get` runs before each GET (e.g. to script the next
// connection's fault), `after_get` / `after_post` after each call with its outcome.
class ObservedTransport final : public port::Transport {
 public:
  explicit ObservedTransport(port::Transport& inner) : inner_(inner) {}

  Result<port::PostResult> Post(std::string_view path, std::string_view body, ByteSpan response,
                                std::span<port::HeaderCapture> headers,
                                uint32_t timeout_ms) override {
    Result<port::PostResult> result = inner_.Post(path, body, response, headers, timeout_ms);
    posts.push_back({std::string(path), result.status()});
    if (after_post) {
      return after_post(path, std::move(result));
    }
    return result;
  }
  Status Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink,
             uint32_t timeout_ms) override {
    if (before_get) {
      before_get(range_start);
    }
    const Status status = inner_.Get(path, range_start, sink, timeout_ms);
    gets.push_back({range_start, status});
    if (after_get) {
      after_get(status);
    }
    return status;
  }

  struct PostCall {
    std::string path;
    Status status;
  };
  struct GetCall {
    uint32_t range_start = 0;
    Status status;
  };
  std::vector<PostCall> posts;
  std::vector<GetCall> gets;
  std::function<void(uint32_t range_start)> before_get;
  std::function<void(const Status&)> after_get;
  // May replace the result the agent sees (e.g. a lost response).
  std::function<Result<port::PostResult>(std::string_view path, Result<port::PostResult>)>
      after_post;

 private:
  port::Transport& inner_;
};

// A power cut chosen by what the flash is asked to do: the first mutating op for which `when`
// is true is the cut op of the FaultyFlash underneath (cut before it, or torn during it, with
// the emulator's physics); after it every call fails with kAborted, as FaultyFlash does.
class PowerCutWhen final : public port::Flash {
 public:
  using Predicate = std::function<bool(bool is_write, uint32_t offset, uint32_t size)>;
  PowerCutWhen(host::FaultyFlash& faulty, Predicate when, bool torn, uint64_t seed = 0x5eed)
      : faulty_(faulty), when_(std::move(when)), torn_(torn), seed_(seed) {}

  Status Read(uint32_t offset, ByteSpan out) override { return faulty_.Read(offset, out); }
  Status Write(uint32_t offset, ConstByteSpan data) override {
    Arm(true, offset, static_cast<uint32_t>(data.size()));
    return faulty_.Write(offset, data);
  }
  Status Erase(uint32_t offset, uint32_t size) override {
    Arm(false, offset, size);
    return faulty_.Erase(offset, size);
  }
  uint32_t sector_size() const override { return faulty_.sector_size(); }
  uint32_t size() const override { return faulty_.size(); }

  bool fired() const { return fired_; }

 private:
  void Arm(bool is_write, uint32_t offset, uint32_t size) {
    if (fired_ || faulty_.power_lost() || !when_(is_write, offset, size)) {
      return;
    }
    fired_ = true;
    // Revive restarts the op count: the op about to be forwarded is op 1.
    faulty_.Revive(torn_ ? host::FaultPlan::CutDuring(1, seed_) : host::FaultPlan::CutBefore(1));
  }

  host::FaultyFlash& faulty_;
  Predicate when_;
  bool torn_;
  uint64_t seed_;
  bool fired_ = false;
};

struct E2eDeviceOptions {
  std::string initial_version = "1.0.0";
  uint32_t image_size = 64 * 1024;
  std::string base_url;  // empty: the server's own URL
  std::string ca_pem;    // empty: the server's CA
  uint64_t seed = 1;
};

// One emulated device registered with the server and running `initial_version`.
class E2eDevice {
 public:
  E2eDevice(AloftdHarness& server, const host::ReleaseKey& key, const std::string& id,
            const E2eDeviceOptions& options = {})
      : id_(id), system_(true, options.seed, NowMs()) {
    credentials_ = server.Register(id, kE2eProject, kE2eChip);
    EXPECT_TRUE(core::HexDecode(credentials_.secret_hex, secret_).ok());
    trusted_[0].digest = key.key_digest();
    policy_.keys = trusted_;
    policy_.scheme = key.scheme();
    device_config_.chip_id = kE2eChipId;
    device_config_.rollback_enabled = true;
    device_config_.trust = &policy_;
    EmulatedDevice device = MakeEmulatedDevice(crypto_, kTutorialCsv).value();
    flash_ = std::move(device.flash);
    layout_ = device.layout;
    initial_ = MakeSignedTestRelease(key, options.initial_version, emulator::SelfTestMode::kPass,
                                     options.image_size, 1);
    EXPECT_TRUE(WriteRegion(*flash_, kTutorialOta0, initial_.image).ok());

    host::CurlTransportOptions transport;
    transport.base_url = options.base_url.empty() ? server.url() : options.base_url;
    transport.ca_pem = options.ca_pem.empty() ? server.ca_pem() : options.ca_pem;
    transport.bearer_token = credentials_.token;
    transport.reuse_connection = false;  // a connection per request: faults hit one request
    curl_ = host::CurlTransport::Create(transport).value();
    observed_ = std::make_unique<ObservedTransport>(*curl_);

    config_.device_id = id_;
    config_.device_secret = secret_;
    config_.trust = &policy_;
    config_.schedule.check_interval_ms = 60'000;
    config_.schedule.check_jitter_ms = 1'000;
    config_.schedule.startup_jitter_ms = 1'000;
    config_.schedule.backoff_base_ms = 1'000;
    config_.schedule.backoff_cap_ms = 60'000;
    config_.checkin_timeout_ms = 10'000;
    config_.download_timeout_ms = 10'000;
    config_.report_timeout_ms = 10'000;
    config_.persist_every_bytes = 16 * 1024;
    self_test_ = std::make_unique<emulator::ImageSelfTest>(*flash_, layout_, system_);
  }

  static uint64_t NowMs() {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  }

  // Powers the device on (a reset: a new runtime, so only flash and KeyValue survive) over its
  // flash or `flash` (a decorator around it).
  void PowerOn(port::Flash* flash = nullptr) {
    port::Flash& f = flash != nullptr ? *flash : *flash_;
    self_test_ = std::make_unique<emulator::ImageSelfTest>(f, layout_, system_);
    runtime_ = std::make_unique<emulator::DeviceRuntime>(
        f, crypto_, layout_, device_config_, *observed_, kv_, system_, *self_test_, config_);
  }

  // Runs cycles, skipping virtual time between them, until `done` holds, the agent dies or
  // `max_cycles` pass. Returns the last cycle's result.
  Result<agent::StepResult> RunUntil(const std::function<bool()>& done, int max_cycles = 100) {
    if (!runtime_) {
      PowerOn();
    }
    return RunCyclesUntil(*runtime_, done, max_cycles);
  }

  // Idle, every report delivered, and the last check-in said "no update".
  bool Settled() const {
    return IsSettled(agent());
  }
  // Runs until Settled; fails the test if it does not get there.
  void Settle(int max_cycles = 100) {
    Result<agent::StepResult> result = RunUntil([&] { return Settled(); }, max_cycles);
    ASSERT_TRUE(result.ok()) << DescribeStatus(result.status());
    ASSERT_NE(*result, agent::StepResult::kDead) << DescribeStatus(agent()->last_error());
    ASSERT_TRUE(Settled()) << "phase " << agent::PhaseName(agent()->phase()) << ", last error "
                           << DescribeStatus(agent()->last_error());
  }

  const agent::Agent* agent() const { return runtime_ ? runtime_->agent() : nullptr; }
  std::string RunningVersion() const {
    return agent() == nullptr ? "" : std::string(agent()->running_version());
  }
  // Boots the flash as it is (the bootloader alone) and returns the version that runs.
  std::string BootedVersion() {
    std::array<std::byte, 4096> work{};
    Result<core::BootReport> report =
        core::BootDevice(*flash_, crypto_, layout_, device_config_, work, {});
    return report.ok() ? std::string(report->app_description.version.view()) : "<bricked>";
  }
  bool PassiveSlotErased() {
    const std::vector<std::byte> bytes = ReadRegion(*flash_, kTutorialOta1, 0x10000);
    return std::all_of(bytes.begin(), bytes.end(),
                       [](std::byte b) { return b == std::byte{0xFF}; });
  }

  const std::string& id() const { return id_; }
  host::EmulatedFlash& flash() { return *flash_; }
  host::CurlTransport& curl() { return *curl_; }
  ObservedTransport& transport() { return *observed_; }
  MemoryKeyValue& kv() { return kv_; }
  emulator::DeviceRuntime& runtime() { return *runtime_; }
  const core::DeviceLayout& layout() const { return layout_; }
  const SignedRelease& initial() const { return initial_; }

 private:
  std::string id_;
  DeviceCredentials credentials_;
  std::array<std::byte, 32> secret_{};
  std::array<core::TrustedKey, 1> trusted_{};
  core::TrustPolicy policy_;
  core::DeviceConfig device_config_;
  host::OpensslCrypto crypto_;
  std::unique_ptr<host::EmulatedFlash> flash_;
  core::DeviceLayout layout_;
  SignedRelease initial_;
  std::unique_ptr<host::CurlTransport> curl_;
  std::unique_ptr<ObservedTransport> observed_;
  MemoryKeyValue kv_;
  emulator::EmulatedSystem system_;
  std::unique_ptr<emulator::ImageSelfTest> self_test_;
  agent::AgentConfig config_;
  std::unique_ptr<emulator::DeviceRuntime> runtime_;
};

// The admin API of a running aloftd, at a fixed URL (it survives a server restart on the same
// port), flushing buffered check-ins before each read so the device's version is current.
class AdminView {
 public:
  AdminView(std::string url, std::string ca_pem, std::string token)
      : url_(std::move(url)), ca_pem_(std::move(ca_pem)), token_(std::move(token)) {}
  explicit AdminView(AloftdHarness& harness)
      : AdminView(harness.url(), harness.ca_pem(), harness.admin_token()) {
    server_ = &harness.server();
  }
  // The server process now answering (after a restart).
  void set_server(server::Aloftd* server) { server_ = server; }

  boost::json::value Get(const std::string& path) {
    if (server_ != nullptr) {
      EXPECT_TRUE(server_->context().checkins.Flush().ok());
    }
    host::HttpsClientOptions options;
    options.base_url = url_;
    options.ca_pem = ca_pem_;
    options.bearer_token = token_;
    host::HttpsClient client = host::HttpsClient::Create(options).value();
    Reply reply = AloftdHarness::Call(client, "GET", path);
    EXPECT_EQ(reply.status, 200) << path << ": " << reply.body;
    return reply.status == 200 ? reply.json() : boost::json::value();
  }
  // GET /api/v1/devices/{id}?events=50: the device with its events.
  boost::json::value Device(const std::string& id) {
    return Get("/api/v1/devices/" + id + "?events=50");
  }
  boost::json::value Rollout(int64_t id) { return Get("/api/v1/rollouts/" + std::to_string(id)); }

 private:
  std::string url_;
  std::string ca_pem_;
  std::string token_;
  server::Aloftd* server_ = nullptr;
};

// The states of a device's events as the server stored them, oldest first (the API lists the
// newest first).
inline std::vector<std::string> EventStates(const boost::json::value& device) {
  std::vector<std::string> states;
  if (!device.is_object() || !device.as_object().contains("events")) {
    return states;
  }
  const boost::json::array& events = device.at("events").as_array();
  for (auto it = events.rbegin(); it != events.rend(); ++it) {
    states.emplace_back(it->at("state").as_string());
  }
  return states;
}

// The newest event of `state`, or null.
inline const boost::json::object* LastEvent(const boost::json::value& device,
                                            const std::string& state) {
  if (!device.is_object() || !device.as_object().contains("events")) {
    return nullptr;
  }
  for (const auto& event : device.at("events").as_array()) {
    if (event.at("state").as_string() == state) {
      return &event.as_object();
    }
  }
  return nullptr;
}

}  // namespace aloft::testing
