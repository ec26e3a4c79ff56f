#pragma once
// FaultyFlash: a decorator over any port::Flash (usually an EmulatedFlash) that applies a
// FaultPlan (fault_plan.h): power cuts before or during a chosen op, injected failures, bit flips.
// It counts the calls made through it, which is what the plan's indices refer to: "mutating op N"
// is the N-th non-empty Write or Erase call since construction or the last Revive(), whatever its
// outcome; reads are counted separately. Empty calls are forwarded (for their argument checks)
// but never counted or faulted, as on the chip they send no command.
//
// After a power cut the chip is dead: every call (Read, Write, Erase) returns kAborted
// ("flash: power lost") and changes nothing, so the code under test unwinds through its normal
// error paths and the inner flash keeps exactly the bytes of the moment of the cut. Revive()
// models the reboot. A torn op and a bit flip reach the inner flash as ordinary Read, Erase and
// Write calls, so the inner flash's own counters include them; this decorator's counts do not.
//
// Not thread-safe. The inner flash must outlive the decorator.

#include <cstdint>
#include <vector>

#include "core/bytes.h"
#include "core/port/flash.h"
#include "core/status.h"
#include "ports/host/fault_plan.h"

namespace aloft::host {

struct FaultyFlashOptions {
  // The erase unit a torn erase leaves undefined, as ESP-IDF's esp_flash_erase_region erases:
  // a whole block where the remaining range starts on a block boundary and covers a block,
  // otherwise one sector. 0, or a size that is not a multiple of the sector size, means sectors
  // only.
  uint32_t block_erase_size = 0x10000;
};

class FaultyFlash final : public port::Flash {
 public:
  // Applies the plan's flips with after_op 0 at once.
  // REQUIRES: every flip's offset is inside the flash and its bit below 8; every injected code
  // is not kOk (checked: a broken plan is a bug in the test).
  explicit FaultyFlash(port::Flash& inner, FaultPlan plan = {}, FaultyFlashOptions options = {});

  // port::Flash: the inner flash's behaviour and codes, plus kAborted ("flash: power lost")
  // from the cut op on, and Status(code, "flash: injected failure", offset) for a failed op.
  Status Read(uint32_t offset, ByteSpan out) override;
  Status Write(uint32_t offset, ConstByteSpan data) override;
  Status Erase(uint32_t offset, uint32_t size) override;
  // Geometry still answers after a cut: it is not an operation on the chip.
  uint32_t sector_size() const override { return inner_.sector_size(); }
  uint32_t size() const override { return inner_.size(); }

  // Whether the plan's power cut has happened, and at which mutating op (0 if it has not).
  bool power_lost() const { return cut_op_ != 0; }
  uint64_t power_cut_op() const { return cut_op_; }
  // Mutating ops (non-empty Write and Erase calls) and non-empty reads seen so far, including
  // failed ones and the cut op; calls after the cut are not counted. Run once without faults,
  // mutating_op_count() is the N a sweep iterates over.
  uint64_t mutating_op_count() const { return mutating_ops_; }
  uint64_t read_count() const { return reads_; }
  const FaultPlan& plan() const { return plan_; }

  // The reboot: power is back, the counts restart from 0, and `plan` (none by default) is armed
  // for this boot, its after_op-0 flips applied at once. REQUIRES: as the constructor.
  void Revive(FaultPlan plan = {});

 private:
  // The slow path of a mutating op that has a fault due (a cut, a failure or a flip).
  Status MutateWithFaults(bool is_write, uint32_t offset, ConstByteSpan data, uint32_t size);
  Status Forward(bool is_write, uint32_t offset, ConstByteSpan data, uint32_t size);
  void TearWrite(uint32_t offset, ConstByteSpan data, uint64_t seed);
  void TearErase(uint32_t offset, uint32_t size, uint64_t seed);
  void ApplyFlipsAfter(uint64_t op);
  void Arm(FaultPlan plan);
  // The smallest mutating op / read index above the current counts that has a fault due.
  void UpdateNextEvents();

  port::Flash& inner_;
  FaultyFlashOptions options_;
  FaultPlan plan_;
  uint64_t mutating_ops_ = 0;
  uint64_t reads_ = 0;
  uint64_t cut_op_ = 0;
  uint64_t next_op_event_ = 0;      // 0: none due
  uint64_t next_read_event_ = 0;    // 0: none due
  std::vector<std::byte> scratch_;  // one sector, for torn erases; allocated when first needed
};

// Inverts bit `bit` of the byte at absolute `offset` through the port: a 1 -> 0 flip is one
// one-byte Write; a 0 -> 1 flip reads the sector, erases it and writes it back.
// kOutOfRange if offset is outside the flash; kInvalidArgument if bit > 7; the flash's codes.
Status FlipFlashBit(port::Flash& flash, uint32_t offset, uint8_t bit);

}  // namespace aloft::host
