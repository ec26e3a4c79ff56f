#include "server/artifact_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <system_error>

#include "core/log.h"
#include "core/try.h"
#include "server/credentials.h"
#include "server/store/records.h"

namespace aloft::server {
namespace {

constexpr std::string_view kTempPrefix = ".upload-";

bool WriteAll(int fd, ConstByteSpan bytes) {
  size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return false;
    }
    written += static_cast<size_t>(n);
  }
  return true;
}

bool SyncDirectory(const std::filesystem::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) {
    return false;
  }
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace

Result<ArtifactStore> ArtifactStore::Open(std::filesystem::path directory) {
  std::error_code ec;
  std::filesystem::create_directories(directory, ec);
  if (ec || !std::filesystem::is_directory(directory, ec)) {
    ALOFT_LOG_ERROR("artifacts: cannot create %s: %s", directory.c_str(), ec.message().c_str());
    return Unavailable("artifacts: cannot create the directory");
  }
  // Temporaries are only ever half-written uploads of a crashed process.
  for (const auto& entry : std::filesystem::directory_iterator(directory, ec)) {
    if (entry.path().filename().string().starts_with(kTempPrefix)) {
      std::filesystem::remove(entry.path(), ec);
    }
  }
  return ArtifactStore(std::move(directory));
}

std::filesystem::path ArtifactStore::PathOf(std::string_view sha256) const {
  return directory_ / (std::string(sha256) + ".bin");
}

Status ArtifactStore::Put(std::string_view sha256, ConstByteSpan bytes) const {
  if (!IsValidSha256Hex(sha256)) {
    return InvalidArgument("artifacts: invalid sha256");
  }
  if (bytes.empty()) {
    return InvalidArgument("artifacts: empty artifact");
  }
  if (Sha256Hex(bytes) != sha256) {
    return DataLoss("artifacts: content does not match its sha256");
  }
  static std::atomic<uint64_t> counter{0};
  const std::filesystem::path temp =
      directory_ / (std::string(kTempPrefix) + std::to_string(::getpid()) + "-" +
                    std::to_string(counter.fetch_add(1)) + "-" + std::string(sha256));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    ALOFT_LOG_ERROR("artifacts: cannot create %s: errno %d", temp.c_str(), errno);
    return Unavailable("artifacts: cannot write");
  }
  // Written, then fsynced, then renamed: the name appears only over complete, durable bytes.
  bool ok = WriteAll(fd, bytes) && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  ok = ok && ::rename(temp.c_str(), PathOf(sha256).c_str()) == 0;
  if (!ok) {
    ALOFT_LOG_ERROR("artifacts: cannot write %s: errno %d", temp.c_str(), errno);
    ::unlink(temp.c_str());
    return Unavailable("artifacts: cannot write");
  }
  // The rename itself is durable only once the directory is synced.
  if (!SyncDirectory(directory_)) {
    ALOFT_LOG_ERROR("artifacts: cannot sync %s: errno %d", directory_.c_str(), errno);
    return Unavailable("artifacts: cannot write");
  }
  return OkStatus();
}

Result<FileBody> ArtifactStore::OpenForReading(std::string_view sha256) const {
  if (!IsValidSha256Hex(sha256)) {
    return InvalidArgument("artifacts: invalid sha256");
  }
  UniqueFd fd(::open(PathOf(sha256).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    return NotFound("artifacts: no such artifact");
  }
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0 || !S_ISREG(info.st_mode)) {
    return NotFound("artifacts: no such artifact");
  }
  FileBody body;
  body.fd = std::move(fd);
  body.total_size = static_cast<uint64_t>(info.st_size);
  body.length = body.total_size;
  return body;
}

Result<std::vector<std::byte>> ArtifactStore::Read(std::string_view sha256) const {
  ALOFT_TRY_ASSIGN(FileBody file, OpenForReading(sha256));
  std::vector<std::byte> bytes(file.total_size);
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pread(file.fd.get(), bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      return Unavailable("artifacts: cannot read");
    }
    done += static_cast<size_t>(n);
  }
  return bytes;
}

}  // namespace aloft::server
