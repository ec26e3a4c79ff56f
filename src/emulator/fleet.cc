#include "emulator/fleet.h"

#include <sys/resource.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "agent/agent.h"
#include "core/device/device_config.h"
#include "core/device/device_layout.h"
#include "core/format/app_image.h"
#include "core/format/partition_csv.h"
#include "core/format/partition_table.h"
#include "core/hex.h"
#include "core/signature/signature_verifier.h"
#include "emulator/device_runtime.h"
#include "emulator/pooled_flash.h"
#include "emulator/test_image.h"
#include "ports/host/curl_transport.h"
#include "ports/host/https_client.h"
#include "ports/host/memory_key_value.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::emulator {

namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

bool ParseHexBytes(std::string_view hex, std::span<std::byte> out) {
  return core::HexDecode(hex, out).ok();
}

std::string ErrorOf(const host::HttpsReply& reply) {
  boost::system::error_code ec;
  const boost::json::value value = boost::json::parse(reply.body, ec);
  if (!ec && value.is_object() && value.as_object().contains("error") &&
      value.at("error").is_object()) {
    const boost::json::object& error = value.at("error").as_object();
    std::string text = std::to_string(reply.status);
    if (const auto* code = error.if_contains("code"); code != nullptr && code->is_string()) {
      text += " " + std::string(code->get_string());
    }
    if (const auto* message = error.if_contains("message");
        message != nullptr && message->is_string()) {
      text += ": " + std::string(message->get_string());
    }
    return text;
  }
  return std::to_string(reply.status);
}

// What can be said about a device from outside, updated by its worker, read by the monitor.
enum class CheckOutcome : uint8_t { kNotYet, kNone, kOffer, kRefused, kFailed };

}  // namespace

// One emulated device: its chip, ports and runtime, and what the fleet counts about it.
struct SimDevice final : public RuntimeObserver {
  std::string id;
  std::string token;
  std::array<std::byte, 32> secret{};
  std::unique_ptr<PooledFlash> flash;
  host::MemoryKeyValue store;
  std::unique_ptr<host::CurlTransport> transport;
  std::unique_ptr<EmulatedSystem> system;
  std::unique_ptr<ImageSelfTest> self_test;
  agent::AgentConfig agent_config;
  std::unique_ptr<DeviceRuntime> runtime;

  // Worker-only state.
  agent::Phase phase_before = agent::Phase::kIdle;
  uint64_t last_steps = 0;
  CheckOutcome last_check = CheckOutcome::kNotYet;
  std::optional<Clock::time_point> offer_at;
  bool done = false;  // bricked, or the agent cannot go on
  bool bricked = false;
  uint32_t crashes = 0;
  uint64_t bytes_counted = 0;
  bool counted_updated = false;
  bool counted_rolled_back = false;
  bool counted_failed = false;
  bool counted_refused = false;

  // Read by the monitor.
  std::atomic<bool> settled{false};
  std::atomic<bool> downloading{false};

  struct Fleet::State* fleet = nullptr;

  void OnBoot(const core::BootReport& report) override {
    (void)report;
    last_steps = 0;  // a new agent counts its steps from zero
  }
  void OnStep(const agent::Agent& agent, agent::StepResult result) override;
};

struct Fleet::State {
  FleetOptions options;
  std::string project;
  std::string chip;
  uint16_t chip_id = 0;
  uint32_t image_size = 0;
  std::shared_ptr<SectorPool> pool = std::make_shared<SectorPool>();
  core::DeviceLayout layout;
  std::vector<core::TrustedKey> keys;
  core::TrustPolicy trust;
  core::DeviceConfig device_config;
  host::OpensslCrypto crypto;  // stateless: shared by every device
  std::vector<std::unique_ptr<SimDevice>> devices;
  std::unique_ptr<FaultProxy> proxy;
  std::string device_url;
  bool ran = false;

