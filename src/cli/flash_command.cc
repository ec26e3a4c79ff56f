// `aloft flash ...`: whole flash images of an ESP32.
//
//   aloft flash build -o FLASH.bin --table partitions.(csv|bin) --app APP.bin
//                     [--flash-size 4MB] [--offset 0x8000]
//   aloft flash inspect FLASH.bin [--json] [--offset 0x8000]
//
// build lays out a chip as esptool would flash it after `idf.py build`: the partition table at
// its offset, blank (erased) otadata, the app in the factory partition if the table has one,
// else in the first OTA slot, every other byte 0xFF. inspect reads a flash dump and says what a
// person debugging a device needs: the table, both otadata entries, what the bootloader would
// boot (with and without rollback, decided on a copy, never written), each app slot's image
// verdict, and a plain-language diagnosis. Exit codes: build 0/1; inspect 0 if an image would
// boot, 1 if nothing would (a bricked device) or the file is unreadable. docs/device.md.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/json.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/command.h"
#include "cli/emulated_device.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "core/boot/slot_layout.h"
#include "core/device/boot_device.h"
#include "core/device/flash_image.h"
#include "core/format/app_image.h"
#include "core/format/otadata.h"
#include "core/format/partition_csv.h"
#include "core/format/partition_table.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {

using namespace ::aloft::core;  // NOLINT(build/namespaces)

namespace {

constexpr std::array<std::pair<const char*, uint32_t>, 8> kFlashSizes = {{{"1MB", 0x100000},
                                                                          {"2MB", 0x200000},
                                                                          {"4MB", 0x400000},
                                                                          {"8MB", 0x800000},
                                                                          {"16MB", 0x1000000},
                                                                          {"32MB", 0x2000000},
                                                                          {"64MB", 0x4000000},
                                                                          {"128MB", 0x8000000}}};

std::optional<uint32_t> ParseOffset(const std::string& text) {
  Result<int64_t> value = ParsePartitionCsvNumber(text);
  if (!value.ok() || *value < 0 || *value > 0xFFFFFFFF || *value % 0x1000 != 0) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

CLI::Validator OffsetValidator() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        return ParseOffset(text).has_value()
                   ? std::string()
                   : "'" + text + "' is not a 4 KiB-aligned offset (0x8000, 32768)";
      },
      "OFFSET");
}

std::string SlotText(int index, const AppPartition& partition) {
  return std::string(AppPartitionName(index)) + " (" + std::string(partition.label()) + ")";
}

// ---- build ----

struct BuildArgs {
  std::string output;
  std::string table;
  std::string app;
  std::string flash_size = "4MB";
  std::string offset = "0x8000";
};

std::optional<PartitionTable> ReadTable(const std::string& path, uint32_t table_offset,
                                        port::Crypto& crypto) {
  std::optional<std::vector<std::byte>> bytes = ReadFileOrReport(path);
  if (!bytes.has_value()) {
    return std::nullopt;
  }
  const bool binary =
      bytes->size() >= 2 && (*bytes)[0] == std::byte{0xAA} && (*bytes)[1] == std::byte{0x50};
  if (binary) {
    Result<PartitionTable> table = ParsePartitionTableBinary(*bytes, crypto);
    if (!table.ok()) {
      ReportFailure(path, table.status());
      return std::nullopt;
    }
    return std::move(*table);
  }
  PartitionCsvOptions options;
  options.table_offset = table_offset;
  const std::string_view text(reinterpret_cast<const char*>(bytes->data()), bytes->size());
  Result<PartitionTable> table = ParsePartitionCsv(text, options);
  if (!table.ok()) {
    const std::string where =
        table.status().has_context() ? path + ":" + std::to_string(table.status().context()) : path;
    ReportError(where + ": " + table.status().reason() +
                " (aloft partition check gives the details)");
    return std::nullopt;
  }
  return std::move(*table);
}

