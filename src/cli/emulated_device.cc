#include "cli/emulated_device.h"

#include <boost/json.hpp>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <string_view>

#include "cli/command.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "core/boot/slot_layout.h"
#include "core/device/flash_image.h"
#include "core/format/app_image.h"
#include "ports/host/openssl_crypto.h"

namespace aloft::cli {

using namespace ::aloft::core;  // NOLINT(build/namespaces)

namespace {

constexpr int kSidecarFormat = 1;

bool Bad(const std::string& path, const std::string& what) {
  ReportError(path + ": " + what);
  return false;
}

}  // namespace

std::string SidecarPath(const std::string& flash_path) { return flash_path + ".device.json"; }

std::optional<int> ParseSlotName(const std::string& name) {
  if (name == "factory") {
    return kFactoryIndex;
  }
  if (name == "test") {
    return kTestIndex;
  }
  for (int k = 0; k < kMaxOtaSlots; ++k) {
    if (name == AppPartitionName(k)) {
      return k;
    }
  }
  return std::nullopt;
}

std::optional<DeviceSidecar> LoadSidecar(const std::string& flash_path) {
  const std::string path = SidecarPath(flash_path);
  DeviceSidecar sidecar;
  std::error_code exists_error;
  if (!std::filesystem::exists(path, exists_error)) {
    return sidecar;
  }
  std::optional<std::vector<std::byte>> bytes = ReadFileOrReport(path);
  if (!bytes.has_value()) {
    return std::nullopt;
  }
  boost::system::error_code error;
  const boost::json::value value = boost::json::parse(
      std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()), error);
  if (error || !value.is_object()) {
    Bad(path, "not a device sidecar (invalid JSON)");
    return std::nullopt;
  }
  const boost::json::object& object = value.as_object();
  const auto field = [&](std::string_view key) { return object.if_contains(key); };
  if (const auto* format = field("format");
      format == nullptr || !format->is_int64() || format->as_int64() != kSidecarFormat) {
    Bad(path, "unsupported sidecar format (expected \"format\": 1)");
    return std::nullopt;
  }
  if (const auto* chip = field("chip"); chip != nullptr && !chip->is_null()) {
    std::optional<uint16_t> id;
    if (chip->is_string()) {
      id = ChipIdFromName(std::string_view(chip->as_string()));
    }
    if (!id.has_value()) {
      Bad(path, "field chip: not a known chip name");
      return std::nullopt;
    }
    sidecar.chip_id = id;
  }
  if (const auto* running = field("running"); running != nullptr && !running->is_null()) {
    std::optional<int> index;
    if (running->is_string()) {
      index = ParseSlotName(std::string(running->as_string()));
    }
    if (!index.has_value()) {
      Bad(path, "field running: not a slot name (ota_0..ota_15, factory, test)");
      return std::nullopt;
    }
    sidecar.running = index;
  }
  for (const auto& [key, target] :
       {std::pair<std::string_view, bool*>{"rollback", &sidecar.rollback},
        {"anti_rollback", &sidecar.anti_rollback}}) {
    if (const auto* flag = field(key); flag != nullptr) {
      if (!flag->is_bool()) {
        Bad(path, "field " + std::string(key) + ": not true or false");
        return std::nullopt;
      }
      *target = flag->as_bool();
    }
  }
  for (const auto& [key, target] : {std::pair<std::string_view, uint32_t*>{
                                        "efuse_secure_version", &sidecar.efuse_secure_version},
                                    {"table_offset", &sidecar.table_offset}}) {
    if (const auto* number = field(key); number != nullptr) {
      if (!number->is_int64() || number->as_int64() < 0 || number->as_int64() > 0xFFFFFFFF) {
        Bad(path, "field " + std::string(key) + ": not a number from 0 to 4294967295");
        return std::nullopt;
      }
      *target = static_cast<uint32_t>(number->as_int64());
    }
  }
  if (const auto* keys = field("trusted_key_digests"); keys != nullptr) {
    if (!keys->is_array() || keys->as_array().size() > kMaxTrustedKeys) {
      Bad(path, "field trusted_key_digests: not a list of at most 3 digests");
      return std::nullopt;
    }
    for (const boost::json::value& key : keys->as_array()) {
      std::optional<std::array<std::byte, 32>> digest;
      if (key.is_string()) {
        digest = ParseKeyDigest(std::string(key.as_string()));
      }
      if (!digest.has_value()) {
        Bad(path, "field trusted_key_digests: each digest is 64 hex characters");
        return std::nullopt;
      }
      sidecar.trusted_key_digests.push_back(*digest);
    }
  }
  return sidecar;
}

