#pragma once
// Test doubles for the device agent, in-process: a fake update server that speaks device
// protocol v1 with real freshness MACs and real signed releases (made with ports/host's release
// keys and the app-image builder), a Transport that calls it directly and can drop, corrupt or
// overfeed downloads, a KeyValue in memory that can lose power at a chosen write, a scripted
// self-test, and a Rig that puts them around an emulated ESP32 (tutorial partition table) and a
// DeviceRuntime. Test-only: heap, std::string, Boost.JSON, gtest.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/protocol.h"
#include "core/hex.h"
#include "core/release/freshness.h"
#include "core/release/manifest.h"
#include "emulator/device_runtime.h"
#include "ports/host/faulty_flash.h"
#include "ports/host/openssl_crypto.h"
#include "ports/host/release_document.h"
#include "ports/host/release_key.h"
#include "support/device_fixture.h"

namespace aloft::testing {

inline std::array<std::byte, 32> Sha256Of(port::Crypto& crypto, ConstByteSpan bytes) {
  std::array<std::byte, 32> digest{};
  Hash hash(crypto, port::HashAlgorithm::kSha256);
  EXPECT_TRUE(hash.Begin().ok());
  EXPECT_TRUE(hash.Update(bytes).ok());
  EXPECT_TRUE(hash.Finish(digest).ok());
  return digest;
}

inline std::string HexOf(ConstByteSpan bytes) {
  std::string text(2 * bytes.size(), '0');
  core::HexEncode(bytes, text);
  return text;
}

// ---- KeyValue in memory, with power cuts ----

class MemoryKeyValue final : public port::KeyValue {
 public:
  Result<size_t> Get(std::string_view key, ByteSpan out) override {
    if (!powered()) {
      return Aborted("key value: power lost");
    }
    auto it = records_.find(std::string(key));
    if (it == records_.end()) {
      return NotFound("key value: no such record");
    }
    if (it->second.size() > out.size()) {
      return ResourceExhausted("key value: record larger than the buffer",
                               static_cast<uint32_t>(it->second.size()));
    }
    std::copy(it->second.begin(), it->second.end(), out.begin());
    return it->second.size();
  }
  Status Set(std::string_view key, ConstByteSpan value) override {
    if (!powered()) {
      return Aborted("key value: power lost");
    }
    ++sets_;
    if (cut_at_set_ != 0 && sets_ == cut_at_set_) {
      // Atomic per record: the cut write either landed whole or not at all.
      if (cut_lands_) {
        records_[std::string(key)].assign(value.begin(), value.end());
      }
      cut_ = true;
      return Aborted("key value: power lost");
    }
    if (fail_sets_ > 0) {
      --fail_sets_;
      return Unavailable("key value: injected failure");
    }
    records_[std::string(key)].assign(value.begin(), value.end());
    return OkStatus();
  }
  Status Erase(std::string_view key) override {
    if (!powered()) {
      return Aborted("key value: power lost");
    }
    records_.erase(std::string(key));
    return OkStatus();
  }

  // Power is lost at the n-th Set from now (1-based); `lands` says whether that write made it.
  void CutAtSet(uint64_t n, bool lands) {
    cut_at_set_ = sets_ + n;
    cut_lands_ = lands;
  }
  void FailNextSets(uint32_t n) { fail_sets_ = n; }
  // Power back (the reboot); no cut armed.
  void Revive() {
    cut_ = false;
    cut_at_set_ = 0;
  }
  // The flash's power, when the device shares one supply with a FaultyFlash.
  void set_flash(const host::FaultyFlash* flash) { flash_ = flash; }
  bool power_lost() const { return cut_; }
  uint64_t sets() const { return sets_; }
  bool has(const std::string& key) const { return records_.count(key) != 0; }

 private:
  bool powered() const { return !cut_ && (flash_ == nullptr || !flash_->power_lost()); }

