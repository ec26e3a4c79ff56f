#pragma once
// PooledFlash: the NOR physics of EmulatedFlash (ports/host/emulated_flash.h) — erased bytes
// read 0xFF, a write only clears bits and is refused whole if it would set one, erase works on
// whole 4 KiB sectors, the same error codes and counters — over sectors that many emulated
// devices share. A fleet of a thousand devices holds a thousand copies of the same firmware;
// here each sector is either erased (no memory at all), owned by this flash (being written), or
// a reference to an immutable sector in a SectorPool, content-addressed and shared by every
// flash that holds the same bytes. Intern() moves owned sectors into the pool, so a device
// between updates costs a sector table (24 bytes a sector: 24 KiB for 4 MiB), not 4 MiB.
//
// Thread-safety: a PooledFlash belongs to one device (one thread at a time); a SectorPool is
// shared and thread-safe, and its sectors are never modified once in it.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/bytes.h"
#include "core/port/flash.h"
#include "core/result.h"
#include "core/status.h"
#include "ports/host/emulated_flash.h"

namespace aloft::emulator {

inline constexpr uint32_t kPooledSectorSize = 0x1000;
using SectorBytes = std::array<std::byte, kPooledSectorSize>;

class SectorPool {
 public:
  SectorPool() = default;
  SectorPool(const SectorPool&) = delete;
  SectorPool& operator=(const SectorPool&) = delete;

  // The pool's sector holding exactly `bytes` (kPooledSectorSize of them), added if new.
  std::shared_ptr<const SectorBytes> Intern(const SectorBytes& bytes);

  size_t sector_count() const;
  uint64_t bytes() const { return sector_count() * kPooledSectorSize; }

 private:
  mutable std::mutex mutex_;
  std::unordered_multimap<size_t, std::shared_ptr<const SectorBytes>> sectors_;
};

class PooledFlash final : public port::Flash {
 public:
  // A blank chip (all erased). kInvalidArgument "flash: size not a multiple of the sector
  // size" (or zero).
  static Result<std::unique_ptr<PooledFlash>> Create(std::shared_ptr<SectorPool> pool,
                                                     uint32_t size_bytes);
  // A chip holding `image` (a flash dump) at offset 0, erased after it; its sectors interned.
  // kInvalidArgument as Create, or "flash: image larger than the chip".
  static Result<std::unique_ptr<PooledFlash>> CreateFrom(std::shared_ptr<SectorPool> pool,
                                                         uint32_t size_bytes, ConstByteSpan image);

  // Another chip holding the same bytes, sharing every sector through the pool (this flash's
  // owned sectors are interned first). Cheap: a sector table. Counters start at zero.
  std::unique_ptr<PooledFlash> Clone();

  // port::Flash, with EmulatedFlash's codes and reasons.
  Status Read(uint32_t offset, ByteSpan out) override;
  Status Write(uint32_t offset, ConstByteSpan data) override;
  Status Erase(uint32_t offset, uint32_t size) override;
  uint32_t sector_size() const override { return kPooledSectorSize; }
  uint32_t size() const override { return size_; }

  // Moves the sectors this flash owns into the pool (or drops them if erased). Call when the
  // device is between operations; reads and writes behave the same before and after.
  void Intern();

  // Memory this flash holds on its own: the owned sectors (not the table, not the pool's).
  uint64_t owned_bytes() const { return owned_count_ * uint64_t{kPooledSectorSize}; }
  const host::FlashCounters& counters() const { return counters_; }

 private:
  struct Slot {
    std::shared_ptr<const SectorBytes> shared;  // in the pool; null with `owned`: erased
    std::unique_ptr<SectorBytes> owned;         // this flash's own copy, being written
  };
  PooledFlash(std::shared_ptr<SectorPool> pool, uint32_t size_bytes);
  // The sector's bytes for reading, or null if erased.
  const SectorBytes* View(const Slot& slot) const;
  // The sector's bytes for writing (copied out of the pool or filled with 0xFF first).
  SectorBytes& Own(Slot& slot);

  std::shared_ptr<SectorPool> pool_;
  uint32_t size_;
  std::vector<Slot> slots_;
  uint64_t owned_count_ = 0;
  host::FlashCounters counters_;
};

}  // namespace aloft::emulator
