// `aloft device run`: one emulated ESP32 talking to a real update server. The flash file (from
// `aloft flash build`) and its sidecar F.device.json are the chip, as for `aloft device boot`;
// the agent's record lives in F.kv/ (ports/host/file_key_value.h), as NVS lives beside the app
// on a chip, so a run that is stopped resumes where it was. The device boots (core boot logic),
// runs the real agent (src/agent) over libcurl with the pinned CA (CurlTransport), resets when
// the agent asks, and runs the self-test the running test image carries (emulator/test_image.h)
// or the one --self-test forces.
//
//   aloft device run --flash F --server URL --ca CA.pem --id ID --token T [--secret HEX]
//                    [--trust-key-digest H]... [--self-test pass|fail|crash] [--once]
//                    [--check-interval SECONDS]
//
// --once: exit after one full cycle (a check-in, and the update it offered carried through to
// confirmed or rolled back, its reports sent). Exit codes: 0 the device is up to date (nothing
// offered, or the update confirmed); 1 a failure (the server unreachable or untrusted, a release
// refused, an update rolled back, reports that could not be sent, a bricked device); 2 usage.
// Registered under `aloft device` by device_command.cc.

#include <aloft_backend/log.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "agent/agent.h"
#include "cli/command.h"
#include "cli/emulated_device.h"
#include "cli/io.h"
#include "core/device/flash_image.h"
#include "core/format/app_image.h"
#include "emulator/device_runtime.h"
#include "emulator/test_image.h"
#include "ports/host/curl_transport.h"
#include "ports/host/file_key_value.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {

using namespace ::aloft::core;  // NOLINT(build/namespaces)

namespace {

// Where the device keeps the freshness secret it was provisioned with (NVS on a chip).
constexpr std::string_view kSecretKey = "aloft.secret";
constexpr uint32_t kSecretSize = 32;

std::atomic<bool> g_stop{false};

extern "C" void OnStopSignal(int) { g_stop = true; }

struct RunArgs {
  std::string flash;
  std::string server;
  std::string ca;
  std::string id;
  std::string token;
  std::string secret;
  std::vector<std::string> trust_key_digests;
  std::string self_test;
  bool once = false;
  bool verbose = false;
  uint32_t check_interval_s = 60;
};

std::string SlotText(const DeviceLayout& layout, int index) {
  const AppPartition* partition = layout.Find(index);
  return std::string(AppPartitionName(index)) +
         (partition == nullptr ? std::string() : " (" + std::string(partition->label()) + ")");
}

// Prints what the device does, one line per step worth telling, and remembers what a --once
// run needs to decide when the cycle is over and how it went.
class RunPrinter final : public emulator::RuntimeObserver {
 public:
  RunPrinter(const DeviceLayout& layout, DeviceSidecar& sidecar)
      : layout_(layout), sidecar_(sidecar) {}

  void OnBoot(const BootReport& report) override {
    std::printf(
        "boot: %s, version %s, otadata state %s%s\n", SlotText(layout_, report.index).c_str(),
        std::string(report.app_description.version.view()).c_str(),
        report.state.has_value() ? std::string(StateName(*report.state).view()).c_str() : "none",
        report.rolled_back ? " (rolled back)" : "");
    std::fflush(stdout);
    // RAM does not survive a reset; the sidecar says what booted last, for `aloft device boot`.
    sidecar_.running = report.index;
    sidecar_.efuse_secure_version = report.efuse_secure_version;
    sidecar_dirty_ = true;
    last_steps_ = 0;  // a new agent counts its steps from zero
  }

