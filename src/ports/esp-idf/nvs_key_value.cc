#include "ports/esp-idf/nvs_key_value.h"

#include <array>

namespace aloft::espidf {
namespace {

// NVS wants a NUL-terminated key: the port's key rules (1..15 printable ASCII) checked first.
class KeyText {
 public:
  explicit KeyText(std::string_view key) {
    if (key.empty() || key.size() > port::kMaxKeyValueKeySize) {
      return;
    }
    for (size_t i = 0; i < key.size(); ++i) {
      if (key[i] < 0x21 || key[i] > 0x7E) {
        return;
      }
      text_[i] = key[i];
    }
    valid_ = true;
  }
  bool valid() const { return valid_; }
  const char* c_str() const { return text_.data(); }

 private:
  std::array<char, port::kMaxKeyValueKeySize + 1> text_{};
  bool valid_ = false;
};

static_assert(port::kMaxKeyValueKeySize + 1 == NVS_KEY_NAME_MAX_SIZE);

Status FromNvs(esp_err_t err) {
  switch (err) {
    case ESP_OK:
      return OkStatus();
    case ESP_ERR_NVS_NOT_FOUND:
      return NotFound("key value: no such record");
    case ESP_ERR_NVS_NOT_ENOUGH_SPACE:
    case ESP_ERR_NVS_VALUE_TOO_LONG:
      return ResourceExhausted("key value: store full");
    case ESP_ERR_NVS_INVALID_NAME:
    case ESP_ERR_NVS_KEY_TOO_LONG:
      return InvalidArgument("key value: bad key");
    default:
      return Unavailable("key value: nvs error", static_cast<uint32_t>(err));
  }
}

const Status kBadKey = InvalidArgument("key value: bad key");
const Status kNotOpen = FailedPrecondition("key value: nvs not open");

}  // namespace

NvsKeyValue::~NvsKeyValue() {
  if (open_) {
    nvs_close(handle_);
  }
}

Status NvsKeyValue::Open(const char* name_space) {
  const esp_err_t err = nvs_open(name_space, NVS_READWRITE, &handle_);
  if (err != ESP_OK) {
    return Unavailable("key value: cannot open nvs", static_cast<uint32_t>(err));
  }
  open_ = true;
  return OkStatus();
}

Result<size_t> NvsKeyValue::Get(std::string_view key, ByteSpan out) {
  const KeyText name(key);
  if (!name.valid()) {
    return kBadKey;
  }
  if (!open_) {
    return kNotOpen;
  }
  size_t size = out.size();
  const esp_err_t err = nvs_get_blob(handle_, name.c_str(), out.data(), &size);
  if (err == ESP_ERR_NVS_INVALID_LENGTH) {
    size_t needed = 0;
    if (nvs_get_blob(handle_, name.c_str(), nullptr, &needed) != ESP_OK) {
      needed = 0;
    }
    return ResourceExhausted("key value: record larger than the buffer",
                             static_cast<uint32_t>(needed));
  }
  if (err != ESP_OK) {
    return FromNvs(err);
  }
  return size;
}

Status NvsKeyValue::Set(std::string_view key, ConstByteSpan value) {
  const KeyText name(key);
  if (!name.valid()) {
    return kBadKey;
  }
  if (!open_) {
    return kNotOpen;
  }
  // A record of size 0 is still a record: NVS gets a valid pointer either way.
  static constexpr std::byte kNothing{};
  const void* data = value.empty() ? &kNothing : value.data();
  // The commit point of the record: NVS writes the new version before it drops the old one.
  if (Status status = FromNvs(nvs_set_blob(handle_, name.c_str(), data, value.size()));
      !status.ok()) {
    return status;
  }
  return FromNvs(nvs_commit(handle_));
}

Status NvsKeyValue::Erase(std::string_view key) {
  const KeyText name(key);
  if (!name.valid()) {
    return kBadKey;
  }
  if (!open_) {
    return kNotOpen;
  }
  const esp_err_t err = nvs_erase_key(handle_, name.c_str());
  if (err != ESP_OK && err != ESP_ERR_NVS_NOT_FOUND) {
    return FromNvs(err);
  }
  return FromNvs(nvs_commit(handle_));
}

}  // namespace aloft::espidf