int RunBuild(const BuildArgs& args) {
  uint32_t flash_size = 0;
  for (const auto& [name, size] : kFlashSizes) {
    if (args.flash_size == name) {
      flash_size = size;
    }
  }
  const uint32_t table_offset = *ParseOffset(args.offset);
  host::OpensslCrypto crypto;
  std::optional<PartitionTable> table = ReadTable(args.table, table_offset, crypto);
  if (!table.has_value()) {
    return kExitFailure;
  }
  PartitionValidationOptions validation;
  validation.table_offset = table_offset;
  validation.flash_size = flash_size;
  if (Status valid = ValidatePartitionTable(*table, validation); !valid.ok()) {
    const std::string name = valid.has_context() && valid.context() < table->size()
                                 ? std::string((*table)[valid.context()].name())
                                 : std::string("?");
    return ReportError(args.table + ": partition " + name + ": " + valid.reason() +
                       " (aloft partition check gives the details)");
  }
  Result<DeviceLayout> layout = MakeDeviceLayout(*table, flash_size);
  if (!layout.ok()) {
    const std::string name =
        layout.status().has_context()
            ? " (partition " + std::string((*table)[layout.status().context()].name()) + ")"
            : std::string();
    return ReportError(args.table + ": " + layout.status().reason() + name);
  }
  // esptool/idf.py put the app at the factory partition when there is one, else at ota_0 (the
  // first OTA slot).
  int target = kInvalidIndex;
  if (layout->Find(kFactoryIndex) != nullptr) {
    target = kFactoryIndex;
  } else {
    for (int k = 0; k < kMaxOtaSlots && target == kInvalidIndex; ++k) {
      if (layout->Find(k) != nullptr) {
        target = k;
      }
    }
  }
  if (target == kInvalidIndex) {
    return ReportError(args.table + ": no factory or OTA app partition to hold the app");
  }
  const AppPartition& slot = *layout->Find(target);

  std::optional<std::vector<std::byte>> app = ReadFileOrReport(args.app);
  if (!app.has_value()) {
    return kExitFailure;
  }
  Result<AppImageInfo> info = InspectAppImage(*app, crypto);
  if (!info.ok()) {
    return ReportFailure(args.app, info.status());
  }
  if (ChipName(info->header.chip_id).empty()) {
    return ReportFailure(args.app, PermissionDenied("app image: unknown chip id", 12));
  }
  ImageRequirements requirements;
  requirements.chip_id = info->header.chip_id;  // a valid image for its own chip
  requirements.slot_size = slot.size;
  if (Status verdict = VerifyAppImage(*info, requirements); !verdict.ok()) {
    if (verdict.code() == Status::Code::kOutOfRange) {
      return ReportError(args.app + ": does not fit " + SlotText(target, slot) +
                         ": the image needs " + std::to_string(info->image_len) +
                         " bytes, the slot has " + std::to_string(slot.size));
    }
    return ReportFailure(args.app, verdict);
  }
  if (app->size() > slot.size) {
    return ReportError(args.app + ": does not fit " + SlotText(target, slot) + ": the file has " +
                       std::to_string(app->size()) + " bytes, the slot " +
                       std::to_string(slot.size));
  }

  std::vector<std::byte> flash(flash_size, std::byte{0xFF});
  std::vector<std::byte> table_binary(kPartitionTableBinarySize, std::byte{0xFF});
  if (Status serialized = SerializePartitionTableBinary(*table, crypto, table_binary);
      !serialized.ok()) {
    return ReportFailure(args.table, serialized);
  }
  std::copy(table_binary.begin(), table_binary.end(), flash.begin() + table_offset);
  std::copy(app->begin(), app->end(), flash.begin() + slot.offset);
  if (!WriteFileOrReport(args.output, flash)) {
    return kExitFailure;
  }
  // A new chip: whatever device state lay beside an older file of this name is gone.
  std::error_code ignored;
  std::filesystem::remove(SidecarPath(args.output), ignored);
  std::filesystem::remove_all(args.output + ".kv", ignored);  // `aloft device run`'s NVS
  const AppDescription& description = *info->app_description;
  std::printf("wrote %s: %s flash, partition table at %s, otadata blank\n", args.output.c_str(),
              args.flash_size.c_str(), Hex(table_offset).c_str());
  std::printf("app %s version %s (%s) in %s at %s, %u of %u bytes\n",
              std::string(description.project_name.view()).c_str(),
              std::string(description.version.view()).c_str(),
              std::string(ChipName(info->header.chip_id)).c_str(), SlotText(target, slot).c_str(),
              Hex(slot.offset).c_str(), static_cast<unsigned>(app->size()), slot.size);
  return kExitOk;
}

// ---- inspect ----

struct InspectArgs {
  std::string flash;
  bool json = false;
  std::string offset = "0x8000";
};

struct SlotReport {
  int index = kInvalidIndex;
  AppPartition partition;
  bool empty = false;
  Status verdict;
  std::optional<AppImageInfo> info;
  std::optional<uint32_t> truncated_at;  // slot-relative: the rest of the slot is erased
};