  std::map<std::string, std::vector<std::byte>> records_;
  uint64_t sets_ = 0;
  uint64_t cut_at_set_ = 0;
  bool cut_lands_ = false;
  bool cut_ = false;
  uint32_t fail_sets_ = 0;
  const host::FaultyFlash* flash_ = nullptr;
};

// ---- a release and the server ----

struct TestRelease {
  std::string version;
  std::vector<std::byte> image;  // signed: image, padding, signature sector
  std::string json;              // RELEASE.json
  core::ReleaseManifest manifest;
  int64_t release_id = 1;
  int64_t rollout_id = 1;
};

// A signed app image built from a recipe, and its RELEASE.json signed by `key`.
inline TestRelease MakeTestRelease(port::Crypto& crypto, const host::ReleaseKey& key,
                                   const std::string& version, uint32_t payload = 20000,
                                   uint32_t seed = 1, uint32_t secure_version = 0,
                                   const std::string& min_running = "") {
  TestRelease release;
  release.version = version;
  core::AppImageRecipe recipe = Recipe(version, payload, core::kChipIdEsp32, seed);
  recipe.secure_version = secure_version;
  const std::vector<std::byte> app = MakeImage(crypto, recipe);
  const host::ReleaseKey* keys[] = {&key};
  release.image = host::SignImage(app, keys, false).value();
  core::ReleaseManifest& m = release.manifest;
  EXPECT_TRUE(m.project.Assign(recipe.project_name));
  EXPECT_TRUE(m.version.Assign(version));
  EXPECT_TRUE(m.min_running_version.Assign(min_running));
  m.chip_id = core::kChipIdEsp32;
  m.secure_version = secure_version;
  m.size_bytes = static_cast<uint32_t>(release.image.size());
  m.sha256 = Sha256Of(crypto, release.image);
  release.json = host::MakeReleaseJson(m, keys).value();
  return release;
}

class FakeServer {
 public:
  FakeServer(port::Crypto& crypto, std::string device_id, std::array<std::byte, 32> secret)
      : crypto_(crypto), device_id_(std::move(device_id)), secret_(secret) {}

  // ---- what it serves ----
  std::optional<TestRelease> offer;     // offered to a device not already running its version
  bool down = false;                    // every request: connection failed
  bool events_down = false;             // only the events endpoint
  bool wrong_ca = false;                // TLS: the server's certificate is not the pinned one
  std::vector<uint32_t> drop_at;        // successive GETs break after this resource offset
  std::map<uint32_t, uint8_t> corrupt;  // resource offset -> XOR mask, on every GET
  uint32_t extra_bytes = 0;             // served after the image (endless data)
  bool ignore_range = false;            // answer 200 from byte 0 to a Range request
  std::optional<std::array<std::byte, 32>> mac_secret;  // MAC with another secret
  bool replay_previous_answer = false;                  // serve the previous check-in answer again
  std::function<void(std::string&)> edit_body;  // changes the body before the MAC is computed
  std::function<void(std::string&)> edit_body_after_mac;
  bool announce_total = true;  // say the resource's size in OnStart
  uint64_t time_ms = 1767225600000;
  size_t chunk_size = 1000;
  emulator::EmulatedSystem* clock = nullptr;  // stamps checkin_times

  // ---- what it saw ----
  int checkins = 0;
  std::vector<uint64_t> checkin_times;  // device monotonic time of each check-in attempt
  int gets = 0;
  std::vector<uint32_t> range_starts;
  std::vector<boost::json::object> events;    // each new event, in arrival order
  std::map<std::string, int> times_received;  // event id -> how often it arrived
  uint64_t bytes_served = 0;