  void OnStep(const agent::Agent& agent, agent::StepResult result) override {
    (void)result;
    const std::optional<agent::Event> event = agent.last_event();
    if (!event.has_value() || agent.steps() == last_steps_) {
      return;
    }
    last_steps_ = agent.steps();
    const std::string error = agent.last_error().ok() ? "" : agent.last_error().reason();
    const std::string target(agent.record().target_version.view());
    switch (*event) {
      case agent::Event::kCheckinNone:
        checkin_ = Outcome::kNone;
        std::printf("check-in: no update for %s\n", std::string(agent.running_version()).c_str());
        break;
      case agent::Event::kCheckinOffer:
        checkin_ = Outcome::kOffer;
        std::printf("check-in: offered %s; downloading into the passive slot\n", target.c_str());
        break;
      case agent::Event::kCheckinRefused:
        checkin_ = Outcome::kFailed;
        failure_ = "check-in answer refused: " + error;
        std::printf("check-in: answer refused: %s\n", error.c_str());
        break;
      case agent::Event::kCheckinFailed:
        checkin_ = Outcome::kFailed;
        failure_ = error;
        std::printf("check-in: failed: %s\n", error.c_str());
        break;
      case agent::Event::kDownloadDone:
        std::printf("download: complete (%llu bytes received)\n",
                    static_cast<unsigned long long>(agent.bytes_downloaded()));
        break;
      case agent::Event::kDownloadDropped:
        std::printf("download: dropped at byte %u: %s; resuming later\n", agent.record().offset,
                    error.c_str());
        break;
      case agent::Event::kVerificationFailed:
        update_failed_ = true;
        failure_ = "release refused: " + error;
        std::printf("verify: refused: %s\n", error.c_str());
        break;
      case agent::Event::kInstalled:
        std::printf("install: %s verified and installed into %s; rebooting\n", target.c_str(),
                    SlotText(layout_, agent.record().target_slot).c_str());
        break;
      case agent::Event::kSelfTestPass:
        updated_ = true;
        std::printf("self-test: passed; %s confirmed\n",
                    std::string(agent.running_version()).c_str());
        break;
      case agent::Event::kSelfTestFail:
        std::printf("self-test: failed: %s; rolling back\n", error.c_str());
        break;
      case agent::Event::kBootedIntoOld:
        if (phase_before_ == agent::Phase::kAwaitingReboot ||
            phase_before_ == agent::Phase::kTrial || phase_before_ == agent::Phase::kRollingBack) {
          update_failed_ = true;
          failure_ =
              "the update rolled back; still running " + std::string(agent.running_version());
        }
        break;
      case agent::Event::kReportSent:
        std::printf("report: sent\n");
        break;
      case agent::Event::kReportFailed:
        std::printf("report: not sent (queued): %s\n", error.c_str());
        break;
      default:
        break;
    }
    std::fflush(stdout);
    phase_before_ = agent.phase();
  }

  // After a --once cycle: the agent idles, has nothing queued, and has checked in.
  bool CycleOver(const agent::Agent& agent) const {
    return agent.phase() == agent::Phase::kIdle && checkin_ != Outcome::kNotYet &&
           (checkin_ == Outcome::kFailed || agent.record().report_count == 0 ||
            agent.last_event() == agent::Event::kReportFailed);
  }
  bool Succeeded(const agent::Agent& agent) const {
    return checkin_ != Outcome::kFailed && !update_failed_ && agent.record().report_count == 0;
  }
  const std::string& failure() const { return failure_; }
  bool updated() const { return updated_; }
  bool TakeSidecarDirty() { return std::exchange(sidecar_dirty_, false); }

 private:
  enum class Outcome { kNotYet, kNone, kOffer, kFailed };
  const DeviceLayout& layout_;
  DeviceSidecar& sidecar_;
  uint64_t last_steps_ = 0;
  Outcome checkin_ = Outcome::kNotYet;
  bool update_failed_ = false;
  bool updated_ = false;
  agent::Phase phase_before_ = agent::Phase::kIdle;
  bool sidecar_dirty_ = false;
  std::string failure_;
};

// The secret given now (and remembered), or the one remembered from an earlier run.
std::optional<std::array<std::byte, kSecretSize>> ProvisionSecret(host::FileKeyValue& store,
                                                                  const RunArgs& args) {
  std::array<std::byte, kSecretSize> secret{};
  if (!args.secret.empty()) {
    (void)ParseHex(args.secret, secret);  // validated by the option's check
    if (Status saved = store.Set(kSecretKey, secret); !saved.ok()) {
      ReportFailure(store.directory().string(), saved);
      return std::nullopt;
    }
    return secret;
  }
  Result<size_t> stored = store.Get(kSecretKey, secret);
  if (!stored.ok() || *stored != kSecretSize) {
    ReportError("device run: " + args.flash +
                    ": the device has no freshness secret yet: give --secret HEX (printed by "
                    "`aloft devices register`)",
                kExitUsage);
    return std::nullopt;
  }
  return secret;
}

// Sleeps until the agent's next wake-up (real time), or a stop signal.
void SleepUntilWake(emulator::EmulatedSystem& system, const agent::Agent& agent) {
  while (!g_stop) {
    const uint64_t now = system.MonotonicMs();
    if (now >= agent.wake_at_ms()) {
      return;
    }
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::min<uint64_t>(200, agent.wake_at_ms() - now)));
  }
}

