#pragma once
// ArtifactStore: firmware files kept by content, DATA/artifacts/<sha256>.bin. A file appears
// under its name only complete and verified: it is written to a temporary file in the same
// directory, its SHA-256 checked against the name, fsynced, renamed into place and the
// directory fsynced, so a crash at any point leaves either no file or the whole right one (and
// at worst a stray temporary, removed by the next Open). The store's `artifacts` table records
// what exists; these are the bytes. Thread-safe: writers of the same digest race harmlessly
// (both rename identical bytes).

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"
#include "server/http/http_types.h"

namespace aloft::server {

class ArtifactStore {
 public:
  // Uses (creating if needed, mode 0755) `directory`, and removes temporaries left by a crash.
  // kUnavailable "artifacts: cannot create the directory".
  static Result<ArtifactStore> Open(std::filesystem::path directory);

  // Stores `bytes` as `sha256` (64 lower-case hex). kInvalidArgument "artifacts: invalid
  // sha256", "artifacts: empty artifact"; kDataLoss "artifacts: content does not match its
  // sha256" (nothing is written); kUnavailable "artifacts: cannot write" (disk full, I/O error;
  // the temporary is removed). Storing a digest that exists already is OK (same bytes).
  Status Put(std::string_view sha256, ConstByteSpan bytes) const;

  // The open file and its size, ready to send. kInvalidArgument "artifacts: invalid sha256";
  // kNotFound "artifacts: no such artifact".
  Result<FileBody> OpenForReading(std::string_view sha256) const;

  // The whole file. Errors as OpenForReading, kUnavailable "artifacts: cannot read".
  Result<std::vector<std::byte>> Read(std::string_view sha256) const;

  std::filesystem::path PathOf(std::string_view sha256) const;
  const std::filesystem::path& directory() const { return directory_; }

 private:
  explicit ArtifactStore(std::filesystem::path directory) : directory_(std::move(directory)) {}

  std::filesystem::path directory_;
};

}  // namespace aloft::server