  std::vector<std::string> StatesReceived() const {
    std::vector<std::string> states;
    for (const auto& event : events) {
      states.emplace_back(event.at("state").as_string());
    }
    return states;
  }
  bool Received(const std::string& state) const {
    for (const std::string& s : StatesReceived()) {
      if (s == state) {
        return true;
      }
    }
    return false;
  }
  const boost::json::object* Last(const std::string& state) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it) {
      if (it->at("state").as_string() == state) {
        return &*it;
      }
    }
    return nullptr;
  }

  Result<port::PostResult> Post(std::string_view path, std::string_view body, ByteSpan response,
                                std::span<port::HeaderCapture> headers) {
    if (path == agent::kCheckinPath && clock != nullptr) {
      checkin_times.push_back(clock->MonotonicMs());
    }
    if (down || wrong_ca) {
      return Unavailable(wrong_ca ? port::kUntrustedServerReason : "transport: connection failed");
    }
    std::string answer;
    std::string mac_hex;
    if (path == agent::kCheckinPath) {
      ++checkins;
      boost::system::error_code ec;
      const boost::json::value request = boost::json::parse(body, ec);
      EXPECT_FALSE(ec) << body;
      const boost::json::object& o = request.as_object();
      EXPECT_EQ(o.at("device_id").as_string(), device_id_);
      std::array<std::byte, 16> nonce{};
      EXPECT_TRUE(core::HexDecode(std::string_view(o.at("nonce").as_string()), nonce).ok());
      const std::string running(o.at("version").as_string());
      if (replay_previous_answer && !previous_answer_.empty()) {
        answer = previous_answer_;
        mac_hex = previous_mac_;
      } else {
        answer = "{\"nonce\":\"" + HexOf(nonce) +
                 "\",\"server_time_ms\":" + std::to_string(time_ms) + ",\"update\":";
        if (offer && offer->version != running) {
          answer += "{\"release\":" + offer->json + ",\"artifact_url\":\"/api/v1/artifacts/" +
                    HexOf(offer->manifest.sha256) +
                    "\",\"size\":" + std::to_string(offer->manifest.size_bytes) + ",\"sha256\":\"" +
                    HexOf(offer->manifest.sha256) +
                    "\",\"release_id\":" + std::to_string(offer->release_id) +
                    ",\"rollout_id\":" + std::to_string(offer->rollout_id) + "}";
        } else {
          answer += "null";
        }
        answer += "}";
        if (edit_body) {
          edit_body(answer);
        }
        const auto digest = Sha256Of(crypto_, AsBytes(answer));
        const auto mac = core::ComputeFreshnessMac(crypto_, mac_secret.value_or(secret_),
                                                   {device_id_, nonce, time_ms, digest})
                             .value();
        mac_hex = HexOf(mac);
        if (edit_body_after_mac) {
          edit_body_after_mac(answer);
        }
        previous_answer_ = answer;
        previous_mac_ = mac_hex;
      }
    } else if (path == agent::kEventsPath) {
      if (events_down) {
        return Unavailable("transport: server error", 503);
      }
      boost::system::error_code ec;
      const boost::json::value request = boost::json::parse(body, ec);
      EXPECT_FALSE(ec) << body;
      boost::json::array accepted;
      boost::json::array duplicates;
      for (const auto& event : request.as_object().at("events").as_array()) {
        const std::string id(event.as_object().at("id").as_string());
        if (times_received[id]++ == 0) {
          events.push_back(event.as_object());
          accepted.emplace_back(id);
        } else {
          duplicates.emplace_back(id);
        }
      }
      answer = boost::json::serialize(
          boost::json::object{{"accepted", accepted}, {"duplicates", duplicates}});
    } else {
      return NotFound("transport: not found (404)", 404);
    }
    if (answer.size() > response.size()) {
      return ResourceExhausted("transport: response body larger than the buffer",
                               static_cast<uint32_t>(response.size()));
    }
    std::copy(answer.begin(), answer.end(), reinterpret_cast<char*>(response.data()));
    for (port::HeaderCapture& header : headers) {
      if (header.name == agent::kFreshnessHeader && !mac_hex.empty()) {
        header.present = true;
        header.size = std::min(header.value.size(), mac_hex.size());
        header.truncated = header.size < mac_hex.size();
        std::copy_n(mac_hex.begin(), header.size, header.value.begin());
      }
    }
    return port::PostResult{200, answer.size()};
  }

  Status Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink) {
    if (down || wrong_ca) {
      return Unavailable(wrong_ca ? port::kUntrustedServerReason : "transport: connection failed");
    }
    ++gets;
    range_starts.push_back(range_start);
    if (!offer || path != "/api/v1/artifacts/" + HexOf(offer->manifest.sha256)) {
      return NotFound("transport: not found (404)", 404);
    }
    std::vector<std::byte> resource = offer->image;
    for (const auto& [offset, mask] : corrupt) {
      if (offset < resource.size()) {
        resource[offset] ^= std::byte{mask};
      }
    }
    resource.resize(resource.size() + extra_bytes, std::byte{0x5A});
    const uint32_t total = static_cast<uint32_t>(resource.size());
    if (range_start > 0 && !ignore_range && range_start >= total) {
      return OutOfRange("transport: range not satisfiable (416)", 416);
    }
    const uint32_t first = ignore_range ? 0 : range_start;
    ALOFT_TRY(sink.OnStart(first == 0 ? 200 : 206, first, announce_total ? total : 0));
    std::optional<uint32_t> drop;
    if (!drop_at.empty()) {
      drop = drop_at.front();
      drop_at.erase(drop_at.begin());
    }
    for (uint32_t at = first; at < total;) {
      uint32_t n = std::min<uint32_t>(static_cast<uint32_t>(chunk_size), total - at);
      if (drop && at + n > *drop) {
        n = *drop > at ? *drop - at : 0;
        if (n > 0) {
          bytes_served += n;
          ALOFT_TRY(sink.OnData(ConstByteSpan(resource).subspan(at, n)));
        }
        return Unavailable("transport: connection lost");
      }
      bytes_served += n;
      ALOFT_TRY(sink.OnData(ConstByteSpan(resource).subspan(at, n)));
      at += n;
    }
    return OkStatus();
  }

 private:
  port::Crypto& crypto_;
  std::string device_id_;
  std::array<std::byte, 32> secret_;
  std::string previous_answer_;
  std::string previous_mac_;
};

