#include "ports/esp-idf/device_settings.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

#include "esp_chip_info.h"
#include "esp_mac.h"
#include "esp_partition.h"
#include "nvs.h"
#include "sdkconfig.h"
#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
#include "esp_efuse.h"
#endif

#include "core/format/partition_table.h"
#include "core/hex.h"
#include "core/try.h"

#if CONFIG_ALOFT_REQUIRE_APP_ROLLBACK && !CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
#error \
    "aloft: enable CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE (a new image must prove itself before it is kept), or turn off CONFIG_ALOFT_REQUIRE_APP_ROLLBACK"
#endif

namespace aloft::espidf {
namespace {

// The core's partition row for an ESP-IDF partition (only the fields the layout reads).
core::Partition ToCore(const esp_partition_t& p) {
  core::Partition row;
  row.set_name(std::string_view(p.label, strnlen(p.label, sizeof(p.label))));
  row.type = static_cast<uint8_t>(p.type);
  row.subtype = static_cast<uint8_t>(p.subtype);
  row.offset = p.address;
  row.size = p.size;
  row.flags = (p.encrypted ? core::kPartitionFlagEncrypted : 0u) |
              (p.readonly ? core::kPartitionFlagReadonly : 0u);
  return row;
}

// The app and otadata rows of the partition table, in table order, as ESP-IDF loaded them.
Status LoadLayout(DeviceSettings& s) {
  // Start-up only: the table is a fixed array of 95 rows, too big for a task stack.
  std::unique_ptr<core::PartitionTable> owned(new (std::nothrow) core::PartitionTable);
  if (!owned) {
    return ResourceExhausted("settings: no memory for the partition table");
  }
  core::PartitionTable& table = *owned;
  esp_partition_iterator_t it =
      esp_partition_find(ESP_PARTITION_TYPE_ANY, ESP_PARTITION_SUBTYPE_ANY, nullptr);
  Status added;
  for (; it != nullptr && added.ok(); it = esp_partition_next(it)) {
    const esp_partition_t* p = esp_partition_get(it);
    const bool app = p->type == ESP_PARTITION_TYPE_APP;
    const bool otadata =
        p->type == ESP_PARTITION_TYPE_DATA && p->subtype == ESP_PARTITION_SUBTYPE_DATA_OTA;
    if (app || otadata) {
      added = table.Add(ToCore(*p));
    }
  }
  esp_partition_iterator_release(it);
  ALOFT_TRY(added);
  ALOFT_TRY_ASSIGN(s.layout, core::MakeDeviceLayout(table));
  if (!s.layout.slots.has_otadata) {
    return FailedPrecondition("settings: no otadata partition");
  }
  return OkStatus();
}

Status FromNvs(esp_err_t err, const char* what) {
  if (err == ESP_ERR_NVS_NOT_FOUND) {
    return NotFound("settings: device credentials not provisioned in nvs");
  }
  return Unavailable(what, static_cast<uint32_t>(err));
}

Status LoadDeviceId(DeviceSettings& s, nvs_handle_t identity) {
#if CONFIG_ALOFT_DEVICE_ID_FROM_MAC
  (void)identity;
  std::array<uint8_t, 6> mac{};
  if (const esp_err_t err = esp_efuse_mac_get_default(mac.data()); err != ESP_OK) {
    return Unavailable("settings: cannot read the mac address", static_cast<uint32_t>(err));
  }
  ALOFT_TRY(FormatMacDeviceId(CONFIG_ALOFT_DEVICE_ID_PREFIX, mac, s.device_id).status());
#elif CONFIG_ALOFT_DEVICE_ID_FROM_NVS
  size_t size = s.device_id.size();
  if (const esp_err_t err = nvs_get_str(identity, "device_id", s.device_id.data(), &size);
      err != ESP_OK) {
    return FromNvs(err, "settings: cannot read device_id from nvs");
  }
  std::array<char, kMaxDeviceIdSize + 1> text = s.device_id;
  ALOFT_TRY(CopyDeviceId(text.data(), s.device_id).status());
#else
  (void)identity;
  ALOFT_TRY(CopyDeviceId(CONFIG_ALOFT_DEVICE_ID, s.device_id).status());
#endif
  s.agent.device_id = s.device_id.data();
  return OkStatus();
}

Status LoadCredentials(DeviceSettings& s, nvs_handle_t identity) {
#if CONFIG_ALOFT_CREDENTIALS_FROM_KCONFIG
  (void)identity;
  const std::string_view token = CONFIG_ALOFT_DEVICE_TOKEN;
  const std::string_view secret_hex = CONFIG_ALOFT_DEVICE_SECRET;
  if (token.size() > kMaxTokenSize) {
    return InvalidArgument("settings: device token longer than 256 bytes");
  }
  std::copy(token.begin(), token.end(), s.token.begin());
  s.token[token.size()] = '\0';
  if (!core::HexDecode(secret_hex, s.device_secret).ok()) {
    return InvalidArgument("settings: device secret is not 64 hex digits");
  }
#else
  size_t size = s.token.size();
  if (const esp_err_t err = nvs_get_str(identity, "token", s.token.data(), &size); err != ESP_OK) {
    return FromNvs(err, "settings: cannot read token from nvs");
  }
  size = s.device_secret.size();
  const esp_err_t err = nvs_get_blob(identity, "secret", s.device_secret.data(), &size);
  if (err == ESP_ERR_NVS_INVALID_LENGTH || (err == ESP_OK && size != kDeviceSecretSize)) {
    return InvalidArgument("settings: device secret in nvs is not 32 bytes");
  }
  if (err != ESP_OK) {
    return FromNvs(err, "settings: cannot read secret from nvs");
  }
#endif
  s.bearer_token = s.token.data();
  s.agent.device_secret = s.device_secret;
  return OkStatus();
}

// The identity namespace is opened only when something is read from it.
Status LoadIdentity(DeviceSettings& s) {
  constexpr bool kNeedsNvs =
#if CONFIG_ALOFT_DEVICE_ID_FROM_NVS || !CONFIG_ALOFT_CREDENTIALS_FROM_KCONFIG
      true;
#else
      false;
#endif
  nvs_handle_t identity = 0;
  if (kNeedsNvs) {
    const esp_err_t err = nvs_open(kIdentityNamespace, NVS_READONLY, &identity);
    if (err != ESP_OK) {
      return FromNvs(err, "settings: cannot open the aloft_id nvs namespace");
    }
  }
  Status status = LoadDeviceId(s, identity);
  if (status.ok()) {
    status = LoadCredentials(s, identity);
  }
  if (kNeedsNvs) {
    nvs_close(identity);
  }
  return status;
}

Status LoadTrust(DeviceSettings& s) {
  const std::string_view digests[] = {CONFIG_ALOFT_TRUSTED_KEY_DIGEST_0,
                                      CONFIG_ALOFT_TRUSTED_KEY_DIGEST_1,
                                      CONFIG_ALOFT_TRUSTED_KEY_DIGEST_2};
  ALOFT_TRY_ASSIGN(const size_t count, ParseTrustedKeyDigests(digests, s.keys));
  s.trust.keys = std::span<const core::TrustedKey>(s.keys.data(), count);
#if CONFIG_ALOFT_SIGNATURE_SCHEME_ECDSA_P256
  s.trust.scheme = core::SignatureScheme::kEcdsaP256;
#elif CONFIG_ALOFT_SIGNATURE_SCHEME_ECDSA_P384
  s.trust.scheme = core::SignatureScheme::kEcdsaP384;
#else
  s.trust.scheme = core::SignatureScheme::kRsa3072;
#endif
  // The ESP32's ROM checks signature block 0 only (one eFuse digest); later chips any block.
#if CONFIG_IDF_TARGET_ESP32
  s.trust.only_block_zero = true;
#endif
  s.agent.trust = &s.trust;
#if CONFIG_ALOFT_VERIFY_IMAGE_SIGNATURE
  s.device.trust = &s.trust;
#endif
  return OkStatus();
}

void LoadDevice(DeviceSettings& s) {
  s.device.chip_id = static_cast<uint16_t>(CONFIG_IDF_FIRMWARE_CHIP_ID);
  esp_chip_info_t chip{};
  esp_chip_info(&chip);
  s.device.chip_revision = chip.revision;  // major * 100 + minor, as the core counts
#if CONFIG_BOOTLOADER_APP_ROLLBACK_ENABLE
  s.device.rollback_enabled = true;
#else
  s.device.rollback_enabled = false;
#endif
#if CONFIG_BOOTLOADER_APP_ANTI_ROLLBACK
  s.device.anti_rollback_enabled = true;
  s.device.efuse_secure_version = esp_efuse_read_secure_version();
  s.device.efuse_secure_version_bits = CONFIG_BOOTLOADER_APP_SEC_VER_SIZE_EFUSE_FIELD;
#else
  s.device.anti_rollback_enabled = false;
#endif
}

void LoadAgentConfig(DeviceSettings& s) {
  agent::AgentConfig& a = s.agent;
  a.schedule.check_interval_ms = static_cast<uint32_t>(CONFIG_ALOFT_CHECK_INTERVAL_S) * 1000;
  a.schedule.check_jitter_ms = static_cast<uint32_t>(CONFIG_ALOFT_CHECK_JITTER_S) * 1000;
  a.checkin_timeout_ms = CONFIG_ALOFT_NETWORK_TIMEOUT_MS;
  a.download_timeout_ms = CONFIG_ALOFT_NETWORK_TIMEOUT_MS;
  a.report_timeout_ms = CONFIG_ALOFT_NETWORK_TIMEOUT_MS;
#if CONFIG_ALOFT_ALLOW_UNORDERED_VERSIONS
  a.update_options.allow_unordered = true;
#endif
  s.server_url = CONFIG_ALOFT_SERVER_URL;
  s.self_test_timeout_ms = static_cast<uint32_t>(CONFIG_ALOFT_SELF_TEST_TIMEOUT_S) * 1000;
}

}  // namespace

Status LoadDeviceSettings(DeviceSettings& s) {
  ALOFT_TRY(LoadLayout(s));
  LoadDevice(s);
  ALOFT_TRY(LoadTrust(s));
  ALOFT_TRY(LoadIdentity(s));
  LoadAgentConfig(s);
  ALOFT_TRY_ASSIGN(const size_t tag_count, SplitTags(CONFIG_ALOFT_DEVICE_TAGS, s.tags));
  s.agent.tags = std::span<const std::string_view>(s.tags.data(), tag_count);
  return OkStatus();
}

}  // namespace aloft::espidf
