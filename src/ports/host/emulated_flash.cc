#include "ports/host/emulated_flash.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <utility>

#include "core/try.h"

namespace aloft::host {
namespace {

constexpr std::byte kErased{0xFF};

Status CheckGeometry(uint64_t size_bytes, uint32_t sector_size) {
  if (sector_size == 0) {
    return InvalidArgument("flash: sector size is zero");
  }
  if (size_bytes > std::numeric_limits<uint32_t>::max()) {
    return OutOfRange("flash: size must be below 4 GiB");
  }
  if (size_bytes == 0 || size_bytes % sector_size != 0) {
    return InvalidArgument("flash: size is not a positive multiple of the sector size",
                           static_cast<uint32_t>(size_bytes));
  }
  return OkStatus();
}

Status OsError(const char* reason, int error) {
  switch (error) {
    case ENOENT:
      return NotFound(reason, static_cast<uint32_t>(error));
    case EEXIST:
      return AlreadyExists(reason, static_cast<uint32_t>(error));
    default:
      return Unavailable(reason, static_cast<uint32_t>(error));
  }
}

// Closes a descriptor on every early return until released.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) {
      close(fd_);
    }
  }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

}  // namespace

EmulatedFlash::EmulatedFlash(uint32_t size_bytes, uint32_t sector_size)
    : size_(size_bytes), sector_size_(sector_size), dirty_(size_bytes / sector_size, 0) {
  dirty_sectors_.reserve(dirty_.size());
}

EmulatedFlash::~EmulatedFlash() {
  if (fd_ >= 0) {
    munmap(bytes_, size_);
    close(fd_);
  }
}

Result<std::unique_ptr<EmulatedFlash>> EmulatedFlash::CreateInMemory(uint32_t size_bytes,
                                                                     uint32_t sector_size) {
  ALOFT_TRY(CheckGeometry(size_bytes, sector_size));
  std::unique_ptr<EmulatedFlash> flash(new EmulatedFlash(size_bytes, sector_size));
  flash->memory_.assign(size_bytes, kErased);
  flash->bytes_ = flash->memory_.data();
  return flash;
}

Result<std::unique_ptr<EmulatedFlash>> EmulatedFlash::CreateInMemoryFrom(ConstByteSpan image,
                                                                         uint32_t sector_size) {
  ALOFT_TRY(CheckGeometry(image.size(), sector_size));
  std::unique_ptr<EmulatedFlash> flash(
      new EmulatedFlash(static_cast<uint32_t>(image.size()), sector_size));
  flash->memory_.assign(image.begin(), image.end());
  flash->bytes_ = flash->memory_.data();
  return flash;
}

Result<std::unique_ptr<EmulatedFlash>> EmulatedFlash::CreateFile(const std::filesystem::path& path,
                                                                 uint32_t size_bytes,
                                                                 uint32_t sector_size) {
  ALOFT_TRY(CheckGeometry(size_bytes, sector_size));
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return OsError("flash file: cannot create", errno);
  }
  FdCloser closer(fd);
  if (ftruncate(fd, size_bytes) != 0) {
    int error = errno;
    unlink(path.c_str());
    return OsError("flash file: cannot set size", error);
  }
  void* mapping = mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) {
    int error = errno;
    unlink(path.c_str());
    return OsError("flash file: cannot map", error);
  }
  std::unique_ptr<EmulatedFlash> flash(new EmulatedFlash(size_bytes, sector_size));
  flash->bytes_ = static_cast<std::byte*>(mapping);
  flash->fd_ = closer.release();
  // A new chip comes erased; the file starts as zeros, so it is filled once here.
  std::memset(flash->bytes_, 0xFF, size_bytes);
  return flash;
}