class FakeTransport final : public port::Transport {
 public:
  explicit FakeTransport(FakeServer& server) : server_(server) {}
  Result<port::PostResult> Post(std::string_view path, std::string_view json_body,
                                ByteSpan response_body, std::span<port::HeaderCapture> headers,
                                uint32_t) override {
    ++posts;
    return server_.Post(path, json_body, response_body, headers);
  }
  Status Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink,
             uint32_t) override {
    return server_.Get(path, range_start, sink);
  }
  int posts = 0;

 private:
  FakeServer& server_;
};

// ---- self-test ----

class ScriptedSelfTest final : public agent::SelfTest {
 public:
  enum class Mode { kPass, kFail, kCrash };
  Status Run() override {
    ++runs;
    switch (mode) {
      case Mode::kPass:
        return OkStatus();
      case Mode::kFail:
        return Internal("self-test: sensor did not answer");
      case Mode::kCrash:
        return Aborted("self-test: crashed");
    }
    return OkStatus();
  }
  Mode mode = Mode::kPass;
  int runs = 0;
};

// ---- the rig ----

// An ESP32 (tutorial partition table, Secure Boot v2 with one ECDSA P-256 key) running release
// v1 in ota_0, with its agent, a fake server and virtual time.
// Runs `runtime`'s cycles, skipping virtual time between them, until `done` holds, the agent
// dies or `max_cycles` pass. Returns the last cycle's result.
inline Result<agent::StepResult> RunCyclesUntil(emulator::DeviceRuntime& runtime,
                                                const std::function<bool()>& done,
                                                int max_cycles) {
  Result<agent::StepResult> result = agent::StepResult::kWaiting;
  for (int i = 0; i < max_cycles; ++i) {
    result = runtime.RunCycle();
    if (!result.ok() || *result == agent::StepResult::kDead || done()) {
      return result;
    }
    runtime.SkipToWake();
  }
  return result;
}

// The agent is settled: idle, every report delivered, and the last check-in said "no update".
inline bool IsSettled(const agent::Agent* a) {
  return a != nullptr && a->phase() == agent::Phase::kIdle && a->record().report_count == 0 &&
         a->last_event() == agent::Event::kCheckinNone;
}

class AgentRig {
 public:
  static constexpr const char* kDeviceId = "esp32-0001";

