#include "ports/esp-idf/partition_flash.h"

#include "esp_flash.h"
#include "esp_ota_ops.h"

namespace aloft::espidf {
namespace {

Status DeviceError(esp_err_t err) {
  if (err == ESP_ERR_NOT_ALLOWED) {
    return FailedPrecondition("flash: partition is read-only");
  }
  return Unavailable("flash: device error", static_cast<uint32_t>(err));
}

}  // namespace

Status PartitionFlash::Init() {
  count_ = 0;
  const auto add = [this](esp_partition_type_t type, esp_partition_subtype_t subtype) {
    esp_partition_iterator_t it = esp_partition_find(type, subtype, nullptr);
    for (; it != nullptr && count_ < partitions_.size(); it = esp_partition_next(it)) {
      partitions_[count_++] = esp_partition_get(it);
    }
    esp_partition_iterator_release(it);  // accepts null
  };
  add(ESP_PARTITION_TYPE_APP, ESP_PARTITION_SUBTYPE_ANY);
  if (count_ == 0) {
    return NotFound("flash: no app partition");
  }
  add(ESP_PARTITION_TYPE_DATA, ESP_PARTITION_SUBTYPE_DATA_OTA);
  for (size_t i = 0; i < count_; ++i) {
    if (partitions_[i]->encrypted) {
      return Unimplemented("flash: encrypted partitions are not supported");
    }
  }
  uint32_t size = 0;
  const esp_err_t err = esp_flash_get_size(partitions_[0]->flash_chip, &size);
  if (err != ESP_OK) {
    return DeviceError(err);
  }
  chip_size_ = size;
  running_ = esp_ota_get_running_partition();
  return OkStatus();
}

Status PartitionFlash::Find(uint32_t offset, size_t size, const esp_partition_t*& found) const {
  if (offset > chip_size_ || size > chip_size_ - offset) {
    return OutOfRange("flash: range past the end of flash", offset);
  }
  for (size_t i = 0; i < count_; ++i) {
    const esp_partition_t* p = partitions_[i];
    if (offset >= p->address && offset - p->address <= p->size &&
        size <= p->size - (offset - p->address)) {
      found = p;
      return OkStatus();
    }
  }
  return OutOfRange("flash: range outside the app and otadata partitions", offset);
}

Status PartitionFlash::CheckWritable(const esp_partition_t* partition) const {
  if (running_ != nullptr && partition->address == running_->address) {
    return FailedPrecondition("flash: refusing to write the running app partition");
  }
  return OkStatus();
}

Status PartitionFlash::Read(uint32_t offset, ByteSpan out) {
  const esp_partition_t* p = nullptr;
  if (Status status = Find(offset, out.size(), p); !status.ok()) {
    return status;
  }
  if (out.empty()) {
    return OkStatus();
  }
  const esp_err_t err = esp_partition_read(p, offset - p->address, out.data(), out.size());
  return err == ESP_OK ? OkStatus() : DeviceError(err);
}

Status PartitionFlash::Write(uint32_t offset, ConstByteSpan data) {
  const esp_partition_t* p = nullptr;
  if (Status status = Find(offset, data.size(), p); !status.ok()) {
    return status;
  }
  if (Status status = CheckWritable(p); !status.ok()) {
    return status;
  }
  if (data.empty()) {
    return OkStatus();
  }
  // Each bit becomes flash AND data, as on any NOR chip; the core only ever clears bits.
  const esp_err_t err = esp_partition_write(p, offset - p->address, data.data(), data.size());
  return err == ESP_OK ? OkStatus() : DeviceError(err);
}

Status PartitionFlash::Erase(uint32_t offset, uint32_t size) {
  if (offset % kSectorSize != 0 || size % kSectorSize != 0) {
    return InvalidArgument("flash: erase not sector-aligned", offset);
  }
  const esp_partition_t* p = nullptr;
  if (Status status = Find(offset, size, p); !status.ok()) {
    return status;
  }
  if (Status status = CheckWritable(p); !status.ok()) {
    return status;
  }
  if (size == 0) {
    return OkStatus();
  }
  const esp_err_t err = esp_partition_erase_range(p, offset - p->address, size);
  return err == ESP_OK ? OkStatus() : DeviceError(err);
}

}  // namespace aloft::espidf