// A short text for a failed verdict, as people say it.
std::string VerdictText(const Status& verdict) {
  const std::string_view reason = verdict.reason();
  if (reason == "app image: checksum mismatch") {
    return "checksum fails";
  }
  if (reason == "app image: sha256 mismatch") {
    return "sha256 fails";
  }
  std::string text(
      reason.substr(reason.find(": ") == std::string_view::npos ? 0 : reason.find(": ") + 2));
  return text;
}

SlotReport InspectSlot(const std::vector<std::byte>& flash, int index,
                       const AppPartition& partition, port::Crypto& crypto) {
  SlotReport report;
  report.index = index;
  report.partition = partition;
  const ConstByteSpan bytes = ConstByteSpan(flash).subspan(partition.offset, partition.size);
  const auto last =
      std::find_if(bytes.rbegin(), bytes.rend(), [](std::byte b) { return b != std::byte{0xFF}; });
  const uint32_t used = static_cast<uint32_t>(bytes.rend() - last);
  if (used == 0) {
    report.empty = true;
    report.verdict = NotFound("flash: slot is erased");
    return report;
  }
  Result<AppImageInfo> info = InspectAppImage(bytes, crypto);
  if (!info.ok()) {
    report.verdict = info.status();
    report.truncated_at = used;
    return report;
  }
  report.info = *info;
  ImageRequirements requirements;
  requirements.chip_id = info->header.chip_id;
  requirements.slot_size = partition.size;
  report.verdict = VerifyAppImage(*info, requirements);
  if (report.verdict.ok() && ChipName(info->header.chip_id).empty()) {
    report.verdict = PermissionDenied("app image: unknown chip id", kHeaderChipIdOffset);
  }
  if (!report.verdict.ok() && used < info->image_len) {
    report.truncated_at = used;
  }
  return report;
}

struct BootPrediction {
  bool rollback = true;
  Status status;
  BootReport report;
};

BootPrediction Predict(FlashDevice& device, const DeviceConfig& base, bool rollback,
                       port::Crypto& crypto) {
  BootPrediction prediction;
  prediction.rollback = rollback;
  DeviceConfig config = base;
  config.rollback_enabled = rollback;
  std::vector<std::byte> work(kMinFlashImageWorkSize);
  BootOptions options;
  options.dry_run = true;  // inspect never writes, not even to its in-memory copy
  Result<BootReport> report =
      BootDevice(*device.flash, crypto, device.layout, config, work, options);
  prediction.status = report.status();
  if (report.ok()) {
    prediction.report = *report;
  }
  return prediction;
}

std::string SlotName(const DeviceLayout& layout, int index) {
  const AppPartition* partition = layout.Find(index);
  return partition == nullptr ? AppPartitionName(index) : SlotText(index, *partition);
}

std::string BootsText(const BootPrediction& prediction) {
  if (!prediction.status.ok()) {
    return "nothing boots";
  }
  return "the device boots " + std::string(AppPartitionName(prediction.report.index));
}

