// `aloft device ...`: one emulated ESP32 whose flash is a file made by `aloft flash build`.
//
//   aloft device boot    --flash F [--no-rollback | --rollback] [--anti-rollback]
//                        [--chip NAME] [--trust-key-digest HEX]... [--json]
//   aloft device install --flash F APP.bin [--cut-power-at N [--tear] [--seed S]]
//                        [--chunk BYTES] [--json]
//   aloft device confirm --flash F [--json]
//   aloft device reject  --flash F [--json]
//
// boot is one reset (the second-stage bootloader: core/device/boot_device.h); install is
// esp_https_ota into the passive slot (core/install/stream_installer.h); confirm and reject end
// the new firmware's trial run (core/install/trial_outcome.h), acting on the running slot — the
// one that booted last. The flash file is mapped by the NOR emulator, so it holds exactly what a
// chip would, even after --cut-power-at. What a chip keeps outside its flash (the last booted
// slot, eFuses, build options) is in F.device.json (cli/emulated_device.h, docs/device.md).
// Exit codes: 0 ok; 1 refused or failed (no bootable image, invalid image, wrong state);
// 2 usage; 3 the emulated power was cut.

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/emulated_device.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "core/boot/slot_layout.h"
#include "core/device/boot_device.h"
#include "core/device/flash_image.h"
#include "core/format/app_image.h"
#include "core/install/stream_installer.h"
#include "core/install/trial_outcome.h"
#include "core/try.h"
#include "ports/host/fault_plan.h"
#include "ports/host/faulty_flash.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {

using namespace ::aloft::core;  // NOLINT(build/namespaces)