int RunDevice(const RunArgs& args) {
  // The lines below say what the device does; the agent's own log only on request.
  aloft_backend_set_log_level(args.verbose ? 3 : -1);
  std::optional<DeviceSidecar> loaded = LoadSidecar(args.flash);
  if (!loaded.has_value()) {
    return kExitFailure;
  }
  DeviceSidecar sidecar = std::move(*loaded);
  std::optional<FlashDevice> device =
      OpenFlashDevice(args.flash, sidecar.table_offset, /*in_memory=*/false);
  if (!device.has_value()) {
    return kExitFailure;
  }
  if (!args.trust_key_digests.empty()) {
    sidecar.trusted_key_digests.clear();
    for (const std::string& hex : args.trust_key_digests) {
      sidecar.trusted_key_digests.push_back(*ParseKeyDigest(hex));
    }
  }
  if (sidecar.trusted_key_digests.empty()) {
    return ReportError("device run: " + args.flash +
                           ": the device trusts no release key: give --trust-key-digest HEX "
                           "(aloft key digest KEY.pem)",
                       kExitUsage);
  }
  if (!sidecar.chip_id.has_value()) {
    sidecar.chip_id = LearnChip(*device);
  }
  std::array<TrustedKey, kMaxTrustedKeys> keys{};
  TrustPolicy trust;
  const DeviceConfig config = ConfigFromSidecar(sidecar, keys, trust);

  std::optional<std::vector<std::byte>> ca = ReadFileOrReport(args.ca);
  if (!ca.has_value()) {
    return kExitFailure;
  }
  Result<std::unique_ptr<host::FileKeyValue>> store = host::FileKeyValue::Open(args.flash + ".kv");
  if (!store.ok()) {
    return ReportFailure(args.flash + ".kv", store.status());
  }
  std::optional<std::array<std::byte, kSecretSize>> secret = ProvisionSecret(**store, args);
  if (!secret.has_value()) {
    return args.secret.empty() ? kExitUsage : kExitFailure;
  }

  host::CurlTransportOptions transport_options;
  transport_options.base_url = args.server;
  transport_options.ca_pem.assign(reinterpret_cast<const char*>(ca->data()), ca->size());
  transport_options.bearer_token = args.token;
  Result<std::unique_ptr<host::CurlTransport>> transport =
      host::CurlTransport::Create(transport_options);
  if (!transport.ok()) {
    const std::string subject =
        transport.status().reason() == std::string_view("transport: no CA certificate")
            ? args.ca
            : args.server;
    return ReportFailure(subject, transport.status());
  }

  const auto wall_now = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  emulator::EmulatedSystem system(/*virtual_time=*/false, /*seed=*/0,
                                  static_cast<uint64_t>(wall_now.count()));
  std::optional<emulator::SelfTestMode> forced;
  if (!args.self_test.empty()) {
    forced = emulator::ParseSelfTestMode(args.self_test);
  }
  emulator::ImageSelfTest self_test(*device->flash, device->layout, system, forced);
  host::OpensslCrypto crypto;

  agent::AgentConfig agent_config;
  agent_config.device_id = args.id;
  agent_config.device_secret = *secret;
  agent_config.trust = &trust;
  agent_config.schedule.check_interval_ms = args.check_interval_s * 1000;
  agent_config.schedule.check_jitter_ms = args.check_interval_s * 100;  // 10%
  agent_config.schedule.startup_jitter_ms = 0;
  agent_config.schedule.backoff_base_ms = 1000;
  agent_config.schedule.backoff_cap_ms = std::max<uint32_t>(args.check_interval_s * 1000, 1000);

  emulator::DeviceRuntime runtime(*device->flash, crypto, device->layout, config, **transport,
                                  **store, system, self_test, agent_config);
  RunPrinter printer(device->layout, sidecar);
  runtime.set_observer(&printer);

  g_stop = false;
  std::signal(SIGINT, OnStopSignal);
  std::signal(SIGTERM, OnStopSignal);
  const auto save_sidecar = [&] {
    return !printer.TakeSidecarDirty() || SaveSidecar(args.flash, sidecar);
  };
  uint32_t crashes = 0;
  while (!g_stop) {
    Result<agent::StepResult> result = runtime.RunCycle();
    if (!save_sidecar()) {
      return kExitFailure;
    }
    if (!result.ok()) {
      if (result.status().code() == Status::Code::kNotFound) {
        sidecar.running = std::nullopt;
        (void)SaveSidecar(args.flash, sidecar);
        return ReportError(args.flash + ": no bootable image: the device is bricked");
      }
      return ReportFailure(args.flash, result.status());
    }
    const agent::Agent& agent = *runtime.agent();
    if (*result == agent::StepResult::kDead) {
      // A crash during the self-test: the watchdog resets the chip, and the bootloader rolls
      // the image on trial back. Anything else that kills the agent is a failure.
      if (self_test.last_mode() == emulator::SelfTestMode::kCrash &&
          agent.phase() == agent::Phase::kTrial && crashes++ < 3) {
        std::printf("self-test: the firmware crashed; reset\n");
        if (Status booted = runtime.Boot(); !booted.ok()) {
          if (booted.code() == Status::Code::kNotFound) {
            return ReportError(args.flash + ": no bootable image: the device is bricked");
          }
          return ReportFailure(args.flash, booted);
        }
        continue;
      }
      return ReportFailure("device " + args.id, agent.last_error());
    }
    if (args.once && printer.CycleOver(agent)) {
      if (printer.Succeeded(agent)) {
        std::printf("done: running %s\n", std::string(agent.running_version()).c_str());
        return kExitOk;
      }
      std::string why = printer.failure();
      if (why.empty() && agent.record().report_count > 0) {
        why = std::to_string(agent.record().report_count) +
              " report(s) could not be sent: " + std::string(agent.last_error().reason());
      }
      if (why == port::kUntrustedServerReason) {
        return ReportError(args.server +
                           ": the server's certificate does not chain to the pinned CA " + args.ca);
      }
      return ReportError("device " + args.id + ": " + why);
    }
    SleepUntilWake(system, agent);
  }
  return kExitOk;
}