std::vector<std::string> Diagnose(const FlashDevice& device, const std::optional<Otadata>& otadata,
                                  const std::vector<SlotReport>& slots,
                                  const BootPrediction& with_rollback) {
  std::vector<std::string> findings;
  const DeviceLayout& layout = device.layout;
  const std::string boots = BootsText(with_rollback);
  const uint32_t count = layout.slots.bootloader_ota_count;
  if (otadata.has_value()) {
    bool blank = true;
    for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
      const OtaSelectEntry& entry = otadata->entries[static_cast<size_t>(sector)];
      if (entry.seq != kOtaSeqErased) {
        blank = false;
      }
      if (entry.seq != kOtaSeqErased && !HasValidCrc(entry)) {
        findings.push_back("otadata sector " + std::to_string(sector) +
                           " has a bad CRC: a write was interrupted; " + boots);
      }
    }
    if (blank) {
      findings.push_back(
          layout.slots.has_factory
              ? "otadata is blank: the device boots the factory app"
              : "otadata is blank: the first boot boots the first image that verifies and "
                "records it as VALID; " +
                    boots);
    }
    const int active = ActiveEntry(*otadata);
    for (int sector = 0; sector < kOtadataSectorCount && count > 0; ++sector) {
      const OtaSelectEntry& entry = otadata->entries[static_cast<size_t>(sector)];
      if (entry.seq == kOtaSeqErased || !HasValidCrc(entry)) {
        continue;
      }
      const std::string slot = AppPartitionName(static_cast<int>(SlotOfSeq(entry.seq, count)));
      switch (entry.state) {
        case OtaState::kPendingVerify:
          findings.push_back(slot +
                             " is PENDING_VERIFY: the new firmware has not confirmed itself; the "
                             "next reset rolls back to " +
                             (with_rollback.status.ok()
                                  ? std::string(AppPartitionName(with_rollback.report.index))
                                  : std::string("nothing (no other image verifies)")));
          break;
        case OtaState::kNew:
          if (sector == active) {
            findings.push_back(slot +
                               " is NEW: the next reset starts a trial run of the new firmware "
                               "(PENDING_VERIFY); it must confirm itself or the reset after "
                               "that rolls back");
          }
          break;
        case OtaState::kInvalid:
          findings.push_back(slot + " was rejected by its firmware (INVALID); " + boots);
          break;
        case OtaState::kAborted:
          findings.push_back(slot + " was abandoned (ABORTED: reset before it confirmed itself); " +
                             boots);
          break;
        case OtaState::kValid:
        case OtaState::kUndefined:
          break;
      }
    }
  }
  std::optional<uint16_t> chip;
  for (const SlotReport& slot : slots) {
    const std::string name = AppPartitionName(slot.index);
    if (slot.empty) {
      continue;
    }
    if (!slot.verdict.ok()) {
      if (slot.truncated_at.has_value()) {
        findings.push_back(name + " image truncated at " + Hex(*slot.truncated_at) + ": " +
                           VerdictText(slot.verdict));
      } else {
        findings.push_back(name + " image does not verify: " + VerdictText(slot.verdict));
      }
      continue;
    }
    const uint16_t id = slot.info->header.chip_id;
    if (chip.has_value() && *chip != id) {
      findings.push_back(name + " holds an " + std::string(ChipName(id)) +
                         " image but another slot holds an " + std::string(ChipName(*chip)) +
                         " image: one device cannot run both");
    }
    chip = chip.value_or(id);
  }
  if (with_rollback.status.ok()) {
    const BootReport& report = with_rollback.report;
    if (report.selected != kInvalidIndex && report.selected != report.index &&
        layout.Find(report.selected) != nullptr) {
      findings.push_back("otadata selects " + std::string(AppPartitionName(report.selected)) +
                         " but its image does not verify: the bootloader falls back to " +
                         AppPartitionName(report.index));
    }
  } else {
    findings.push_back("no bootable image: the device is bricked");
  }
  if (findings.empty()) {
    const BootReport& report = with_rollback.report;
    findings.push_back("healthy: the device boots " + std::string(AppPartitionName(report.index)) +
                       (report.state.has_value()
                            ? " (" + std::string(StateName(*report.state).view()) + ")"
                            : std::string()) +
                       ", version " + std::string(report.app_description.version.view()));
  }
  return findings;
}

boost::json::value PredictionJson(const DeviceLayout& layout, const BootPrediction& prediction) {
  if (!prediction.status.ok()) {
    return nullptr;
  }
  const BootReport& report = prediction.report;
  boost::json::object object;
  object["slot"] = AppPartitionName(report.index);
  object["label"] = std::string(layout.Find(report.index)->label());
  object["state"] = report.state.has_value()
                        ? boost::json::value(std::string(StateName(*report.state).view()))
                        : boost::json::value(nullptr);
  object["version"] = std::string(report.app_description.version.view());
  object["rolled_back"] = report.rolled_back;
  object["selected"] = report.selected == kInvalidIndex
                           ? boost::json::value(nullptr)
                           : boost::json::value(AppPartitionName(report.selected));
  return object;
}