namespace {

std::string Label(const DeviceLayout& layout, int index) {
  const AppPartition* partition = layout.Find(index);
  return partition == nullptr ? std::string() : std::string(partition->label());
}

boost::json::value StateJson(const std::optional<OtaState>& state) {
  return state.has_value() ? boost::json::value(std::string(StateName(*state).view()))
                           : boost::json::value(nullptr);
}

std::string StateText(const std::optional<OtaState>& state) {
  return state.has_value() ? std::string(StateName(*state).view()) : std::string("none");
}

// The device's volatile facts and its flash, opened for a command.
struct Session {
  Session() = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  DeviceSidecar sidecar;
  FlashDevice device;
  std::array<TrustedKey, kMaxTrustedKeys> keys{};
  TrustPolicy trust;
  DeviceConfig config;
};

// Heap-allocated and never moved: config.trust points into it.
std::unique_ptr<Session> OpenSession(const std::string& flash_path) {
  std::optional<DeviceSidecar> sidecar = LoadSidecar(flash_path);
  if (!sidecar.has_value()) {
    return nullptr;
  }
  std::optional<FlashDevice> device =
      OpenFlashDevice(flash_path, sidecar->table_offset, /*in_memory=*/false);
  if (!device.has_value()) {
    return nullptr;
  }
  auto session = std::make_unique<Session>();
  session->sidecar = std::move(*sidecar);
  session->device = std::move(*device);
  session->config = ConfigFromSidecar(session->sidecar, session->keys, session->trust);
  return session;
}

// A session on a device that runs firmware (install/confirm/reject), or null after saying why
// (the device must boot first).
std::unique_ptr<Session> OpenRunningSession(const std::string& flash_path) {
  std::unique_ptr<Session> session = OpenSession(flash_path);
  if (session != nullptr && !session->sidecar.running.has_value()) {
    ReportError(flash_path +
                ": the device is not running any firmware yet: run 'aloft device boot --flash " +
                flash_path + "' first");
    return nullptr;
  }
  return session;
}

// ---- boot ----

struct BootArgs {
  std::string flash;
  bool no_rollback = false;
  bool rollback = false;
  bool anti_rollback = false;
  std::string chip;
  std::vector<std::string> trust_key_digests;
  bool json = false;
};

int RunBoot(const BootArgs& args) {
  std::unique_ptr<Session> session = OpenSession(args.flash);
  if (session == nullptr) {
    return kExitFailure;
  }
  DeviceSidecar& sidecar = session->sidecar;
  if (args.no_rollback) {
    sidecar.rollback = false;
  }
  if (args.rollback) {
    sidecar.rollback = true;
  }
  if (args.anti_rollback) {
    sidecar.anti_rollback = true;
  }
  if (!args.chip.empty()) {
    sidecar.chip_id = ChipIdFromName(args.chip);
  }
  if (!args.trust_key_digests.empty()) {
    sidecar.trusted_key_digests.clear();
    for (const std::string& hex : args.trust_key_digests) {
      sidecar.trusted_key_digests.push_back(*ParseKeyDigest(hex));
    }
  }
  if (!sidecar.chip_id.has_value()) {
    sidecar.chip_id = LearnChip(session->device);
  }
  session->config = ConfigFromSidecar(sidecar, session->keys, session->trust);

  host::OpensslCrypto crypto;
  std::vector<std::byte> work(kMinFlashImageWorkSize);
  BootOptions options;
  options.last_booted = sidecar.running;
  Result<BootReport> report = BootDevice(*session->device.flash, crypto, session->device.layout,
                                         session->config, work, options);
  if (!report.ok() && report.status().code() != Status::Code::kNotFound) {
    return ReportFailure(args.flash, report.status());
  }
  // RAM does not survive a reset: the running slot is whatever booted now (or nothing).
  sidecar.running = report.ok() ? std::optional<int>(report->index) : std::nullopt;
  if (report.ok()) {
    sidecar.efuse_secure_version = report->efuse_secure_version;
  }
  if (!SaveSidecar(args.flash, sidecar)) {
    return kExitFailure;
  }
  if (!report.ok()) {
    if (args.json) {
      PrintJson(boost::json::object{{"bootable", false},
                                    {"slot", nullptr},
                                    {"label", nullptr},
                                    {"state", nullptr},
                                    {"version", nullptr},
                                    {"rolled_back", false},
                                    {"error", "no bootable image: the device is bricked"}});
    }
    return ReportError(args.flash + ": no bootable image: the device is bricked");
  }
  const DeviceLayout& layout = session->device.layout;
  const std::string slot = AppPartitionName(report->index);
  const std::string version(report->app_description.version.view());
  if (args.json) {
    boost::json::array attempts;
    for (size_t i = 0; i < report->decision.attempts.size(); ++i) {
      const Status& status = report->attempt_status[i];
      attempts.push_back({{"slot", AppPartitionName(report->decision.attempts[i].index)},
                          {"ok", status.ok()},
                          {"error", status.ok() ? boost::json::value(nullptr)
                                                : boost::json::value(status.reason())}});
    }
    PrintJson(boost::json::object{
        {"bootable", true},
        {"slot", slot},
        {"label", Label(layout, report->index)},
        {"state", StateJson(report->state)},
        {"version", version},
        {"rolled_back", report->rolled_back},
        {"project", std::string(report->app_description.project_name.view())},
        {"secure_version", report->app_description.secure_version},
        {"chip", std::string(ChipName(report->header.chip_id))},
        {"selected", report->selected == kInvalidIndex
                         ? boost::json::value(nullptr)
                         : boost::json::value(AppPartitionName(report->selected))},
        {"otadata_writes", report->decision.writes.size()},
        {"efuse_secure_version", report->efuse_secure_version},
        {"attempts", std::move(attempts)}});
    return kExitOk;
  }
  std::printf("slot: %s\nlabel: %s\nstate: %s\nversion: %s\nrolled_back: %s\n", slot.c_str(),
              Label(layout, report->index).c_str(), StateText(report->state).c_str(),
              version.c_str(), report->rolled_back ? "true" : "false");
  for (size_t i = 0; i < report->decision.attempts.size(); ++i) {
    const Status& status = report->attempt_status[i];
    if (!status.ok()) {
      std::printf("skipped %s: %s\n", AppPartitionName(report->decision.attempts[i].index),
                  status.reason());
    }
  }
  return kExitOk;
}

// ---- install ----

struct InstallArgs {
  std::string flash;
  std::string app;
  std::optional<uint64_t> cut_power_at;
  bool tear = false;
  uint64_t seed = 1;
  uint32_t chunk = 4096;
  bool json = false;
};

int RunInstall(const InstallArgs& args) {
  std::unique_ptr<Session> session = OpenRunningSession(args.flash);
  if (session == nullptr) {
    return kExitFailure;
  }
  const int running = *session->sidecar.running;
  std::optional<std::vector<std::byte>> image = ReadFileOrReport(args.app);
  if (!image.has_value()) {
    return kExitFailure;
  }
  host::FaultPlan plan;
  if (args.cut_power_at.has_value()) {
    plan = args.tear ? host::FaultPlan::CutDuring(*args.cut_power_at,
                                                  host::MixSeed(args.seed, *args.cut_power_at))
                     : host::FaultPlan::CutBefore(*args.cut_power_at);
  }
  host::FaultyFlash flash(*session->device.flash, plan);
  host::OpensslCrypto crypto;
  StreamInstallerBuffer<> installer(flash, crypto, session->device.layout, session->config);
  const ConstByteSpan bytes(*image);
  Result<InstallResult> result = [&]() -> Result<InstallResult> {
    ALOFT_TRY(installer.Begin(running, static_cast<uint32_t>(bytes.size())));
    for (size_t done = 0; done < bytes.size(); done += args.chunk) {
      ALOFT_TRY(
          installer.Write(bytes.subspan(done, std::min<size_t>(args.chunk, bytes.size() - done))));
    }
    return installer.Finish();
  }();
  const uint64_t ops = flash.mutating_op_count();
  if (flash.power_lost()) {
    const std::string cut = host::Describe(*plan.cut);
    if (args.json) {
      PrintJson(boost::json::object{{"ops", ops}, {"power_cut", true}, {"cut", cut}});
    } else {
      std::printf("ops: %llu\npower cut: %s; %s keeps what the chip held\n",
                  static_cast<unsigned long long>(ops), cut.c_str(), args.flash.c_str());
    }
    return kExitPowerCut;
  }
  if (!result.ok()) {
    if (std::string_view(result.status().reason()) == "app image: built for another chip" &&
        image->size() > kHeaderChipIdOffset + 1 && installer.chip_id().has_value()) {
      const uint16_t chip = LoadLe16(*image, kHeaderChipIdOffset);
      const std::string_view name = ChipName(chip);
      return ReportError(args.app + ": app image: built for " +
                         (name.empty() ? "chip id " + std::to_string(chip) : std::string(name)) +
                         ", but the device runs an " + std::string(ChipName(*installer.chip_id())) +
                         " image");
    }
    return ReportFailure(args.app, result.status());
  }
  const DeviceLayout& layout = session->device.layout;
  const std::string version(result->app_description.version.view());
  const std::string state(StateName(result->state).view());
  if (args.json) {
    PrintJson(boost::json::object{{"ops", ops},
                                  {"power_cut", false},
                                  {"slot", AppPartitionName(result->slot)},
                                  {"label", Label(layout, result->slot)},
                                  {"version", version},
                                  {"state", state},
                                  {"image_len", result->image_len},
                                  {"bytes_written", result->total_len}});
    return kExitOk;
  }
  std::printf("installed %s into %s (%s), otadata state %s: the next boot tries it\nops: %llu\n",
              version.c_str(), AppPartitionName(result->slot), Label(layout, result->slot).c_str(),
              state.c_str(), static_cast<unsigned long long>(ops));
  return kExitOk;
}

// ---- confirm / reject ----

struct TrialArgs {
  std::string flash;
  bool json = false;
};

int RunConfirm(const TrialArgs& args) {
  std::unique_ptr<Session> session = OpenRunningSession(args.flash);
  if (session == nullptr) {
    return kExitFailure;
  }
  const int running = *session->sidecar.running;
  Result<uint32_t> efuse =
      ConfirmRunningApp(*session->device.flash, session->device.layout, session->config, running);
  if (!efuse.ok()) {
    return ReportFailure(args.flash + ": confirm " + AppPartitionName(running), efuse.status());
  }
  session->sidecar.efuse_secure_version = *efuse;
  if (!SaveSidecar(args.flash, session->sidecar)) {
    return kExitFailure;
  }
  const std::string label = Label(session->device.layout, running);
  if (args.json) {
    PrintJson(boost::json::object{{"slot", AppPartitionName(running)},
                                  {"label", label},
                                  {"state", "valid"},
                                  {"efuse_secure_version", *efuse}});
  } else {
    std::printf("confirmed %s (%s): state valid, rollback cancelled\n", AppPartitionName(running),
                label.c_str());
  }
  return kExitOk;
}

int RunReject(const TrialArgs& args) {
  std::unique_ptr<Session> session = OpenRunningSession(args.flash);
  if (session == nullptr) {
    return kExitFailure;
  }
  const int running = *session->sidecar.running;
  host::OpensslCrypto crypto;
  std::vector<std::byte> work(kMinFlashImageWorkSize);
  if (Status status = RejectRunningApp(*session->device.flash, crypto, session->device.layout,
                                       session->config, work);
      !status.ok()) {
    return ReportFailure(args.flash + ": reject " + AppPartitionName(running), status);
  }
  const std::string label = Label(session->device.layout, running);
  if (args.json) {
    PrintJson(boost::json::object{
        {"slot", AppPartitionName(running)}, {"label", label}, {"state", "invalid"}});
  } else {
    std::printf("rejected %s (%s): state invalid; the next boot rolls back\n",
                AppPartitionName(running), label.c_str());
  }
  return kExitOk;
}

CLI::Validator ChipValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return ChipIdFromName(text).has_value() ? std::string()
                                                : "'" + text +
                                                      "' is not a known chip (esp32, "
                                                      "esp32c3, esp32s3, ...)";
      },
      "CHIP");
}

