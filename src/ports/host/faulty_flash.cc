#include "ports/host/faulty_flash.h"

#include <algorithm>
#include <array>
#include <utility>

#include "core/check.h"
#include "core/try.h"

namespace aloft::host {
namespace {

Status PowerLost() { return Aborted("flash: power lost"); }

// SplitMix64 (Steele, Lea, Flood 2014): tiny, fast, and stable across platforms, so a printed
// seed replays the same tear everywhere.
class SeededBits {
 public:
  explicit SeededBits(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // Uniform enough in [0, bound) for bounds far below 2^64. REQUIRES: bound > 0.
  uint64_t Below(uint64_t bound) { return Next() % bound; }

 private:
  uint64_t state_;
};

// A tear is what a chip managed before it lost power: if the inner flash refuses part of it, it
// keeps what it has, exactly as that chip would. So tear steps ignore their status.
void Ignore(const Status&) {}

}  // namespace

FaultyFlash::FaultyFlash(port::Flash& inner, FaultPlan plan, FaultyFlashOptions options)
    : inner_(inner), options_(options) {
  if (options_.block_erase_size % inner_.sector_size() != 0) {
    options_.block_erase_size = 0;
  }
  Arm(std::move(plan));
}

void FaultyFlash::Revive(FaultPlan plan) { Arm(std::move(plan)); }

void FaultyFlash::Arm(FaultPlan plan) {
  for (const BitFlip& flip : plan.flips) {
    ALOFT_CHECK(flip.offset < inner_.size());
    ALOFT_CHECK(flip.bit < 8);
  }
  for (const InjectedFailure& failure : plan.failures) {
    ALOFT_CHECK(failure.code != Status::Code::kOk);
  }
  plan_ = std::move(plan);
  mutating_ops_ = 0;
  reads_ = 0;
  cut_op_ = 0;
  ApplyFlipsAfter(0);
  UpdateNextEvents();
}

Status FaultyFlash::Read(uint32_t offset, ByteSpan out) {
  if (power_lost()) {
    return PowerLost();
  }
  if (out.empty()) {
    return inner_.Read(offset, out);
  }
  ++reads_;
  if (reads_ == next_read_event_) {
    for (const InjectedFailure& failure : plan_.failures) {
      if (failure.target == InjectedFailure::Target::kRead && failure.index == reads_) {
        UpdateNextEvents();
        return Status(failure.code, "flash: injected failure", offset);
      }
    }
  }
  return inner_.Read(offset, out);
}

Status FaultyFlash::Write(uint32_t offset, ConstByteSpan data) {
  if (power_lost()) {
    return PowerLost();
  }
  if (data.empty()) {
    return inner_.Write(offset, data);
  }
  ++mutating_ops_;
  if (mutating_ops_ != next_op_event_) {
    return inner_.Write(offset, data);
  }
  return MutateWithFaults(true, offset, data, 0);
}

Status FaultyFlash::Erase(uint32_t offset, uint32_t size) {
  if (power_lost()) {
    return PowerLost();
  }
  if (size == 0) {
    return inner_.Erase(offset, size);
  }
  ++mutating_ops_;
  if (mutating_ops_ != next_op_event_) {
    return inner_.Erase(offset, size);
  }
  return MutateWithFaults(false, offset, {}, size);
}

Status FaultyFlash::MutateWithFaults(bool is_write, uint32_t offset, ConstByteSpan data,
                                     uint32_t size) {
  const uint64_t op = mutating_ops_;
  if (plan_.cut && plan_.cut->op == op) {
    if (plan_.cut->kind == PowerCutKind::kDuring) {
      if (is_write) {
        TearWrite(offset, data, plan_.cut->seed);
      } else {
        TearErase(offset, size, plan_.cut->seed);
      }
    }
    // From here on the chip is frozen: no later flip, failure or op applies.
    cut_op_ = op;
    next_op_event_ = 0;
    next_read_event_ = 0;
    return PowerLost();
  }
  Status status;
  bool failed = false;
  for (const InjectedFailure& failure : plan_.failures) {
    if (failure.target == InjectedFailure::Target::kMutatingOp && failure.index == op) {
      status = Status(failure.code, "flash: injected failure", offset);
      failed = true;
      break;
    }
  }
  if (!failed) {
    status = is_write ? inner_.Write(offset, data) : inner_.Erase(offset, size);
  }
  ApplyFlipsAfter(op);
  UpdateNextEvents();
  return status;
}

void FaultyFlash::TearWrite(uint32_t offset, ConstByteSpan data, uint64_t seed) {
  const uint32_t flash_size = inner_.size();
  if (offset > flash_size || data.size() > flash_size - offset) {
    return;
  }
  // A write the chip model refuses (a bit set over a cleared one) is cut before it starts, so a
  // tear never produces bytes the uninterrupted op could not have produced.
  std::array<std::byte, 256> chunk;
  for (size_t done = 0; done < data.size(); done += chunk.size()) {
    const size_t length = std::min(chunk.size(), data.size() - done);
    ByteSpan current = ByteSpan(chunk).first(length);
    if (!inner_.Read(offset + static_cast<uint32_t>(done), current).ok()) {
      return;
    }
    for (size_t i = 0; i < length; ++i) {
      if ((data[done + i] & ~current[i]) != std::byte{0}) {
        return;
      }
    }
  }
  // The bytes are programmed in address order: a prefix is done, the next byte has lost only
  // some of the bits it was to lose, the rest are untouched. Never the whole write: that outcome
  // is the cut before the next op.
  SeededBits bits(seed);
  const size_t programmed = static_cast<size_t>(bits.Below(data.size()));
  if (programmed > 0) {
    Ignore(inner_.Write(offset, data.first(programmed)));
  }
  const uint32_t partial_offset = offset + static_cast<uint32_t>(programmed);
  std::byte old{0};
  if (!inner_.Read(partial_offset, {&old, 1}).ok()) {
    return;
  }
  const std::byte to_clear = old & ~data[programmed];
  const std::byte cleared = to_clear & static_cast<std::byte>(bits.Next() & 0xFF);
  if (cleared != std::byte{0}) {
    const std::byte partial = old & ~cleared;
    Ignore(inner_.Write(partial_offset, {&partial, 1}));
  }
}

void FaultyFlash::TearErase(uint32_t offset, uint32_t size, uint64_t seed) {
  const uint32_t flash_size = inner_.size();
  const uint32_t sector_size = inner_.sector_size();
  if (offset > flash_size || size > flash_size - offset || offset % sector_size != 0 ||
      size % sector_size != 0) {
    return;
  }
  // esp_flash_erase_region erases in address order, a 64 KiB block at a time where it can and a
  // sector otherwise; one of those units is torn.
  const uint32_t block = options_.block_erase_size;
  auto unit_at = [&](uint32_t address, uint32_t remaining) {
    return (block != 0 && address % block == 0 && remaining >= block) ? block : sector_size;
  };
  uint64_t unit_count = 0;
  for (uint32_t address = offset; address < offset + size;) {
    address += unit_at(address, offset + size - address);
    ++unit_count;
  }
  SeededBits bits(seed);
  const uint64_t torn_unit = bits.Below(unit_count);
  uint32_t address = offset;
  for (uint64_t unit = 0; unit < torn_unit; ++unit) {
    address += unit_at(address, offset + size - address);
  }
  if (address > offset) {
    Ignore(inner_.Erase(offset, address - offset));
  }
  const uint32_t torn_size = unit_at(address, offset + size - address);

  // The torn unit is undefined. A NOR chip's embedded erase first pre-programs every cell to 0
  // (on most parts), then pulses the whole unit at once until every cell reads 1; nothing in it
  // proceeds by address. So each bit is its old value, or 0 if pre-programming ran, unless the
  // erase has already raised it to 1; the seed picks the phase and how far the erase got, from
  // "a few bits raised" (the dangerous case: old records still look almost valid) to "almost
  // erased".
  const bool preprogrammed = (bits.Next() & 1) != 0;
  const uint64_t raised_per_256 = 1 + bits.Below(255);
  scratch_.resize(sector_size);
  for (uint32_t sector = address; sector < address + torn_size; sector += sector_size) {
    if (!inner_.Read(sector, scratch_).ok()) {
      return;
    }
    for (std::byte& value : scratch_) {
      const uint64_t random = bits.Next();
      uint8_t raised = 0;
      for (int bit = 0; bit < 8; ++bit) {
        if (((random >> (8 * bit)) & 0xFF) < raised_per_256) {
          raised = static_cast<uint8_t>(raised | (1u << bit));
        }
      }
      const std::byte base = preprogrammed ? std::byte{0} : value;
      value = base | static_cast<std::byte>(raised);
    }
    Ignore(inner_.Erase(sector, sector_size));
    Ignore(inner_.Write(sector, scratch_));
  }
}

void FaultyFlash::ApplyFlipsAfter(uint64_t op) {
  for (const BitFlip& flip : plan_.flips) {
    if (flip.after_op == op) {
      // Checked in Arm; an inner flash that refuses (itself dead) simply keeps its bytes.
      Ignore(FlipFlashBit(inner_, flip.offset, flip.bit));
    }
  }
}

void FaultyFlash::UpdateNextEvents() {
  next_op_event_ = 0;
  next_read_event_ = 0;
  auto consider = [](uint64_t& next, uint64_t index, uint64_t done) {
    if (index > done && (next == 0 || index < next)) {
      next = index;
    }
  };
  if (plan_.cut && !power_lost()) {
    consider(next_op_event_, plan_.cut->op, mutating_ops_);
  }
  for (const InjectedFailure& failure : plan_.failures) {
    if (failure.target == InjectedFailure::Target::kMutatingOp) {
      consider(next_op_event_, failure.index, mutating_ops_);
    } else {
      consider(next_read_event_, failure.index, reads_);
    }
  }
  for (const BitFlip& flip : plan_.flips) {
    consider(next_op_event_, flip.after_op, mutating_ops_);
  }
}

Status FlipFlashBit(port::Flash& flash, uint32_t offset, uint8_t bit) {
  if (offset >= flash.size()) {
    return OutOfRange("flash: bit flip past the end", offset);
  }
  if (bit > 7) {
    return InvalidArgument("flash: bit index above 7", bit);
  }
  const std::byte mask = static_cast<std::byte>(1u << bit);
  std::byte value{0};
  ALOFT_TRY(flash.Read(offset, {&value, 1}));
  if ((value & mask) != std::byte{0}) {
    const std::byte cleared = value & ~mask;
    return flash.Write(offset, {&cleared, 1});
  }
  // Only an erase raises a bit, so the sector is rewritten around the flipped one.
  const uint32_t sector_size = flash.sector_size();
  const uint32_t start = offset - offset % sector_size;
  std::vector<std::byte> sector(sector_size);
  ALOFT_TRY(flash.Read(start, sector));
  sector[offset - start] |= mask;
  ALOFT_TRY(flash.Erase(start, sector_size));
  return flash.Write(start, sector);
}

}  // namespace aloft::host
