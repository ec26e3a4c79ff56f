#include "ports/host/file_key_value.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>
#include <vector>

#include "core/crc32.h"

namespace aloft::host {
namespace {

constexpr char kMagic[4] = {'A', 'K', 'V', '1'};
constexpr std::string_view kRecordSuffix = ".rec";
constexpr std::string_view kTempSuffix = ".tmp";

bool ValidKey(std::string_view key) {
  if (key.empty() || key.size() > port::kMaxKeyValueKeySize) {
    return false;
  }
  for (char c : key) {
    if (c < 0x21 || c > 0x7E) {
      return false;
    }
  }
  return true;
}

Status WriteError(int error) {
  if (error == ENOSPC || error == EDQUOT) {
    return ResourceExhausted("key value: store full");
  }
  return Unavailable("key value: cannot write the record", static_cast<uint32_t>(error));
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  int get() const { return fd_; }
  // close(2) can report a deferred write error.
  int Close() {
    const int result = close(fd_);
    fd_ = -1;
    return result;
  }

 private:
  int fd_;
};

}  // namespace

std::string EscapeKeyForFileName(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string name;
  for (size_t i = 0; i < key.size(); ++i) {
    const char c = key[i];
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '_' || c == '-' || (c == '.' && i > 0);
    if (plain) {
      name += c;
    } else {
      name += '%';
      name += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      name += kHex[static_cast<unsigned char>(c) & 0xF];
    }
  }
  return name;
}

Result<std::unique_ptr<FileKeyValue>> FileKeyValue::Open(const std::filesystem::path& directory,
                                                         FileKeyValueOptions options) {
  std::error_code error;
  std::filesystem::create_directories(directory, error);
  if (error || !std::filesystem::is_directory(directory, error)) {
    return Unavailable("key value: cannot open the directory",
                       static_cast<uint32_t>(error ? error.value() : ENOTDIR));
  }
  // A Set cut short before its rename left only a temporary file: the old record stands.
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    if (entry.path().extension() == kTempSuffix) {
      std::filesystem::remove(entry.path(), error);
    }
  }
  return std::unique_ptr<FileKeyValue>(new FileKeyValue(directory, options));
}

FileKeyValue::FileKeyValue(std::filesystem::path directory, FileKeyValueOptions options)
    : directory_(std::move(directory)), options_(options) {}

std::filesystem::path FileKeyValue::RecordPath(std::string_view key) const {
  return directory_ / (EscapeKeyForFileName(key) + std::string(kRecordSuffix));
}

Status FileKeyValue::SyncDirectory() {
  if (!options_.sync) {
    return OkStatus();
  }
  Fd fd(open(directory_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0 || fsync(fd.get()) != 0) {
    return WriteError(errno);
  }
  return OkStatus();
}

Result<size_t> FileKeyValue::Get(std::string_view key, ByteSpan out) {
  if (power_lost_) {
    return Aborted("key value: power lost");
  }
  if (!ValidKey(key)) {
    return InvalidArgument("key value: bad key");
  }
  Fd fd(open(RecordPath(key).c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) {
      return NotFound("key value: no such record");
    }
    return Unavailable("key value: cannot read the record", static_cast<uint32_t>(errno));
  }
  struct stat info {};
  if (fstat(fd.get(), &info) != 0) {
    return Unavailable("key value: cannot read the record", static_cast<uint32_t>(errno));
  }
  std::vector<std::byte> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = read(fd.get(), bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      return Unavailable("key value: cannot read the record", static_cast<uint32_t>(errno));
    }
    if (n == 0) {
      break;
    }
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  const ConstByteSpan file(bytes);
  if (file.size() < kHeaderSize || std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0 ||
      LoadLe32(file, 4) != file.size() - kHeaderSize) {
    return DataLoss("key value: record corrupt");
  }
  const ConstByteSpan value = file.subspan(kHeaderSize);
  if (EspRomCrc32Le(0, value) != LoadLe32(file, 8)) {
    return DataLoss("key value: record corrupt");
  }
  if (value.size() > out.size()) {
    return ResourceExhausted("key value: record larger than the buffer",
                             static_cast<uint32_t>(value.size()));
  }
  std::copy(value.begin(), value.end(), out.begin());
  return value.size();
}

Status FileKeyValue::Set(std::string_view key, ConstByteSpan value) {
  if (power_lost_) {
    return Aborted("key value: power lost");
  }
  if (!ValidKey(key)) {
    return InvalidArgument("key value: bad key");
  }
  std::vector<std::byte> file(kHeaderSize + value.size());
  std::memcpy(file.data(), kMagic, sizeof(kMagic));
  StoreLe32(file, 4, static_cast<uint32_t>(value.size()));
  StoreLe32(file, 8, EspRomCrc32Le(0, value));
  std::copy(value.begin(), value.end(), file.begin() + kHeaderSize);

  const std::filesystem::path record = RecordPath(key);
  std::filesystem::path temp = record;
  temp.replace_extension(kTempSuffix);
  auto crash = [this](FileKeyValueStep step) {
    if (crash_after_ == step) {
      crash_after_.reset();
      power_lost_ = true;
      return true;
    }
    return false;
  };
  {
    Fd fd(open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (fd.get() < 0) {
      return WriteError(errno);
    }
    size_t done = 0;
    while (done < file.size()) {
      const ssize_t n = write(fd.get(), file.data() + done, file.size() - done);
      if (n < 0 && errno == EINTR) {
        continue;
      }
      if (n <= 0) {
        const int error = n < 0 ? errno : EIO;
        unlink(temp.c_str());
        return WriteError(error);
      }
      done += static_cast<size_t>(n);
    }
    if (crash(FileKeyValueStep::kTempWritten)) {
      return Aborted("key value: power lost");
    }
    // Durable before visible: a rename that lands before the data would expose an empty file.
    if ((options_.sync && fsync(fd.get()) != 0) || fd.Close() != 0) {
      const int error = errno;
      unlink(temp.c_str());
      return WriteError(error);
    }
  }
  if (crash(FileKeyValueStep::kTempSynced)) {
    return Aborted("key value: power lost");
  }
  // The commit point: before it the old record stands, after it the new one.
  if (rename(temp.c_str(), record.c_str()) != 0) {
    const int error = errno;
    unlink(temp.c_str());
    return WriteError(error);
  }
  if (crash(FileKeyValueStep::kRenamed)) {
    return Aborted("key value: power lost");
  }
  return SyncDirectory();
}

Status FileKeyValue::Erase(std::string_view key) {
  if (power_lost_) {
    return Aborted("key value: power lost");
  }
  if (!ValidKey(key)) {
    return InvalidArgument("key value: bad key");
  }
  if (unlink(RecordPath(key).c_str()) != 0) {
    if (errno == ENOENT) {
      return OkStatus();
    }
    return WriteError(errno);
  }
  return SyncDirectory();
}

}  // namespace aloft::host