CLI::Validator DigestValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return ParseKeyDigest(text).has_value()
                   ? std::string()
                   : "'" + text + "' is not a key digest (64 hex characters, aloft key digest)";
      },
      "HEX");
}

}  // namespace

void AddDeviceCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group = app.add_subcommand("device", "Run an emulated ESP32 over a flash image file");
  group->require_subcommand(1);

  auto boot_args = std::make_shared<BootArgs>();
  CLI::App* boot = group->add_subcommand(
      "boot", "One reset: the bootloader picks a slot, updates otadata, and boots it");
  boot->add_option("--flash", boot_args->flash, "The flash image (aloft flash build)")->required();
  auto* no_rollback = boot->add_flag("--no-rollback", boot_args->no_rollback,
                                     "The device is built without app rollback (remembered)");
  boot->add_flag("--rollback", boot_args->rollback,
                 "The device is built with app rollback "
                 "(the default; remembered)")
      ->excludes(no_rollback);
  boot->add_flag("--anti-rollback", boot_args->anti_rollback,
                 "The device enforces the eFuse secure version (remembered)");
  boot->add_option("--chip", boot_args->chip,
                   "The device's chip (default: the chip of the image it first runs)")
      ->check(ChipValidator());
  boot->add_option("--trust-key-digest", boot_args->trust_key_digests,
                   "Enable Secure Boot v2 with this trusted key digest (up to 3; remembered)")
      ->check(DigestValidator())
      ->expected(1, 3);
  boot->add_flag("--json", boot_args->json, "Print JSON");
  boot->callback([boot_args, &result] { result.exit_code = RunBoot(*boot_args); });

  auto install_args = std::make_shared<InstallArgs>();
  CLI::App* install = group->add_subcommand(
      "install", "Stream an app image into the passive slot and set it to boot next");
  install->add_option("--flash", install_args->flash, "The flash image")->required();
  install->add_option("app", install_args->app, "The app image")->required();
  auto* cut = install
                  ->add_option("--cut-power-at", install_args->cut_power_at,
                               "Cut the power at this flash operation (1-based); exit 3")
                  ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  install->add_flag("--tear", install_args->tear, "Tear the cut operation (a partial write/erase)")
      ->needs(cut);
  install->add_option("--seed", install_args->seed, "Seed of the tear (default 1)")->needs(cut);
  install
      ->add_option("--chunk", install_args->chunk,
                   "Bytes per download chunk fed to the installer (default 4096)")
      ->check(CLI::Range(1u, 1u << 24));
  install->add_flag("--json", install_args->json, "Print JSON");
  install->callback([install_args, &result] { result.exit_code = RunInstall(*install_args); });

  auto confirm_args = std::make_shared<TrialArgs>();
  CLI::App* confirm = group->add_subcommand(
      "confirm", "The running firmware passed its self-test: mark it valid, cancel rollback");
  confirm->add_option("--flash", confirm_args->flash, "The flash image")->required();
  confirm->add_flag("--json", confirm_args->json, "Print JSON");
  confirm->callback([confirm_args, &result] { result.exit_code = RunConfirm(*confirm_args); });

  auto reject_args = std::make_shared<TrialArgs>();
  CLI::App* reject = group->add_subcommand(
      "reject", "The running firmware failed its self-test: mark it invalid; next boot rolls back");
  reject->add_option("--flash", reject_args->flash, "The flash image")->required();
  reject->add_flag("--json", reject_args->json, "Print JSON");
  reject->callback([reject_args, &result] { result.exit_code = RunReject(*reject_args); });

  AddDeviceRunCommand(*group, result);
}

}  // namespace aloft::cli
