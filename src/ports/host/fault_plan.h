#pragma once
// FaultPlan: what goes wrong, and when, on a flash wrapped in a FaultyFlash (faulty_flash.h).
// A plain value: build it, copy it, print it. Every fault is indexed by a 1-based count kept by
// the FaultyFlash: "mutating op N" is the N-th non-empty Write or Erase call made through it
// (whatever its outcome), "read N" the N-th non-empty Read call. The same plan over the same
// deterministic code always hits the same call with the same outcome, so a failure can be
// reproduced from its printed plan. Model and rationale: docs/emulator.md.
//
//   FaultPlan::CutBefore(7)                   // op 7 never reaches the chip
//   FaultPlan::CutDuring(7, seed)             // op 7 is torn, then the chip is dead
//   FaultPlan().FailOp(3, Status::Code::kUnavailable).FlipBit(0xd000, 2, /*after_op=*/5)

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace aloft::host {

enum class PowerCutKind : uint8_t {
  // Power is lost just before op N: the chip never sees it. The flash holds what ops 1..N-1
  // left; op N and every later call return kAborted.
  kBefore,
  // Power is lost while the chip executes op N, which is left torn (the seed decides how far it
  // got), then as kBefore. A torn write programs a prefix of its bytes (0 to size-1 of them)
  // fully and the next byte partly: a random subset (possibly none or all) of the bits it was to
  // clear. A torn erase completes the erase units (64 KiB blocks or sectors, as ESP-IDF walks the
  // range) before one chosen unit, leaves those after it untouched, and leaves the chosen unit
  // undefined: each bit is its old value (or 0, if the chip's pre-program phase ran) unless the
  // erase already raised it to 1, with a seeded density from "old content with a few bits set" to
  // "almost erased". A torn op whose arguments the chip model would refuse (range, alignment, a
  // bit set over a cleared one) is cut as kBefore.
  kDuring,
};

struct PowerCut {
  uint64_t op = 0;  // 1-based mutating op
  PowerCutKind kind = PowerCutKind::kBefore;
  uint64_t seed = 0;  // kDuring only: how much of the op happened

  friend bool operator==(const PowerCut&, const PowerCut&) = default;
};

// The call returns Status(code, "flash: injected failure", absolute offset) and the chip is not
// touched; power stays on, so later calls work. A power cut at the same op wins.
struct InjectedFailure {
  enum class Target : uint8_t { kMutatingOp, kRead };
  Target target = Target::kMutatingOp;
  uint64_t index = 0;  // 1-based, counted per target
  Status::Code code = Status::Code::kUnavailable;

  friend bool operator==(const InjectedFailure&, const InjectedFailure&) = default;
};

// Bit `bit` (0 = least significant) of the byte at absolute `offset` is inverted (1 -> 0 or
// 0 -> 1: charge loss, a disturb, a cosmic ray) once mutating op `after_op` has returned, whatever
// its outcome, or when the FaultyFlash is constructed if after_op is 0. A chip that has lost power
// no longer changes, so flips due at or after the cut are dropped.
struct BitFlip {
  uint64_t after_op = 0;
  uint32_t offset = 0;
  uint8_t bit = 0;  // 0..7

  friend bool operator==(const BitFlip&, const BitFlip&) = default;
};

struct FaultPlan {
  std::optional<PowerCut> cut;
  std::vector<InjectedFailure> failures;
  std::vector<BitFlip> flips;

  static FaultPlan None() { return {}; }
  static FaultPlan CutBefore(uint64_t op) { return WithCut({op, PowerCutKind::kBefore, 0}); }
  static FaultPlan CutDuring(uint64_t op, uint64_t seed) {
    return WithCut({op, PowerCutKind::kDuring, seed});
  }
  static FaultPlan WithCut(PowerCut cut) {
    FaultPlan plan;
    plan.cut = cut;
    return plan;
  }

  // REQUIRES: code is not kOk.
  FaultPlan& FailOp(uint64_t op, Status::Code code) & {
    failures.push_back({InjectedFailure::Target::kMutatingOp, op, code});
    return *this;
  }
  FaultPlan FailOp(uint64_t op, Status::Code code) && { return std::move(FailOp(op, code)); }
  // REQUIRES: code is not kOk.
  FaultPlan& FailRead(uint64_t read, Status::Code code) & {
    failures.push_back({InjectedFailure::Target::kRead, read, code});
    return *this;
  }
  FaultPlan FailRead(uint64_t read, Status::Code code) && {
    return std::move(FailRead(read, code));
  }
  // REQUIRES: bit < 8 and offset inside the flash (checked when applied).
  FaultPlan& FlipBit(uint32_t offset, uint8_t bit, uint64_t after_op = 0) & {
    flips.push_back({after_op, offset, bit});
    return *this;
  }
  FaultPlan FlipBit(uint32_t offset, uint8_t bit, uint64_t after_op = 0) && {
    return std::move(FlipBit(offset, bit, after_op));
  }

  bool empty() const { return !cut && failures.empty() && flips.empty(); }

  friend bool operator==(const FaultPlan&, const FaultPlan&) = default;
};

// "power cut before op 7", "power cut during op 7 (seed 0x2a)": names a cut the way a failure
// report should, so that it can be replayed with FaultPlan::WithCut.
std::string Describe(const PowerCut& cut);
// The whole plan, "no faults" if empty; for failure messages.
std::string Describe(const FaultPlan& plan);

// A well-mixed 64-bit value from a seed and an index (SplitMix64 of their combination): derives
// independent per-op seeds from one sweep seed. Pure and stable across platforms and releases, so
// printed seeds stay reproducible.
uint64_t MixSeed(uint64_t seed, uint64_t index);

}  // namespace aloft::host