  std::atomic<uint32_t> updated{0};
  std::atomic<uint32_t> rolled_back{0};
  std::atomic<uint32_t> failed{0};
  std::atomic<uint32_t> bricked{0};
  std::atomic<uint32_t> refused{0};
  std::atomic<uint64_t> checkins{0};
  std::atomic<uint64_t> bytes_downloaded{0};
  std::atomic<bool> stop{false};
  std::mutex durations_mutex;
  std::vector<double> update_durations;

  void CountFailed(SimDevice& device) {
    if (!device.counted_failed) {
      device.counted_failed = true;
      ++failed;
    }
  }
  void RunDevice(SimDevice& device);
  void Worker(size_t index);
};

void SimDevice::OnStep(const agent::Agent& agent, agent::StepResult result) {
  (void)result;
  const std::optional<agent::Event> event = agent.last_event();
  if (!event.has_value() || agent.steps() == last_steps) {
    return;
  }
  last_steps = agent.steps();
  switch (*event) {
    case agent::Event::kCheckinNone:
      last_check = CheckOutcome::kNone;
      ++fleet->checkins;
      break;
    case agent::Event::kCheckinOffer:
      last_check = CheckOutcome::kOffer;
      ++fleet->checkins;
      if (!offer_at.has_value()) {
        offer_at = Clock::now();
      }
      break;
    case agent::Event::kCheckinRefused:
      last_check = CheckOutcome::kRefused;
      ++fleet->checkins;
      if (!counted_refused) {
        counted_refused = true;
        ++fleet->refused;
      }
      break;
    case agent::Event::kCheckinFailed:
      last_check = CheckOutcome::kFailed;
      ++fleet->checkins;
      break;
    case agent::Event::kVerificationFailed:
    case agent::Event::kRejectFailed:
      fleet->CountFailed(*this);
      offer_at.reset();
      break;
    case agent::Event::kSelfTestPass:
    case agent::Event::kBootedIntoNewValid:
      if (*event == agent::Event::kBootedIntoNewValid &&
          phase_before != agent::Phase::kAwaitingReboot) {
        break;
      }
      if (!counted_updated) {
        counted_updated = true;
        ++fleet->updated;
      }
      if (offer_at.has_value()) {
        const double seconds = SecondsSince(*offer_at);
        std::lock_guard lock(fleet->durations_mutex);
        fleet->update_durations.push_back(seconds);
      }
      offer_at.reset();
      break;
    case agent::Event::kBootedIntoOld:
      if (phase_before == agent::Phase::kAwaitingReboot || phase_before == agent::Phase::kTrial ||
          phase_before == agent::Phase::kRollingBack) {
        if (!counted_rolled_back) {
          counted_rolled_back = true;
          ++fleet->rolled_back;
        }
        offer_at.reset();
      }
      break;
    default:
      break;
  }
  phase_before = agent.phase();
  downloading = agent.phase() == agent::Phase::kDownloading;
}

void Fleet::State::RunDevice(SimDevice& device) {
  Result<agent::StepResult> result = device.runtime->RunCycle();
  if (result.ok() && *result == agent::StepResult::kDead) {
    const agent::Agent* agent = device.runtime->agent();
    // A crash during the self-test: the watchdog resets the chip and the bootloader rolls the
    // image on trial back. Anything else that kills the agent ends the device.
    if (device.self_test->last_mode() == SelfTestMode::kCrash && agent != nullptr &&
        agent->phase() == agent::Phase::kTrial && device.crashes++ < 3) {
      Status booted = device.runtime->Boot();
      if (!booted.ok()) {
        result = booted;
      }
    } else {
      CountFailed(device);
      device.done = true;
    }
  }
  if (!result.ok()) {
    if (result.status().code() == Status::Code::kNotFound) {
      ++bricked;
      device.bricked = true;
    } else {
      CountFailed(device);
    }
    device.done = true;
  }
  device.transport->CloseConnection();  // the device sleeps: no TLS state kept
  device.flash->Intern();
  const uint64_t bytes = device.runtime->stats().bytes_downloaded;
  bytes_downloaded += bytes - device.bytes_counted;
  device.bytes_counted = bytes;
  const agent::Agent* agent = device.runtime->agent();
  device.settled =
      device.done ||
      (agent != nullptr && agent->phase() == agent::Phase::kIdle &&
       agent->record().report_count == 0 &&
       (device.last_check == CheckOutcome::kNone || device.last_check == CheckOutcome::kRefused));
}

