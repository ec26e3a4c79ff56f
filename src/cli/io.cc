#include "cli/io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "cli/command.h"
#include "core/hex.h"

namespace aloft::cli {

std::optional<std::vector<std::byte>> ReadFileOrReport(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    ReportError("cannot read " + path + ": it is a directory");
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ReportError("cannot read " + path + ": " + std::strerror(errno));
    return std::nullopt;
  }
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    ReportError("cannot read " + path + ": read error");
    return std::nullopt;
  }
  std::vector<std::byte> bytes(chars.size());
  if (!chars.empty()) {  // an empty vector's data() may be null, which memcpy must not get
    std::memcpy(bytes.data(), chars.data(), chars.size());
  }
  return bytes;
}

bool WriteFileOrReport(const std::string& path, ConstByteSpan bytes, int mode) {
  const std::filesystem::path target(path);
  const std::filesystem::path dir =
      target.has_parent_path() ? target.parent_path() : std::filesystem::path(".");
  std::string temp = (dir / ("." + target.filename().string() + ".XXXXXX")).string();
  int fd = mkstemp(temp.data());
  if (fd < 0) {
    ReportError("cannot write " + path + ": " + std::strerror(errno));
    return false;
  }
  auto fail = [&](const char* what) {
    int saved = errno;
    close(fd);
    unlink(temp.c_str());
    ReportError("cannot write " + path + ": " + what + ": " + std::strerror(saved));
    return false;
  };
  size_t written = 0;
  while (written < bytes.size()) {
    ssize_t n = write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return fail("write");
    }
    written += static_cast<size_t>(n);
  }
  if (fchmod(fd, static_cast<mode_t>(mode)) != 0) {
    return fail("chmod");
  }
  if (fsync(fd) != 0) {
    return fail("fsync");
  }
  if (close(fd) != 0) {
    int saved = errno;
    unlink(temp.c_str());
    ReportError("cannot write " + path + ": close: " + std::strerror(saved));
    return false;
  }
  if (std::rename(temp.c_str(), path.c_str()) != 0) {
    int saved = errno;
    unlink(temp.c_str());
    ReportError("cannot write " + path + ": " + std::strerror(saved));
    return false;
  }
  return true;
}

bool ParseHex(std::string_view hex, ByteSpan out) { return core::HexDecode(hex, out).ok(); }

std::optional<std::array<std::byte, 32>> ParseKeyDigest(std::string_view hex) {
  std::array<std::byte, 32> digest{};
  if (!ParseHex(hex, digest)) {
    return std::nullopt;
  }
  return digest;
}

std::string HexString(ConstByteSpan bytes) {
  std::string text(bytes.size() * 2, '0');
  core::HexEncode(bytes, text);
  return text;
}

}  // namespace aloft::cli