int RunInspect(const InspectArgs& args) {
  const uint32_t table_offset = *ParseOffset(args.offset);
  std::optional<FlashDevice> device = OpenFlashDevice(args.flash, table_offset, /*in_memory=*/true);
  if (!device.has_value()) {
    return kExitFailure;
  }
  host::OpensslCrypto crypto;
  const ConstByteSpan contents = device->flash->contents();
  const std::vector<std::byte> flash(contents.begin(), contents.end());
  std::optional<Otadata> otadata;
  if (device->layout.slots.has_otadata) {
    Result<Otadata> read = ReadOtadata(*device->flash, device->layout.otadata_offset);
    if (read.ok()) {
      otadata = *read;
    }
  }
  std::vector<SlotReport> slots;
  std::array<int, kMaxOtaSlots + 2> indexes{};
  const size_t count = device->layout.Indexes(indexes);
  for (size_t i = 0; i < count; ++i) {
    slots.push_back(InspectSlot(flash, indexes[i], *device->layout.Find(indexes[i]), crypto));
  }
  // The device's chip, when the emulator has met it; otherwise each image is judged for its own.
  DeviceConfig config;
  if (std::optional<DeviceSidecar> sidecar = LoadSidecar(args.flash); sidecar.has_value()) {
    config.chip_id = sidecar->chip_id;
    config.anti_rollback_enabled = sidecar->anti_rollback;
    config.efuse_secure_version = sidecar->efuse_secure_version;
  }
  const BootPrediction with_rollback = Predict(*device, config, true, crypto);
  const BootPrediction without_rollback = Predict(*device, config, false, crypto);
  const std::vector<std::string> diagnosis = Diagnose(*device, otadata, slots, with_rollback);
  const int exit_code = with_rollback.status.ok() ? kExitOk : kExitFailure;

  if (args.json) {
    boost::json::object root;
    root["flash_size"] = device->flash->size();
    root["table_offset"] = Hex(table_offset);
    boost::json::array partitions;
    for (const Partition& p : device->table.entries()) {
      boost::json::object row;
      row["name"] = std::string(p.name());
      row["type"] = std::string(PartitionTypeName(p.type).view());
      row["subtype"] = std::string(PartitionSubtypeName(p.type, p.subtype).view());
      row["offset"] = Hex(p.offset);
      row["size"] = Hex(p.size);
      partitions.push_back(std::move(row));
    }
    root["partitions"] = std::move(partitions);
    if (otadata.has_value()) {
      boost::json::array entries;
      for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
        const OtaSelectEntry& entry = otadata->entries[static_cast<size_t>(sector)];
        boost::json::object row;
        row["sector"] = sector;
        row["seq"] = entry.seq;
        row["state"] = std::string(StateName(entry.state).view());
        row["erased"] = entry.seq == kOtaSeqErased;
        row["crc_ok"] = HasValidCrc(entry);
        row["valid"] = IsEntryValid(entry);
        row["slot"] = entry.seq != kOtaSeqErased && device->layout.slots.bootloader_ota_count > 0
                          ? boost::json::value(AppPartitionName(static_cast<int>(
                                SlotOfSeq(entry.seq, device->layout.slots.bootloader_ota_count))))
                          : boost::json::value(nullptr);
        entries.push_back(std::move(row));
      }
      root["otadata"] = {{"offset", Hex(device->layout.otadata_offset)},
                         {"active_sector", ActiveEntry(*otadata)},
                         {"entries", std::move(entries)}};
    } else {
      root["otadata"] = nullptr;
    }
    boost::json::array slot_rows;
    for (const SlotReport& slot : slots) {
      boost::json::object row;
      row["slot"] = AppPartitionName(slot.index);
      row["label"] = std::string(slot.partition.label());
      row["offset"] = Hex(slot.partition.offset);
      row["size"] = Hex(slot.partition.size);
      row["empty"] = slot.empty;
      row["valid"] = slot.verdict.ok();
      if (!slot.verdict.ok() && !slot.empty) {
        row["error"] = slot.verdict.reason();
      }
      if (slot.truncated_at.has_value()) {
        row["truncated_at"] = Hex(*slot.truncated_at);
      }
      if (slot.info.has_value()) {
        row["chip"] = std::string(ChipName(slot.info->header.chip_id));
        row["image_len"] = slot.info->image_len;
        if (slot.info->app_description.has_value()) {
          row["project"] = std::string(slot.info->app_description->project_name.view());
          row["version"] = std::string(slot.info->app_description->version.view());
          row["secure_version"] = slot.info->app_description->secure_version;
        }
      }
      slot_rows.push_back(std::move(row));
    }
    root["slots"] = std::move(slot_rows);
    root["boot"] = {{"rollback", PredictionJson(device->layout, with_rollback)},
                    {"no_rollback", PredictionJson(device->layout, without_rollback)}};
    boost::json::array lines;
    for (const std::string& line : diagnosis) {
      lines.emplace_back(line);
    }
    root["diagnosis"] = std::move(lines);
    root["bootable"] = with_rollback.status.ok();
    PrintJson(root);
    return exit_code;
  }

  std::printf("flash %s: %u bytes, partition table at %s\n\n", args.flash.c_str(),
              device->flash->size(), Hex(table_offset).c_str());
  std::printf("partitions:\n");
  for (const Partition& p : device->table.entries()) {
    std::printf("  %-16s %-5s %-9s %-10s %s\n", std::string(p.name()).c_str(),
                std::string(PartitionTypeName(p.type).view()).c_str(),
                std::string(PartitionSubtypeName(p.type, p.subtype).view()).c_str(),
                Hex(p.offset).c_str(), Hex(p.size).c_str());
  }
  std::printf("\notadata:");
  if (!otadata.has_value()) {
    std::printf(" none (the bootloader boots factory)\n");
  } else {
    std::printf(" at %s\n", Hex(device->layout.otadata_offset).c_str());
    for (int sector = 0; sector < kOtadataSectorCount; ++sector) {
      const OtaSelectEntry& entry = otadata->entries[static_cast<size_t>(sector)];
      if (entry.seq == kOtaSeqErased) {
        std::printf("  sector %d: erased\n", sector);
        continue;
      }
      const uint32_t ota_count = device->layout.slots.bootloader_ota_count;
      std::printf(
          "  sector %d: seq %u, state %s, crc %s%s%s\n", sector, entry.seq,
          std::string(StateName(entry.state).view()).c_str(), HasValidCrc(entry) ? "ok" : "BAD",
          ota_count > 0
              ? (", selects " +
                 std::string(AppPartitionName(static_cast<int>(SlotOfSeq(entry.seq, ota_count)))))
                    .c_str()
              : "",
          sector == ActiveEntry(*otadata) ? " (active)" : "");
    }
  }
  std::printf("\napp slots:\n");
  for (const SlotReport& slot : slots) {
    std::printf("  %-8s %-16s %s: ", AppPartitionName(slot.index),
                std::string(slot.partition.label()).c_str(), Hex(slot.partition.offset).c_str());
    if (slot.empty) {
      std::printf("empty\n");
      continue;
    }
    if (slot.info.has_value() && slot.info->app_description.has_value()) {
      std::printf("%s %s %s, ", std::string(ChipName(slot.info->header.chip_id)).c_str(),
                  std::string(slot.info->app_description->project_name.view()).c_str(),
                  std::string(slot.info->app_description->version.view()).c_str());
    }
    std::printf("%s\n",
                slot.verdict.ok() ? "valid" : ("INVALID: " + VerdictText(slot.verdict)).c_str());
  }
  std::printf("\nboot (rollback enabled):  %s\n",
              with_rollback.status.ok()
                  ? SlotName(device->layout, with_rollback.report.index).c_str()
                  : "nothing: no bootable image");
  std::printf("boot (rollback disabled): %s\n",
              without_rollback.status.ok()
                  ? SlotName(device->layout, without_rollback.report.index).c_str()
                  : "nothing: no bootable image");
  std::printf("\ndiagnosis:\n");
  for (const std::string& line : diagnosis) {
    std::printf("  %s\n", line.c_str());
  }
  return exit_code;
}

}  // namespace

void AddFlashCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group = app.add_subcommand("flash", "Build and inspect whole ESP32 flash images");
  group->require_subcommand(1);

  auto build_args = std::make_shared<BuildArgs>();
  CLI::App* build = group->add_subcommand(
      "build", "Lay out a flash image: partition table, blank otadata, the app in its slot");
  build->add_option("-o,--output", build_args->output, "The flash image to write")->required();
  build->add_option("--table", build_args->table, "Partition table, CSV or binary")
      ->required()
      ->check(CLI::ExistingFile);
  build->add_option("--app", build_args->app, "The app image (goes to factory, else ota_0)")
      ->required()
      ->check(CLI::ExistingFile);
  std::vector<std::string> sizes;
  for (const auto& [name, size] : kFlashSizes) {
    sizes.emplace_back(name);
  }
  build->add_option("--flash-size", build_args->flash_size, "Flash chip size (default 4MB)")
      ->check(CLI::IsMember(sizes));
  build->add_option("--offset", build_args->offset, "Partition table offset (default 0x8000)")
      ->check(OffsetValidator());
  build->callback([build_args, &result] { result.exit_code = RunBuild(*build_args); });

  auto inspect_args = std::make_shared<InspectArgs>();
  CLI::App* inspect = group->add_subcommand(
      "inspect", "Explain a flash image: table, otadata, slots, what boots, what is wrong");
  inspect->add_option("flash", inspect_args->flash, "The flash image")->required();
  inspect->add_flag("--json", inspect_args->json, "Print JSON");
  inspect->add_option("--offset", inspect_args->offset, "Partition table offset (default 0x8000)")
      ->check(OffsetValidator());
  inspect->callback([inspect_args, &result] { result.exit_code = RunInspect(*inspect_args); });
}

}  // namespace aloft::cli