void Fleet::State::Worker(size_t index) {
  const size_t workers = options.concurrency;
  while (!stop) {
    uint64_t wait_ms = 50;
    for (size_t i = index; i < devices.size() && !stop; i += workers) {
      SimDevice& device = *devices[i];
      if (device.done) {
        continue;
      }
      const agent::Agent* agent = device.runtime->agent();
      const uint64_t now = device.system->MonotonicMs();
      if (agent == nullptr || now >= agent->wake_at_ms()) {
        RunDevice(device);
        wait_ms = 0;
      } else {
        wait_ms = std::min<uint64_t>(wait_ms, agent->wake_at_ms() - now);
      }
    }
    if (wait_ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    }
  }
}

Fleet::Fleet(std::unique_ptr<State> state) : state_(std::move(state)) {}

Fleet::~Fleet() {
  if (state_ && state_->proxy) {
    state_->proxy->Stop();
  }
}

std::vector<std::string> Fleet::device_ids() const {
  std::vector<std::string> ids;
  for (const auto& device : state_->devices) {
    ids.push_back(device->id);
  }
  return ids;
}

std::optional<ServerAddress> ParseServerUrl(std::string_view url) {
  constexpr std::string_view kScheme = "https://";
  if (url.substr(0, kScheme.size()) != kScheme) {
    return std::nullopt;
  }
  std::string_view rest = url.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') {
    rest.remove_suffix(1);
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos) {
    return std::nullopt;
  }
  ServerAddress address;
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.front() == '[') {
    if (rest.front() == '[') {
      return std::nullopt;  // IPv6 literals: not needed on loopback
    }
    address.host = std::string(rest);
    return address;
  }
  address.host = std::string(rest.substr(0, colon));
  const std::string_view port = rest.substr(colon + 1);
  if (address.host.empty() || port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  const unsigned long value = std::stoul(std::string(port));
  if (value == 0 || value > 65535) {
    return std::nullopt;
  }
  address.port = static_cast<uint16_t>(value);
  return address;
}

