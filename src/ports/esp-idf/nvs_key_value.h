#pragma once
// NvsKeyValue: the KeyValue port (core/port/key_value.h) on ESP-IDF's NVS, one blob per record
// in one namespace of the default NVS partition.
//
// Why NVS keeps the port's one promise (Set is atomic per record): NVS writes a blob's new entry
// (and, for a blob spanning pages, its chunks and then its index) before it erases the old one,
// and on start-up it discards whichever half-written version a power cut left behind, so a
// record reads back as its old value or its new one — never a mix.
//
// ESP-IDF calls → port codes:
//   nvs_open(NVS_READWRITE)       Open: errors → kUnavailable "key value: cannot open nvs"
//   nvs_get_blob                  Get: ESP_ERR_NVS_NOT_FOUND → kNotFound "key value: no such
//                                 record"; ESP_ERR_NVS_INVALID_LENGTH → kResourceExhausted
//                                 "key value: record larger than the buffer" (context: its
//                                 size, asked with a second nvs_get_blob)
//   nvs_set_blob + nvs_commit     Set: ESP_ERR_NVS_NOT_ENOUGH_SPACE / _VALUE_TOO_LONG →
//                                 kResourceExhausted "key value: store full"
//   nvs_erase_key + nvs_commit    Erase: ESP_ERR_NVS_NOT_FOUND → OK
//   ESP_ERR_NVS_INVALID_NAME / _KEY_TOO_LONG → kInvalidArgument "key value: bad key"; any other
//   error → kUnavailable "key value: nvs error" (context: the esp_err_t).
// Keys are checked before NVS sees them (1..15 printable ASCII bytes).
//
// REQUIRES: nvs_flash_init() has run (the application does it; Wi-Fi needs NVS too).
// No heap of ours. Not thread-safe: one caller (NVS itself is safe against other tasks).

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/bytes.h"
#include "core/port/key_value.h"
#include "core/result.h"
#include "core/status.h"
#include "nvs.h"

namespace aloft::espidf {

inline constexpr const char* kAgentNamespace = "aloft";

class NvsKeyValue final : public port::KeyValue {
 public:
  NvsKeyValue() = default;
  ~NvsKeyValue() override;

  // Opens `name_space` (at most 15 bytes) read-write; call once before anything else.
  Status Open(const char* name_space = kAgentNamespace);

  Result<size_t> Get(std::string_view key, ByteSpan out) override;
  Status Set(std::string_view key, ConstByteSpan value) override;
  Status Erase(std::string_view key) override;

 private:
  nvs_handle_t handle_ = 0;
  bool open_ = false;
};

}  // namespace aloft::espidf