Result<std::unique_ptr<EmulatedFlash>> EmulatedFlash::OpenFile(const std::filesystem::path& path,
                                                               uint32_t sector_size) {
  int fd = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) {
    return OsError("flash file: cannot open", errno);
  }
  FdCloser closer(fd);
  struct stat info;
  if (fstat(fd, &info) != 0) {
    return OsError("flash file: cannot stat", errno);
  }
  if (!S_ISREG(info.st_mode)) {
    return InvalidArgument("flash file: not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(info.st_size);
  ALOFT_TRY(CheckGeometry(file_size, sector_size));
  const uint32_t size_bytes = static_cast<uint32_t>(file_size);
  void* mapping = mmap(nullptr, size_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (mapping == MAP_FAILED) {
    return OsError("flash file: cannot map", errno);
  }
  std::unique_ptr<EmulatedFlash> flash(new EmulatedFlash(size_bytes, sector_size));
  flash->bytes_ = static_cast<std::byte*>(mapping);
  flash->fd_ = closer.release();
  return flash;
}

Status EmulatedFlash::Read(uint32_t offset, ByteSpan out) {
  if (offset > size_ || out.size() > size_ - offset) {
    return OutOfRange("flash: read past the end", offset);
  }
  if (out.empty()) {
    return OkStatus();
  }
  std::memcpy(out.data(), bytes_ + offset, out.size());
  ++counters_.reads;
  counters_.bytes_read += out.size();
  return OkStatus();
}

Status EmulatedFlash::Write(uint32_t offset, ConstByteSpan data) {
  if (offset > size_ || data.size() > size_ - offset) {
    return OutOfRange("flash: write past the end", offset);
  }
  if (data.empty()) {
    return OkStatus();
  }
  std::byte* target = bytes_ + offset;
  const std::byte* source = data.data();
  const size_t length = data.size();
  // Checked in a separate pass so that a refused write changes nothing: a real chip would
  // leave such a byte as flash AND data, which is not what the caller asked for.
  std::byte wrong_bits{0};
  for (size_t i = 0; i < length; ++i) {
    wrong_bits |= source[i] & ~target[i];
  }
  if (wrong_bits != std::byte{0}) {
    size_t first = 0;
    while ((source[first] & ~target[first]) == std::byte{0}) {
      ++first;
    }
    return FailedPrecondition("flash: write sets a bit that is not erased",
                              offset + static_cast<uint32_t>(first));
  }
  for (size_t i = 0; i < length; ++i) {
    target[i] &= source[i];
  }
  MarkDirty(offset / sector_size_, static_cast<uint32_t>((offset + length - 1) / sector_size_));
  ++counters_.writes;
  counters_.bytes_written += length;
  return OkStatus();
}

Status EmulatedFlash::Erase(uint32_t offset, uint32_t size) {
  // Checked in esp_flash_erase_region's order: range, then alignment.
  if (offset > size_ || size > size_ - offset) {
    return OutOfRange("flash: erase past the end", offset);
  }
  if (offset % sector_size_ != 0) {
    return InvalidArgument("flash: erase offset not sector-aligned", offset);
  }
  if (size % sector_size_ != 0) {
    return InvalidArgument("flash: erase size not sector-aligned", size);
  }
  if (size == 0) {
    return OkStatus();
  }
  std::memset(bytes_ + offset, 0xFF, size);
  MarkDirty(offset / sector_size_, (offset + size - 1) / sector_size_);
  ++counters_.erases;
  counters_.sectors_erased += size / sector_size_;
  return OkStatus();
}

Status EmulatedFlash::Sync() {
  if (fd_ < 0) {
    return OkStatus();
  }
  if (msync(bytes_, size_, MS_SYNC) != 0) {
    return Unavailable("flash file: msync failed", static_cast<uint32_t>(errno));
  }
  if (fdatasync(fd_) != 0) {
    return Unavailable("flash file: fdatasync failed", static_cast<uint32_t>(errno));
  }
  return OkStatus();
}

Status EmulatedFlash::RestoreContents(ConstByteSpan image) {
  if (image.size() != size_) {
    return InvalidArgument("flash: image size differs from the chip",
                           static_cast<uint32_t>(std::min<size_t>(
                               image.size(), std::numeric_limits<uint32_t>::max())));
  }
  std::memcpy(bytes_, image.data(), size_);
  MarkAllDirty();
  return OkStatus();
}

void EmulatedFlash::SetCheckpoint() {
  checkpoint_.assign(bytes_, bytes_ + size_);
  std::fill(dirty_.begin(), dirty_.end(), uint8_t{0});
  dirty_sectors_.clear();
}

Status EmulatedFlash::RestoreCheckpoint() {
  if (checkpoint_.empty()) {
    return FailedPrecondition("flash: no checkpoint to restore");
  }
  for (uint32_t sector : dirty_sectors_) {
    const size_t start = static_cast<size_t>(sector) * sector_size_;
    std::memcpy(bytes_ + start, checkpoint_.data() + start, sector_size_);
    dirty_[sector] = 0;
  }
  dirty_sectors_.clear();
  return OkStatus();
}

void EmulatedFlash::MarkDirty(uint32_t first_sector, uint32_t last_sector) {
  // Without a checkpoint there is nothing to restore to, so nothing to track.
  if (checkpoint_.empty()) {
    return;
  }
  for (uint32_t sector = first_sector; sector <= last_sector; ++sector) {
    if (dirty_[sector] == 0) {
      dirty_[sector] = 1;
      dirty_sectors_.push_back(sector);
    }
  }
}

void EmulatedFlash::MarkAllDirty() {
  if (checkpoint_.empty()) {
    return;
  }
  MarkDirty(0, static_cast<uint32_t>(dirty_.size() - 1));
}

}  // namespace aloft::host