  explicit AgentRig(uint64_t seed = 1)
      : key_(host::ReleaseKey::Generate(core::SignatureScheme::kEcdsaP256).value()),
        server_(crypto_, kDeviceId, Secret()),
        transport_(server_),
        system_(true, seed, 1767225600000) {
    trusted_[0].digest = key_.key_digest();
    policy_.keys = {trusted_.data(), 1};
    policy_.scheme = core::SignatureScheme::kEcdsaP256;
    device_config_.chip_id = core::kChipIdEsp32;
    device_config_.rollback_enabled = true;
    device_config_.trust = &policy_;
    EmulatedDevice device = MakeEmulatedDevice(crypto_, kTutorialCsv).value();
    flash_ = std::move(device.flash);
    layout_ = device.layout;
    v1_ = MakeTestRelease(crypto_, key_, "1.0.0", 20000, 1);
    EXPECT_TRUE(WriteRegion(*flash_, layout_.Find(0)->offset, v1_.image).ok());
    secret_ = Secret();
    config_.device_id = kDeviceId;
    config_.device_secret = secret_;
    config_.tags = tags_;
    config_.trust = &policy_;
    config_.schedule.check_interval_ms = 60'000;
    config_.schedule.check_jitter_ms = 1'000;
    config_.schedule.startup_jitter_ms = 1'000;
    config_.schedule.backoff_base_ms = 1'000;
    config_.schedule.backoff_cap_ms = 60'000;
    config_.persist_every_bytes = 8192;
    server_.clock = &system_;
  }

  static std::array<std::byte, 32> Secret() {
    std::array<std::byte, 32> secret{};
    for (size_t i = 0; i < secret.size(); ++i) {
      secret[i] = static_cast<std::byte>(0xA0 + i);
    }
    return secret;
  }

  TestRelease Release(const std::string& version, uint32_t seed = 2, uint32_t payload = 30000) {
    return MakeTestRelease(crypto_, key_, version, payload, seed);
  }

  // Powers the device on over `flash` (the emulated chip, or a FaultyFlash around it): a new
  // runtime, so nothing but flash and KeyValue survives from before.
  void PowerOn(port::Flash* flash = nullptr) {
    runtime_ = std::make_unique<emulator::DeviceRuntime>(
        flash != nullptr ? *flash : *flash_, crypto_, layout_, device_config_, transport_, kv_,
        system_, self_test_, config_);
  }

  // Runs cycles, skipping virtual time between them, until `done` holds or the agent dies or
  // `max_cycles` pass. Returns the last cycle's result.
  Result<agent::StepResult> RunUntil(const std::function<bool()>& done, int max_cycles = 200) {
    if (!runtime_) {
      PowerOn();
    }
    return RunCyclesUntil(*runtime_, done, max_cycles);
  }

  // The device is settled: idle, every report delivered.
  bool Settled() const {
    return IsSettled(runtime_ ? runtime_->agent() : nullptr);
  }

  std::string RunningVersion() const {
    const agent::Agent* a = runtime_ ? runtime_->agent() : nullptr;
    return a == nullptr ? "" : std::string(a->running_version());
  }

  // Boots the flash as it is (no agent) and returns the version that runs.
  std::string BootedVersion() {
    std::array<std::byte, 4096> work{};
    Result<core::BootReport> report =
        core::BootDevice(*flash_, crypto_, layout_, device_config_, work, {});
    return report.ok() ? std::string(report->app_description.version.view()) : "<bricked>";
  }

  host::OpensslCrypto crypto_;
  host::ReleaseKey key_;
  std::array<core::TrustedKey, 1> trusted_{};
  core::TrustPolicy policy_;
  core::DeviceConfig device_config_;
  std::unique_ptr<host::EmulatedFlash> flash_;
  core::DeviceLayout layout_;
  TestRelease v1_;
  std::array<std::byte, 32> secret_{};
  std::array<std::string_view, 1> tags_{"lab"};
  FakeServer server_;
  FakeTransport transport_;
  MemoryKeyValue kv_;
  emulator::EmulatedSystem system_;
  ScriptedSelfTest self_test_;
  agent::AgentConfig config_;
  std::unique_ptr<emulator::DeviceRuntime> runtime_;
};

}  // namespace aloft::testing
