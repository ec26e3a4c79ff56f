#pragma once
// Access to the golden vectors under tests/vectors (see its README) and small file helpers
// for tests.

#include <cstddef>
#include <filesystem>
#include <string>
#include <vector>

namespace aloft::testing {

// Absolute path of a file under tests/vectors, e.g. VectorPath("otadata/blank.bin").
std::filesystem::path VectorPath(const std::string& relative);

// The whole file; fails the current test (and returns empty) if it cannot be read.
std::vector<std::byte> ReadBinary(const std::filesystem::path& path);
std::string ReadText(const std::filesystem::path& path);

// Every file in a vector folder whose name ends with `suffix`, sorted.
std::vector<std::filesystem::path> VectorFiles(const std::string& folder, const std::string& suffix);

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

}  // namespace aloft::testing
