#pragma once
// MemoryKeyValue: port::KeyValue in memory, for emulated devices whose state lives as long as the
// process (the fleet simulator's devices). Set replaces a record whole, so it is trivially
// atomic; nothing survives the object. Not thread-safe: one caller (the port's contract).

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/port/key_value.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::host {

class MemoryKeyValue final : public port::KeyValue {
 public:
  // port::KeyValue (no kAborted or kUnavailable: memory does not fail).
  Result<size_t> Get(std::string_view key, ByteSpan out) override;
  Status Set(std::string_view key, ConstByteSpan value) override;
  Status Erase(std::string_view key) override;

  // Bytes held by the values (for memory accounting).
  size_t value_bytes() const;

 private:
  std::map<std::string, std::vector<std::byte>, std::less<>> records_;
};

}  // namespace aloft::host