double Quantile(std::vector<double> values, double p) {
  if (values.empty()) {
    return 0;
  }
  std::sort(values.begin(), values.end());
  const double rank = std::ceil(p * static_cast<double>(values.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return values[std::min(index, values.size() - 1)];
}

Result<std::unique_ptr<Fleet>> Fleet::Prepare(const FleetOptions& options, std::string* error) {
  auto state = std::make_unique<State>();
  state->options = options;
  State& s = *state;
  if (options.devices == 0 || options.concurrency == 0) {
    *error = "fleet: --devices and --concurrency must be at least 1";
    return InvalidArgument("fleet: bad options");
  }
  s.options.concurrency = std::min(options.concurrency, options.devices);
  const std::optional<ServerAddress> address = ParseServerUrl(options.server_url);
  if (!address.has_value()) {
    *error = "fleet: " + options.server_url + ": not an https://HOST:PORT URL";
    return InvalidArgument("fleet: bad options");
  }

  host::HttpsClientOptions client_options;
  client_options.base_url = options.server_url;
  client_options.ca_pem = options.ca_pem;
  client_options.bearer_token = options.admin_token;
  Result<host::HttpsClient> created = host::HttpsClient::Create(client_options);
  if (!created.ok()) {
    *error = "fleet: " + options.server_url + ": " + created.status().reason();
    return InvalidArgument("fleet: bad options");
  }
  host::HttpsClient admin = std::move(created).value();
  // One admin request; nullopt after filling `error`.
  const auto call = [&](host::HttpsClient& client, std::string_view method, const std::string& path,
                        std::string_view body, long expected) -> Result<host::HttpsReply> {
    Result<host::HttpsReply> reply =
        client.Send(method, path, body, {"Content-Type: application/json"});
    if (!reply.ok()) {
      *error = options.server_url + ": " + reply.status().reason();
      if (!client.last_error().empty()) {
        *error += " (" + client.last_error() + ")";
      }
      return Unavailable("fleet: server unreachable");
    }
    if (reply->status != expected) {
      *error = std::string(method) + " " + path + ": " + ErrorOf(*reply);
      return FailedPrecondition("fleet: the server refused");
    }
    return reply;
  };

  // The release, and with it the fleet's project and chip.
  std::string query = "/api/v1/releases?version=" + options.initial_version;
  if (!options.project.empty()) {
    query += "&project=" + options.project;
  }
  if (!options.chip.empty()) {
    query += "&chip=" + options.chip;
  }
  Result<host::HttpsReply> releases = call(admin, "GET", query, {}, 200);
  if (!releases.ok()) {
    return releases.status();
  }
  boost::system::error_code ec;
  const boost::json::value listed = boost::json::parse(releases->body, ec);
  const boost::json::array* array = nullptr;
  if (!ec && listed.is_object()) {
    if (const auto* found = listed.as_object().if_contains("releases");
        found && found->is_array()) {
      array = &found->as_array();
    }
  }
  if (array == nullptr) {
    *error = "GET " + query + ": not the expected JSON";
    return Internal("fleet: the server refused");
  }
  if (array->empty()) {
    *error = "fleet: no release " + options.initial_version + " on " + options.server_url +
             " (publish it first: aloft release publish)";
    return NotFound("fleet: no such release");
  }
  if (array->size() > 1) {
    *error = "fleet: several releases have version " + options.initial_version +
             ": give --project and --chip";
    return InvalidArgument("fleet: bad options");
  }
  const boost::json::object& release = (*array)[0].as_object();
  s.project = std::string(release.at("project").as_string());
  s.chip = std::string(release.at("chip").as_string());
  const std::string sha256(release.at("sha256").as_string());
  const std::optional<uint16_t> chip_id = core::ChipIdFromName(s.chip);
  if (!chip_id.has_value()) {
    *error = "fleet: release " + options.initial_version + " is for an unknown chip " + s.chip;
    return InvalidArgument("fleet: bad options");
  }
  s.chip_id = *chip_id;

  // Its artifact.
  Result<host::HttpsReply> artifact = call(admin, "GET", "/api/v1/artifacts/" + sha256, {}, 200);
  if (!artifact.ok()) {
    return artifact.status();
  }
  const std::string& image = artifact->body;
  s.image_size = static_cast<uint32_t>(image.size());

  // The keys the devices trust.
  Result<host::HttpsReply> keys_reply =
      call(admin, "GET", "/api/v1/projects/" + s.project + "/keys", {}, 200);
  if (!keys_reply.ok()) {
    return keys_reply.status();
  }
  const boost::json::value keys_json = boost::json::parse(keys_reply->body, ec);
  if (!ec && keys_json.is_object() && keys_json.as_object().contains("keys") &&
      keys_json.at("keys").is_array()) {
    for (const boost::json::value& key : keys_json.at("keys").as_array()) {
      if (!key.is_object() || key.as_object().if_contains("revoked") == nullptr ||
          key.at("revoked").as_bool() || s.keys.size() == core::kMaxTrustedKeys) {
        continue;
      }
      core::TrustedKey trusted;
      if (ParseHexBytes(key.at("key_digest").as_string(), trusted.digest)) {
        s.keys.push_back(trusted);
      }
    }
  }
  if (s.keys.empty()) {
    *error = "fleet: project " + s.project + " has no release key on the server";
    return FailedPrecondition("fleet: the server refused");
  }
  s.trust.keys = s.keys;
  s.device_config.chip_id = s.chip_id;
  s.device_config.rollback_enabled = true;
  s.device_config.trust = &s.trust;

  // The chip template: table, blank otadata, the release in ota_0.
  Result<core::PartitionTable> table =
      core::ParsePartitionCsv(kFleetPartitionCsv, core::PartitionCsvOptions{});
  if (!table.ok()) {
    *error = "fleet: partition table: " + std::string(table.status().reason());
    return Internal("fleet: partition table");
  }
  Result<core::DeviceLayout> layout = core::MakeDeviceLayout(*table, kFleetFlashSize);
  if (!layout.ok()) {
    *error = "fleet: partition table: " + std::string(layout.status().reason());
    return Internal("fleet: partition table");
  }
  s.layout = *layout;
  const core::AppPartition* slot = s.layout.Find(0);
  if (image.size() > slot->size) {
    *error = "fleet: release " + options.initial_version + " (" + std::to_string(image.size()) +
             " bytes) does not fit the fleet's " + std::to_string(slot->size) + "-byte slots";
    return InvalidArgument("fleet: bad options");
  }
  std::vector<std::byte> chip(slot->offset + image.size(), std::byte{0xFF});
  std::vector<std::byte> table_binary(core::kPartitionTableBinarySize, std::byte{0xFF});
  if (Status serialized = core::SerializePartitionTableBinary(*table, s.crypto, table_binary);
      !serialized.ok()) {
    *error = "fleet: partition table: " + std::string(serialized.reason());
    return Internal("fleet: partition table");
  }
  std::copy(table_binary.begin(), table_binary.end(),
            chip.begin() + core::kDefaultPartitionTableOffset);
  std::transform(image.begin(), image.end(), chip.begin() + slot->offset,
                 [](char c) { return static_cast<std::byte>(c); });
  Result<std::unique_ptr<PooledFlash>> chip_template =
      PooledFlash::CreateFrom(s.pool, kFleetFlashSize, chip);
  if (!chip_template.ok()) {
    *error = "fleet: " + std::string(chip_template.status().reason());
    return Internal("fleet: flash");
  }

  // The proxy, when faults are asked for (or bytes are to be counted).
  if (options.faults.any() || options.always_proxy) {
    FaultProxyOptions proxy_options;
    proxy_options.upstream_address = address->host == "localhost" ? "127.0.0.1" : address->host;
    proxy_options.upstream_port = address->port;
    proxy_options.faults = options.faults;
    proxy_options.seed = options.seed;
    proxy_options.max_fault_offset = std::max<uint64_t>(s.image_size + 16384, 1024);
    proxy_options.stall = std::chrono::milliseconds(options.proxy_stall_ms);
    Result<std::unique_ptr<FaultProxy>> proxy = FaultProxy::Start(proxy_options);
    if (!proxy.ok()) {
      *error = "fleet: fault proxy: " + std::string(proxy.status().reason()) +
               (proxy.status().code() == Status::Code::kInvalidArgument
                    ? " (faults need the server at an IPv4 address or localhost)"
                    : "");
      return InvalidArgument("fleet: bad options");
    }
    s.proxy = std::move(proxy).value();
    s.device_url = "https://" + address->host + ":" + std::to_string(s.proxy->port());
  } else {
    s.device_url = options.server_url;
  }

  // The devices, registered by `concurrency` threads at once.
  s.devices.resize(options.devices);
  std::mutex error_mutex;
  Status first_status;
  std::atomic<uint32_t> next{0};
  const auto fail = [&](Status status, std::string text) {
    std::lock_guard lock(error_mutex);
    if (first_status.ok()) {
      first_status = status;
      *error = std::move(text);
    }
  };
  const auto failed = [&] {
    std::lock_guard lock(error_mutex);
    return !first_status.ok();
  };
  const auto register_some = [&] {
    Result<host::HttpsClient> client = host::HttpsClient::Create(client_options);
    if (!client.ok()) {
      fail(client.status(), "fleet: " + std::string(client.status().reason()));
      return;
    }
    for (uint32_t i = next++; i < options.devices && !failed(); i = next++) {
      char number[16];
      std::snprintf(number, sizeof(number), "%04u", i + 1);
      auto device = std::make_unique<SimDevice>();
      device->id = options.id_prefix + "-" + number;
      const boost::json::object body{{"id", device->id}, {"project", s.project}, {"chip", s.chip}};
      Result<host::HttpsReply> sent =
          client->Send("POST", "/api/v1/devices", boost::json::serialize(body),
                       {"Content-Type: application/json"});
      if (!sent.ok()) {
        fail(Unavailable("fleet: server unreachable"),
             options.server_url + ": " + sent.status().reason());
        return;
      }
      if (sent->status != 201) {
        fail(FailedPrecondition("fleet: the server refused"),
             "POST /api/v1/devices (" + device->id + "): " + ErrorOf(*sent) +
                 (sent->status == 409 ? " (choose another --id-prefix)" : ""));
        return;
      }
      boost::system::error_code parse_error;
      const boost::json::value answer = boost::json::parse(sent->body, parse_error);
      const boost::json::object* object = answer.if_object();
      const boost::json::value* token = object ? object->if_contains("token") : nullptr;
      const boost::json::value* secret = object ? object->if_contains("secret") : nullptr;
      if (parse_error || token == nullptr || !token->is_string() || secret == nullptr ||
          !secret->is_string() || !ParseHexBytes(secret->get_string(), device->secret)) {
        fail(Internal("fleet: the server refused"),
             "POST /api/v1/devices (" + device->id + "): no token and secret in the answer");
        return;
      }
      device->token = std::string(token->get_string());
      s.devices[i] = std::move(device);
    }
  };
  {
    std::vector<std::thread> threads;
    for (uint32_t t = 0; t < s.options.concurrency; ++t) {
      threads.emplace_back(register_some);
    }
    for (std::thread& thread : threads) {
      thread.join();
    }
  }
  if (!first_status.ok()) {
    return first_status;
  }

  // Each device's chip, ports and runtime.
  for (uint32_t i = 0; i < options.devices; ++i) {
    SimDevice& device = *s.devices[i];
    device.fleet = &s;
    device.flash = (*chip_template)->Clone();
    host::CurlTransportOptions transport_options;
    transport_options.base_url = s.device_url;
    transport_options.ca_pem = options.ca_pem;
    transport_options.bearer_token = device.token;
    transport_options.reuse_connection = false;
    Result<std::unique_ptr<host::CurlTransport>> transport =
        host::CurlTransport::Create(transport_options);
    if (!transport.ok()) {
      *error = "fleet: " + std::string(transport.status().reason());
      return transport.status();
    }
    device.transport = std::move(transport).value();
    device.system =
        std::make_unique<EmulatedSystem>(/*virtual_time=*/false, options.seed * 1000003 + i + 1);
    device.self_test = std::make_unique<ImageSelfTest>(*device.flash, s.layout, *device.system);
    agent::AgentConfig& config = device.agent_config;
    config.device_id = device.id;
    config.device_secret = device.secret;
    config.trust = &s.trust;
    config.schedule.check_interval_ms = options.check_interval_ms;
    config.schedule.check_jitter_ms = options.check_interval_ms / 5;
    config.schedule.startup_jitter_ms = options.check_interval_ms;
    config.schedule.backoff_base_ms = std::max<uint32_t>(options.check_interval_ms / 10, 100);
    config.schedule.backoff_cap_ms = std::max<uint32_t>(options.check_interval_ms * 2, 1000);
    config.checkin_timeout_ms = options.request_timeout_ms;
    config.report_timeout_ms = options.request_timeout_ms;
    config.download_timeout_ms = options.download_stall_ms;
    device.runtime = std::make_unique<DeviceRuntime>(
        *device.flash, s.crypto, s.layout, s.device_config, *device.transport, device.store,
        *device.system, *device.self_test, config);
    device.runtime->set_observer(&device);
  }
  return std::unique_ptr<Fleet>(new Fleet(std::move(state)));
}

FleetSummary Fleet::Run(const std::atomic<bool>& stop,
                        const std::function<void(const FleetProgress&)>& progress) {
  State& s = *state_;
  FleetSummary summary;
  if (s.ran) {
    return summary;
  }
  s.ran = true;
  const Clock::time_point start = Clock::now();
  std::vector<std::thread> workers;
  for (size_t w = 0; w < s.options.concurrency; ++w) {
    workers.emplace_back([&s, w] { s.Worker(w); });
  }
  const auto snapshot = [&] {
    FleetProgress p;
    p.devices = static_cast<uint32_t>(s.devices.size());
    for (const auto& device : s.devices) {
      p.settled += device->settled ? 1 : 0;
      p.downloading += device->downloading ? 1 : 0;
    }
    p.updated = s.updated;
    p.rolled_back = s.rolled_back;
    p.failed = s.failed;
    p.bricked = s.bricked;
    p.checkins = s.checkins;
    p.bytes_downloaded = s.bytes_downloaded;
    p.faults = s.proxy ? s.proxy->stats().faults() : 0;
    p.elapsed_s = SecondsSince(start);
    return p;
  };
  Clock::time_point last_report = start;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const FleetProgress p = snapshot();
    if (progress && Clock::now() - last_report >= std::chrono::milliseconds(250)) {
      progress(p);
      last_report = Clock::now();
    }
    summary.idle = p.settled == p.devices;  // kept: a settled device may wake up again below
    if (stop || (s.options.until_idle && summary.idle) ||
        (s.options.timeout_ms != 0 &&
         Clock::now() - start >= std::chrono::milliseconds(s.options.timeout_ms))) {
      break;
    }
  }
  s.stop = true;
  for (std::thread& worker : workers) {
    worker.join();
  }
  if (progress) {
    progress(snapshot());
  }
  summary.duration_s = SecondsSince(start);
  summary.devices = static_cast<uint32_t>(s.devices.size());
  uint32_t settled = 0;
  for (const auto& device : s.devices) {
    settled += device->settled ? 1 : 0;
    const std::optional<core::BootReport>& boot = device->runtime->last_boot();
    if (boot.has_value() && !device->bricked) {
      ++summary.versions[std::string(boot->app_description.version.view())];
    }
  }
  summary.idle = summary.idle || settled == summary.devices;
  summary.updated = s.updated;
  summary.rolled_back = s.rolled_back;
  summary.failed = s.failed;
  summary.bricked = s.bricked;
  summary.refused = s.refused;
  summary.bytes_downloaded = s.bytes_downloaded;
  summary.checkins = s.checkins;
  summary.p50_update_s = Quantile(s.update_durations, 0.50);
  summary.p99_update_s = Quantile(s.update_durations, 0.99);
  summary.initial_version = s.options.initial_version;
  summary.project = s.project;
  summary.chip = s.chip;
  summary.image_size = s.image_size;
  if (s.proxy) {
    summary.proxy = s.proxy->stats();
  }
  summary.agent_bytes = sizeof(agent::Agent);
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) == 0) {
    summary.peak_rss_bytes = static_cast<uint64_t>(usage.ru_maxrss) * 1024;
  }
  return summary;
}

}  // namespace aloft::emulator
