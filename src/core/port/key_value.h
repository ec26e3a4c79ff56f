#pragma once
// Small persistent named records: where the device agent keeps its progress and its unsent
// reports across reboots and power cuts. Implementations: host file store (one file per
// record, written to a temporary file and renamed), ESP-IDF NVS blobs (nvs_set_blob +
// nvs_commit); tests use an in-memory fake that can lose power.
//
// The one promise the agent builds on: Set is atomic per record. After a power cut at any
// moment, a record holds either its old value or its new value, never a mix of the two, and a
// Set that returned OK survives. (NVS writes a blob's new entries before erasing the old ones;
// a file store renames a fully written and synced temporary file over the old one.) Nothing is
// promised across two records: the agent keeps everything that must change together in one.
//
// Keys: 1..15 bytes of printable ASCII (0x21..0x7E), NVS's limit. Not thread-safe: one caller.

#include <cstddef>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::port {

inline constexpr size_t kMaxKeyValueKeySize = 15;

class KeyValue {
 public:
  KeyValue() = default;
  KeyValue(const KeyValue&) = delete;
  KeyValue& operator=(const KeyValue&) = delete;
  virtual ~KeyValue() = default;

  // Copies record `key` to the start of `out` and returns its size.
  // kNotFound "key value: no such record"; kResourceExhausted "key value: record larger than
  // the buffer" (context: the record's size; `out` is unspecified); kDataLoss when the store
  // finds the record corrupt; kInvalidArgument "key value: bad key"; kAborted after a power cut
  // (emulator); kUnavailable on a transient device error.
  virtual Result<size_t> Get(std::string_view key, ByteSpan out) = 0;

  // Replaces (or creates) record `key` with `value`, atomically (see above). An empty value is
  // a record of size 0, not an erase.
  // kResourceExhausted "key value: store full"; kInvalidArgument "key value: bad key";
  // kAborted after a power cut; kUnavailable on a transient device error.
  virtual Status Set(std::string_view key, ConstByteSpan value) = 0;

  // Removes record `key`; OK if there is none. Atomic like Set. Errors as Set's.
  virtual Status Erase(std::string_view key) = 0;
};

}  // namespace aloft::port