CLI::Validator HexValidator(size_t bytes, const std::string& what) {
  return CLI::Validator(
      [bytes, what](std::string& text) -> std::string {
        std::vector<std::byte> out(bytes);
        return ParseHex(text, out) ? std::string()
                                   : "'" + text + "' is not " + what + " (" +
                                         std::to_string(2 * bytes) + " hex characters)";
      },
      "HEX");
}

}  // namespace

void AddDeviceRunCommand(CLI::App& device_group, CommandResult& result) {
  auto args = std::make_shared<RunArgs>();
  CLI::App* run = device_group.add_subcommand(
      "run",
      "Run the device: boot, check in with the update server, download, install, reboot, "
      "self-test, confirm or roll back, report (the real agent over HTTPS with a pinned CA)");
  run->add_option("--flash", args->flash, "The flash image (aloft flash build)")->required();
  run->add_option("--server", args->server, "The update server, https://HOST:PORT")->required();
  run->add_option("--ca", args->ca, "The CA certificate to pin (PEM), as the firmware embeds it")
      ->required();
  run->add_option("--id", args->id, "The device id, as registered")->required();
  run->add_option("--token", args->token, "The device's bearer token (aloft devices register)")
      ->required();
  run->add_option("--secret", args->secret,
                  "The device's freshness secret (aloft devices register); remembered in "
                  "FLASH.kv/, so needed on the first run only")
      ->check(HexValidator(kSecretSize, "a 32-byte secret"));
  run->add_option("--trust-key-digest", args->trust_key_digests,
                  "A trusted release key digest (aloft key digest; up to 3; remembered)")
      ->check(HexValidator(32, "a key digest"))
      ->expected(1, 3);
  run->add_option("--self-test", args->self_test,
                  "Force the firmware's self-test outcome: pass, fail or crash (default: what the "
                  "running test image says, pass for any other image)")
      ->check(CLI::IsMember({"pass", "fail", "crash"}));
  run->add_flag("--once", args->once,
                "Exit after one full cycle (check-in, and the update it offered to the end)");
  run->add_option("--check-interval", args->check_interval_s,
                  "Seconds between check-ins (default 60; 10% jitter)")
      ->check(CLI::Range(1u, 86400u));
  run->add_flag("--verbose", args->verbose, "Also print the agent's own log (stderr)");
  run->callback([args, &result] { result.exit_code = RunDevice(*args); });
}

}  // namespace aloft::cli
