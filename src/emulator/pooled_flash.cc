#include "emulator/pooled_flash.h"

#include <algorithm>
#include <cstring>
#include <functional>

namespace aloft::emulator {
namespace {

size_t HashSector(const SectorBytes& bytes) {
  return std::hash<std::string_view>()(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
}

bool IsErased(const SectorBytes& bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0xFF}; });
}

}  // namespace

std::shared_ptr<const SectorBytes> SectorPool::Intern(const SectorBytes& bytes) {
  const size_t hash = HashSector(bytes);
  std::lock_guard lock(mutex_);
  const auto [first, last] = sectors_.equal_range(hash);
  for (auto it = first; it != last; ++it) {
    if (*it->second == bytes) {
      return it->second;
    }
  }
  auto sector = std::make_shared<const SectorBytes>(bytes);
  sectors_.emplace(hash, sector);
  return sector;
}

size_t SectorPool::sector_count() const {
  std::lock_guard lock(mutex_);
  return sectors_.size();
}

PooledFlash::PooledFlash(std::shared_ptr<SectorPool> pool, uint32_t size_bytes)
    : pool_(std::move(pool)), size_(size_bytes), slots_(size_bytes / kPooledSectorSize) {}

Result<std::unique_ptr<PooledFlash>> PooledFlash::Create(std::shared_ptr<SectorPool> pool,
                                                         uint32_t size_bytes) {
  if (size_bytes == 0 || size_bytes % kPooledSectorSize != 0) {
    return InvalidArgument("flash: size not a multiple of the sector size", size_bytes);
  }
  return std::unique_ptr<PooledFlash>(new PooledFlash(std::move(pool), size_bytes));
}

Result<std::unique_ptr<PooledFlash>> PooledFlash::CreateFrom(std::shared_ptr<SectorPool> pool,
                                                             uint32_t size_bytes,
                                                             ConstByteSpan image) {
  if (image.size() > size_bytes) {
    return InvalidArgument("flash: image larger than the chip", size_bytes);
  }
  Result<std::unique_ptr<PooledFlash>> flash = Create(std::move(pool), size_bytes);
  if (!flash.ok()) {
    return flash;
  }
  for (size_t at = 0; at < image.size(); at += kPooledSectorSize) {
    SectorBytes bytes;
    bytes.fill(std::byte{0xFF});
    const size_t n = std::min<size_t>(kPooledSectorSize, image.size() - at);
    std::memcpy(bytes.data(), image.data() + at, n);
    if (!IsErased(bytes)) {
      (*flash)->slots_[at / kPooledSectorSize].shared = (*flash)->pool_->Intern(bytes);
    }
  }
  return flash;
}

const SectorBytes* PooledFlash::View(const Slot& slot) const {
  if (slot.owned) {
    return slot.owned.get();
  }
  return slot.shared.get();
}

SectorBytes& PooledFlash::Own(Slot& slot) {
  if (!slot.owned) {
    slot.owned = std::make_unique<SectorBytes>();
    if (slot.shared) {
      *slot.owned = *slot.shared;
      slot.shared.reset();
    } else {
      slot.owned->fill(std::byte{0xFF});
    }
    ++owned_count_;
  }
  return *slot.owned;
}

Status PooledFlash::Read(uint32_t offset, ByteSpan out) {
  if (offset > size_ || out.size() > size_ - offset) {
    return OutOfRange("flash: read past the end", offset);
  }
  if (out.empty()) {
    return OkStatus();
  }
  for (size_t done = 0; done < out.size();) {
    const uint32_t at = offset + static_cast<uint32_t>(done);
    const uint32_t in_sector = at % kPooledSectorSize;
    const size_t n = std::min<size_t>(kPooledSectorSize - in_sector, out.size() - done);
    const SectorBytes* sector = View(slots_[at / kPooledSectorSize]);
    if (sector == nullptr) {
      std::memset(out.data() + done, 0xFF, n);
    } else {
      std::memcpy(out.data() + done, sector->data() + in_sector, n);
    }
    done += n;
  }
  ++counters_.reads;
  counters_.bytes_read += out.size();
  return OkStatus();
}

Status PooledFlash::Write(uint32_t offset, ConstByteSpan data) {
  if (offset > size_ || data.size() > size_ - offset) {
    return OutOfRange("flash: write past the end", offset);
  }
  if (data.empty()) {
    return OkStatus();
  }
  // Checked in a separate pass so that a refused write changes nothing (as EmulatedFlash).
  for (size_t done = 0; done < data.size();) {
    const uint32_t at = offset + static_cast<uint32_t>(done);
    const uint32_t in_sector = at % kPooledSectorSize;
    const size_t n = std::min<size_t>(kPooledSectorSize - in_sector, data.size() - done);
    // An erased sector accepts anything.
    if (const SectorBytes* sector = View(slots_[at / kPooledSectorSize])) {
      for (size_t i = 0; i < n; ++i) {
        if ((data[done + i] & ~(*sector)[in_sector + i]) != std::byte{0}) {
          return FailedPrecondition("flash: write sets a bit that is not erased",
                                    at + static_cast<uint32_t>(i));
        }
      }
    }
    done += n;
  }
  for (size_t done = 0; done < data.size();) {
    const uint32_t at = offset + static_cast<uint32_t>(done);
    const uint32_t in_sector = at % kPooledSectorSize;
    const size_t n = std::min<size_t>(kPooledSectorSize - in_sector, data.size() - done);
    SectorBytes& sector = Own(slots_[at / kPooledSectorSize]);
    for (size_t i = 0; i < n; ++i) {
      sector[in_sector + i] &= data[done + i];
    }
    done += n;
  }
  ++counters_.writes;
  counters_.bytes_written += data.size();
  return OkStatus();
}

Status PooledFlash::Erase(uint32_t offset, uint32_t size) {
  // Checked in esp_flash_erase_region's order: range, then alignment.
  if (offset > size_ || size > size_ - offset) {
    return OutOfRange("flash: erase past the end", offset);
  }
  if (offset % kPooledSectorSize != 0) {
    return InvalidArgument("flash: erase offset not sector-aligned", offset);
  }
  if (size % kPooledSectorSize != 0) {
    return InvalidArgument("flash: erase size not sector-aligned", size);
  }
  if (size == 0) {
    return OkStatus();
  }
  for (uint32_t sector = offset / kPooledSectorSize; sector < (offset + size) / kPooledSectorSize;
       ++sector) {
    Slot& slot = slots_[sector];
    if (slot.owned) {
      slot.owned.reset();
      --owned_count_;
    }
    slot.shared.reset();
  }
  ++counters_.erases;
  counters_.sectors_erased += size / kPooledSectorSize;
  return OkStatus();
}

void PooledFlash::Intern() {
  for (Slot& slot : slots_) {
    if (!slot.owned) {
      continue;
    }
    if (!IsErased(*slot.owned)) {
      slot.shared = pool_->Intern(*slot.owned);
    }
    slot.owned.reset();
    --owned_count_;
  }
}

std::unique_ptr<PooledFlash> PooledFlash::Clone() {
  Intern();
  auto copy = std::unique_ptr<PooledFlash>(new PooledFlash(pool_, size_));
  for (size_t i = 0; i < slots_.size(); ++i) {
    copy->slots_[i].shared = slots_[i].shared;
  }
  return copy;
}

}  // namespace aloft::emulator
