#pragma once
// FileKeyValue: port::KeyValue (core/port/key_value.h) on files in one directory, for emulated
// devices whose state must outlive the process (`aloft device run`: the agent's record lives in
// FLASH.kv/ beside the flash file, as NVS lives beside the app on a chip).
//
// One file per record, named after the key (characters outside [A-Za-z0-9_-] and a leading '.'
// are %XX-escaped, then ".rec"), holding a 12-byte header — "AKV1", the value's size and its
// CRC-32 (little-endian) — and the value. Set is atomic per record, the port's one promise:
//
//   1. write KEY.tmp whole          a cut here: the old KEY.rec is untouched; Open removes .tmp
//   2. fsync KEY.tmp                (the bytes are durable before they become visible)
//   3. rename KEY.tmp -> KEY.rec    the commit point: rename(2) replaces the old file atomically
//   4. fsync the directory          (the rename itself is durable)
//
// so after a power cut at any moment the record reads as its old value or its new one, and a
// Set that returned OK survives. A record whose header or CRC does not check (a disk that lied)
// is kDataLoss "key value: record corrupt", never a wrong value.
//
// For tests, CrashAfter(step) makes the next Set stop after that step as if the power went:
// it returns kAborted, and so does every later call until the directory is opened again.
// Not thread-safe: one caller (the port's contract).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/port/key_value.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::host {

enum class FileKeyValueStep : uint8_t {
  kTempWritten,  // after step 1 (the temporary file holds the new value, not yet synced)
  kTempSynced,   // after step 2
  kRenamed,      // after step 3 (the new value is the record; the directory not yet synced)
};

struct FileKeyValueOptions {
  // fsync the file and the directory (the durability promise). Off only where a power cut is
  // not part of the model and speed matters.
  bool sync = true;
};

class FileKeyValue final : public port::KeyValue {
 public:
  inline static constexpr size_t kHeaderSize = 12;

  // Opens `directory`, creating it if missing, and removes temporary files an interrupted Set
  // left behind. kUnavailable "key value: cannot open the directory" (context: errno).
  static Result<std::unique_ptr<FileKeyValue>> Open(const std::filesystem::path& directory,
                                                    FileKeyValueOptions options = {});

  // port::KeyValue. Besides the port's codes: kUnavailable "key value: cannot read the record"
  // / "key value: cannot write the record" (context: errno); kResourceExhausted
  // "key value: store full" when the disk is (ENOSPC, EDQUOT).
  Result<size_t> Get(std::string_view key, ByteSpan out) override;
  Status Set(std::string_view key, ConstByteSpan value) override;
  Status Erase(std::string_view key) override;

  // The file that holds record `key` (whether or not it exists).
  std::filesystem::path RecordPath(std::string_view key) const;
  const std::filesystem::path& directory() const { return directory_; }

  // Test hook: the next Set stops after `step` (see above).
  void CrashAfter(FileKeyValueStep step) { crash_after_ = step; }
  bool power_lost() const { return power_lost_; }

 private:
  FileKeyValue(std::filesystem::path directory, FileKeyValueOptions options);
  Status SyncDirectory();

  std::filesystem::path directory_;
  FileKeyValueOptions options_;
  std::optional<FileKeyValueStep> crash_after_;
  bool power_lost_ = false;
};

// "aloft.agent" -> "aloft.agent"; "a/b" -> "a%2Fb"; ".x" -> "%2Ex". Injective.
std::string EscapeKeyForFileName(std::string_view key);

}  // namespace aloft::host