bool SaveSidecar(const std::string& flash_path, const DeviceSidecar& sidecar) {
  boost::json::object object;
  object["format"] = kSidecarFormat;
  object["chip"] = sidecar.chip_id.has_value()
                       ? boost::json::value(std::string(ChipName(*sidecar.chip_id)))
                       : boost::json::value(nullptr);
  object["running"] = sidecar.running.has_value()
                          ? boost::json::value(AppPartitionName(*sidecar.running))
                          : boost::json::value(nullptr);
  object["rollback"] = sidecar.rollback;
  object["anti_rollback"] = sidecar.anti_rollback;
  object["efuse_secure_version"] = sidecar.efuse_secure_version;
  object["table_offset"] = sidecar.table_offset;
  boost::json::array keys;
  for (const auto& digest : sidecar.trusted_key_digests) {
    keys.emplace_back(HexString(digest));
  }
  object["trusted_key_digests"] = std::move(keys);
  return WriteFileOrReport(SidecarPath(flash_path), TextBytes(PrettyJson(object)));
}

DeviceConfig ConfigFromSidecar(const DeviceSidecar& sidecar,
                               std::array<TrustedKey, kMaxTrustedKeys>& keys, TrustPolicy& trust) {
  DeviceConfig config;
  config.chip_id = sidecar.chip_id;
  config.rollback_enabled = sidecar.rollback;
  config.anti_rollback_enabled = sidecar.anti_rollback;
  config.efuse_secure_version = sidecar.efuse_secure_version;
  const size_t count = std::min(sidecar.trusted_key_digests.size(), keys.size());
  for (size_t i = 0; i < count; ++i) {
    keys[i].digest = sidecar.trusted_key_digests[i];
    keys[i].revoked = false;
  }
  if (count > 0) {
    trust.keys = std::span<const TrustedKey>(keys).first(count);
    trust.scheme = std::nullopt;  // the digests decide, whatever their scheme
    config.trust = &trust;
  }
  return config;
}

std::optional<FlashDevice> OpenFlashDevice(const std::string& path, uint32_t table_offset,
                                           bool in_memory) {
  FlashDevice device;
  if (in_memory) {
    std::optional<std::vector<std::byte>> bytes = ReadFileOrReport(path);
    if (!bytes.has_value()) {
      return std::nullopt;
    }
    Result<std::unique_ptr<host::EmulatedFlash>> flash =
        host::EmulatedFlash::CreateInMemoryFrom(*bytes);
    if (!flash.ok()) {
      ReportError(path + ": not a flash image: its size (" + std::to_string(bytes->size()) +
                  " bytes) is not a non-zero multiple of 4096");
      return std::nullopt;
    }
    device.flash = std::move(*flash);
  } else {
    Result<std::unique_ptr<host::EmulatedFlash>> flash = host::EmulatedFlash::OpenFile(path);
    if (!flash.ok()) {
      if (flash.status().code() == Status::Code::kNotFound) {
        ReportError("cannot read " + path + ": no such file");
      } else if (flash.status().code() == Status::Code::kInvalidArgument) {
        ReportError(path + ": not a flash image: its size is not a non-zero multiple of 4096");
      } else {
        ReportFailure(path, flash.status());
      }
      return std::nullopt;
    }
    device.flash = std::move(*flash);
  }
  std::vector<std::byte> table_bytes(kPartitionTableBinarySize);
  if (table_offset > device.flash->size() ||
      device.flash->size() - table_offset < table_bytes.size() ||
      !device.flash->Read(table_offset, table_bytes).ok()) {
    ReportError(path + ": no partition table at " + Hex(table_offset) + ": past the end of flash");
    return std::nullopt;
  }
  host::OpensslCrypto crypto;
  Result<PartitionTable> table = ParsePartitionTableBinary(table_bytes, crypto);
  if (!table.ok()) {
    ReportError(path + ": no valid partition table at " + Hex(table_offset) + ": " +
                table.status().reason() +
                (table.status().has_context()
                     ? " (row " + std::to_string(table.status().context()) + ")"
                     : std::string()));
    return std::nullopt;
  }
  device.table = std::move(*table);
  Result<DeviceLayout> layout = MakeDeviceLayout(device.table, device.flash->size());
  if (!layout.ok()) {
    std::string where;
    if (layout.status().has_context() && layout.status().context() < device.table.size()) {
      where = " (partition " + std::string(device.table[layout.status().context()].name()) + ")";
    }
    ReportError(path + ": " + layout.status().reason() + where);
    return std::nullopt;
  }
  device.layout = *layout;
  return device;
}

std::optional<uint16_t> LearnChip(FlashDevice& device) {
  std::array<int, core::kMaxOtaSlots + 2> indexes{};
  const size_t count = device.layout.Indexes(indexes);
  for (size_t i = 0; i < count; ++i) {
    Result<core::FlashImageIdentity> identity =
        ReadFlashImageIdentity(*device.flash, *device.layout.Find(indexes[i]));
    if (identity.ok() && !core::ChipName(identity->header.chip_id).empty()) {
      return identity->header.chip_id;
    }
  }
  return std::nullopt;
}

}  // namespace aloft::cli
