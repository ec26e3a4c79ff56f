#include "ports/host/memory_key_value.h"

#include <algorithm>

namespace aloft::host {
namespace {

bool ValidKey(std::string_view key) {
  return !key.empty() && key.size() <= port::kMaxKeyValueKeySize &&
         std::all_of(key.begin(), key.end(), [](char c) { return c >= 0x21 && c <= 0x7E; });
}

}  // namespace

Result<size_t> MemoryKeyValue::Get(std::string_view key, ByteSpan out) {
  if (!ValidKey(key)) {
    return InvalidArgument("key value: bad key");
  }
  const auto it = records_.find(key);
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

Status MemoryKeyValue::Set(std::string_view key, ConstByteSpan value) {
  if (!ValidKey(key)) {
    return InvalidArgument("key value: bad key");
  }
  auto it = records_.find(key);
  if (it == records_.end()) {
    it = records_.emplace(std::string(key), std::vector<std::byte>()).first;
  }
  it->second.assign(value.begin(), value.end());
  return OkStatus();
}

Status MemoryKeyValue::Erase(std::string_view key) {
  if (!ValidKey(key)) {
    return InvalidArgument("key value: bad key");
  }
  const auto it = records_.find(key);
  if (it != records_.end()) {
    records_.erase(it);
  }
  return OkStatus();
}

size_t MemoryKeyValue::value_bytes() const {
  size_t total = 0;
  for (const auto& [key, value] : records_) {
    total += value.size();
  }
  return total;
}

}  // namespace aloft::host
