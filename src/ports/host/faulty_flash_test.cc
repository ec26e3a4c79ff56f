#include "ports/host/faulty_flash.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <bit>
#include <csignal>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "ports/host/emulated_flash.h"
#include "ports/host/fault_plan.h"
#include "support/allocation_counter.h"
#include "support/vectors.h"

namespace aloft::host {
namespace {

using aloft::testing::ReadBinary;
using aloft::testing::TempDir;

constexpr uint32_t kSector = 0x1000;
constexpr uint32_t kSize = 0x40000;  // 256 KiB: four 64 KiB erase blocks

// Status::operator== compares reason pointers, and literals from different translation units
// need not share storage (they do not under ASan), so reasons are compared as text.
::testing::AssertionResult SameStatus(const Status& actual, const Status& expected) {
  if (actual.code() == expected.code() && std::strcmp(actual.reason(), expected.reason()) == 0 &&
      actual.has_context() == expected.has_context() && actual.context() == expected.context()) {
    return ::testing::AssertionSuccess();
  }
  auto text = [](const Status& status) {
    return std::string(CodeName(status.code())) + " \"" + status.reason() + "\"" +
           (status.has_context() ? " context " + std::to_string(status.context()) : "");
  };
  return ::testing::AssertionFailure() << "got " << text(actual) << ", want " << text(expected);
}

const Status kPowerLost = Aborted("flash: power lost");

std::unique_ptr<EmulatedFlash> MakeFlash(uint32_t size = kSize) {
  auto flash = EmulatedFlash::CreateInMemory(size, kSector);
  EXPECT_TRUE(flash.ok());
  return std::move(flash).value();
}

std::vector<std::byte> Bytes(std::initializer_list<uint8_t> values) {
  std::vector<std::byte> bytes;
  for (uint8_t value : values) {
    bytes.push_back(static_cast<std::byte>(value));
  }
  return bytes;
}

std::vector<std::byte> Filled(size_t size, uint8_t value) {
  return std::vector<std::byte>(size, static_cast<std::byte>(value));
}

// A pattern with every byte value and mixed bits: byte i is (i * 37 + 11) mod 256.
std::vector<std::byte> Pattern(size_t size) {
  std::vector<std::byte> bytes(size);
  for (size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<std::byte>((i * 37 + 11) & 0xFF);
  }
  return bytes;
}

std::vector<std::byte> Slice(const EmulatedFlash& flash, uint32_t offset, size_t size) {
  ConstByteSpan all = flash.contents();
  return {all.begin() + offset, all.begin() + offset + size};
}

std::vector<std::byte> Contents(const EmulatedFlash& flash) {
  return {flash.contents().begin(), flash.contents().end()};
}

bool AllBytesAre(ConstByteSpan bytes, uint8_t value) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [value](std::byte b) { return b == static_cast<std::byte>(value); });
}

size_t OneBits(ConstByteSpan bytes) {
  size_t ones = 0;
  for (std::byte b : bytes) {
    ones += static_cast<size_t>(std::popcount(static_cast<uint8_t>(b)));
  }
  return ones;
}

// ---- Counting and forwarding ----

TEST(FaultyFlash, NoPlan_ForwardsEveryCallAndCountsIt) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner);
  std::array<std::byte, 4> out;
  ASSERT_TRUE(flash.Erase(0, kSector).ok());
  ASSERT_TRUE(flash.Write(0x10, Bytes({1, 2, 3, 4})).ok());
  ASSERT_TRUE(flash.Read(0x10, out).ok());
  EXPECT_EQ(out,
            (std::array<std::byte, 4>{std::byte{1}, std::byte{2}, std::byte{3}, std::byte{4}}));
  EXPECT_EQ(flash.Write(0x10, Bytes({0xFF})).code(), Status::Code::kFailedPrecondition);
  EXPECT_EQ(flash.size(), kSize);
  EXPECT_EQ(flash.sector_size(), kSector);
  // The refused write is still a call the code made: op 3.
  EXPECT_EQ(flash.mutating_op_count(), 3u);
  EXPECT_EQ(flash.read_count(), 1u);
  EXPECT_FALSE(flash.power_lost());
  EXPECT_EQ(flash.power_cut_op(), 0u);
  EXPECT_EQ(inner->counters().mutating_ops(), 2u);
}

TEST(FaultyFlash, EmptyCalls_ForwardedButNeverCounted) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan::CutBefore(1));
  EXPECT_TRUE(flash.Write(0, {}).ok());
  EXPECT_TRUE(flash.Erase(0, 0).ok());
  EXPECT_TRUE(flash.Read(0, {}).ok());
  EXPECT_TRUE(
      SameStatus(flash.Write(kSize + 1, {}), OutOfRange("flash: write past the end", kSize + 1)));
  EXPECT_EQ(flash.mutating_op_count(), 0u);
  EXPECT_EQ(flash.read_count(), 0u);
  EXPECT_FALSE(flash.power_lost());
}

TEST(FaultyFlash, HotPath_NoFaultDue_AllocatesNothing) {
  auto inner = MakeFlash(0x400000);
  FaultyFlash flash(*inner,
                    FaultPlan::CutBefore(1'000'000).FailOp(999'999, Status::Code::kInternal));
  const std::vector<std::byte> page = Filled(256, 0x5A);
  std::vector<std::byte> out(256);
  aloft::testing::AllocationGuard guard;
  for (uint32_t offset = 0; offset < 0x40000; offset += 256) {
    if (offset % kSector == 0) {
      ASSERT_TRUE(flash.Erase(offset, kSector).ok());
    }
    ASSERT_TRUE(flash.Write(offset, page).ok());
    ASSERT_TRUE(flash.Read(offset, out).ok());
  }
}

// ---- Clean cuts ----

TEST(FaultyFlash, CutBefore_OpNeverReachesChipAndEverythingAfterIsAborted) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan::CutBefore(2));
  ASSERT_TRUE(flash.Write(0x0, Bytes({0x11})).ok());
  EXPECT_TRUE(SameStatus(flash.Write(0x1, Bytes({0x22})), kPowerLost));
  EXPECT_TRUE(flash.power_lost());
  EXPECT_EQ(flash.power_cut_op(), 2u);
  EXPECT_EQ(flash.mutating_op_count(), 2u);
  std::array<std::byte, 1> out;
  EXPECT_TRUE(SameStatus(flash.Read(0x0, out), kPowerLost));
  EXPECT_TRUE(SameStatus(flash.Write(0x2, Bytes({0x33})), kPowerLost));
  EXPECT_TRUE(SameStatus(flash.Erase(0x0, kSector), kPowerLost));
  EXPECT_TRUE(SameStatus(flash.Write(0x2, {}), kPowerLost));
  EXPECT_TRUE(SameStatus(flash.Read(0x0, {}), kPowerLost));
  EXPECT_EQ(flash.mutating_op_count(), 2u);  // calls on a dead chip are not ops
  EXPECT_EQ(flash.read_count(), 0u);
  EXPECT_EQ(Slice(*inner, 0, 3), Bytes({0x11, 0xFF, 0xFF}));
  EXPECT_EQ(inner->counters().mutating_ops(), 1u);
}

TEST(FaultyFlash, CutBefore_FirstOp_FlashUntouched) {
  auto inner = MakeFlash();
  ASSERT_TRUE(inner->Write(0x100, Pattern(64)).ok());
  const auto before = Contents(*inner);
  FaultyFlash flash(*inner, FaultPlan::CutBefore(1));
  EXPECT_TRUE(SameStatus(flash.Erase(0, kSector), kPowerLost));
  EXPECT_EQ(Contents(*inner), before);
}

TEST(FaultyFlash, CutBefore_OpNeverReached_NoCut) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan::CutBefore(5));
  ASSERT_TRUE(flash.Write(0, Bytes({0})).ok());
  EXPECT_FALSE(flash.power_lost());
  EXPECT_EQ(flash.mutating_op_count(), 1u);
}

// ---- Torn writes ----

struct TornWriteShape {
  size_t programmed = 0;  // bytes equal to the data
  bool partial = false;   // the next byte is strictly between old and old AND data
};

// Checks that [offset, offset + data.size()) is a legal torn write of `data` over `old` and
// returns its shape: a prefix programmed, then at most one byte between old and old AND data,
// then old bytes.
TornWriteShape CheckTornWrite(const EmulatedFlash& flash, uint32_t offset, ConstByteSpan old,
                              ConstByteSpan data) {
  const std::vector<std::byte> now = Slice(flash, offset, data.size());
  TornWriteShape shape;
  size_t i = 0;
  while (i < data.size() && now[i] == (old[i] & data[i])) {
    ++i;
  }
  shape.programmed = i;
  // Between: only bits that the write clears may be cleared, and not all of them.
  if (i < data.size() && now[i] != old[i]) {
    EXPECT_EQ(now[i] & ~old[i], std::byte{0}) << "byte " << i << " gained a bit";
    EXPECT_EQ((old[i] & data[i]) & ~now[i], std::byte{0}) << "byte " << i << " over-cleared";
    shape.partial = true;
    ++i;
  }
  for (; i < data.size(); ++i) {
    EXPECT_EQ(now[i], old[i]) << "byte " << i << " changed after the tear point";
  }
  return shape;
}

TEST(FaultyFlash, CutDuringWrite_ManySeeds_PrefixThenPartialByteThenUntouched) {
  const std::vector<std::byte> data = Pattern(64);
  const std::vector<std::byte> old = Filled(64, 0xFF);
  std::set<size_t> lengths;
  int partial_bytes = 0;
  for (uint64_t seed = 0; seed < 300; ++seed) {
    auto inner = MakeFlash();
    FaultyFlash flash(*inner, FaultPlan::CutDuring(2, seed));
    ASSERT_TRUE(flash.Write(0x0, Bytes({0x00})).ok());
    EXPECT_TRUE(SameStatus(flash.Write(0x1000, data), kPowerLost));
    EXPECT_TRUE(flash.power_lost());
    EXPECT_EQ(flash.power_cut_op(), 2u);
    const TornWriteShape shape = CheckTornWrite(*inner, 0x1000, old, data);
    lengths.insert(shape.programmed);
    partial_bytes += shape.partial ? 1 : 0;
    EXPECT_TRUE(AllBytesAre(Slice(*inner, 0x1040, 0x100), 0xFF));
    EXPECT_EQ(Slice(*inner, 0, 1), Bytes({0x00}));
  }
  // The seed spreads the tear over the whole write, and often splits a byte.
  EXPECT_GT(lengths.size(), 40u);
  EXPECT_EQ(*lengths.begin(), 0u);
  EXPECT_GT(partial_bytes, 100);
}

TEST(FaultyFlash, CutDuringWrite_SameSeed_SameBytes) {
  auto first = MakeFlash();
  auto second = MakeFlash();
  for (EmulatedFlash* inner : {first.get(), second.get()}) {
    FaultyFlash flash(*inner, FaultPlan::CutDuring(1, 0xC0FFEE));
    EXPECT_TRUE(SameStatus(flash.Write(0x200, Pattern(500)), kPowerLost));
  }
  EXPECT_EQ(Contents(*first), Contents(*second));
}

TEST(FaultyFlash, CutDuringWrite_KnownSeed_KnownTear) {
  // Pins the tear model: a printed seed must replay the same bytes in every later release.
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan::CutDuring(1, 42));
  EXPECT_TRUE(SameStatus(flash.Write(0x0, Filled(16, 0x00)), kPowerLost));
  // Seed 42: five bytes programmed, the sixth has lost 6 of its 8 bits, the rest untouched.
  EXPECT_EQ(Slice(*inner, 0, 16), Bytes({0x00, 0x00, 0x00, 0x00, 0x00, 0xFC, 0xFF, 0xFF, 0xFF, 0xFF,
                                         0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}));
}

TEST(FaultyFlash, CutDuringWrite_OverProgrammedBytes_OnlyClearsBitsTheWriteClears) {
  const std::vector<std::byte> old = Pattern(128);
  std::vector<std::byte> data(128);
  for (size_t i = 0; i < data.size(); ++i) {
    data[i] = old[i] & static_cast<std::byte>(0x5A ^ i);  // a legal re-program of old
  }
  for (uint64_t seed = 0; seed < 50; ++seed) {
    auto inner = MakeFlash();
    ASSERT_TRUE(inner->Write(0x3000, old).ok());
    FaultyFlash flash(*inner, FaultPlan::CutDuring(1, seed));
    EXPECT_TRUE(SameStatus(flash.Write(0x3000, data), kPowerLost));
    CheckTornWrite(*inner, 0x3000, old, data);
  }
}

TEST(FaultyFlash, CutDuringWrite_RefusedWrite_CutBeforeItStarts) {
  for (uint64_t seed = 0; seed < 20; ++seed) {
    auto inner = MakeFlash();
    ASSERT_TRUE(inner->Write(0x20, Bytes({0x00})).ok());
    const auto before = Contents(*inner);
    FaultyFlash flash(*inner, FaultPlan::CutDuring(1, seed));
    // Byte 0x20 would have a bit set over a cleared one: the emulator refuses the whole write.
    EXPECT_TRUE(SameStatus(flash.Write(0x10, Filled(32, 0x0F)), kPowerLost));
    EXPECT_EQ(Contents(*inner), before);
    EXPECT_TRUE(flash.power_lost());
  }
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan::CutDuring(1, 7));
  EXPECT_TRUE(SameStatus(flash.Write(kSize - 1, Bytes({0, 0})), kPowerLost));
  EXPECT_TRUE(AllBytesAre(inner->contents(), 0xFF));
}

// ---- Torn erases ----

// The sectors of [offset, offset + size) as: erased, equal to `old`, or neither.
enum class SectorState { kErased, kOld, kUndefined };
std::vector<SectorState> SectorStates(const EmulatedFlash& flash, uint32_t offset, uint32_t size,
                                      const std::vector<std::byte>& old_contents) {
  std::vector<SectorState> states;
  for (uint32_t sector = offset; sector < offset + size; sector += kSector) {
    const auto now = Slice(flash, sector, kSector);
    const std::vector<std::byte> old(old_contents.begin() + sector,
                                     old_contents.begin() + sector + kSector);
    if (AllBytesAre(now, 0xFF)) {
      states.push_back(SectorState::kErased);
    } else if (now == old) {
      states.push_back(SectorState::kOld);
    } else {
      states.push_back(SectorState::kUndefined);
    }
  }
  return states;
}

std::unique_ptr<EmulatedFlash> PatternedFlash() {
  auto inner = MakeFlash();
  EXPECT_TRUE(inner->Write(0, Pattern(kSize)).ok());
  return inner;
}

TEST(FaultyFlash, CutDuringErase_SectorRange_EarlierErasedOneUndefinedLaterUntouched) {
  std::set<size_t> torn_positions;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    auto inner = PatternedFlash();
    const auto old = Contents(*inner);
    FaultyFlash flash(*inner, FaultPlan::CutDuring(1, seed));
    // 0x11000..0x15000 is not 64 KiB-aligned: esp_flash_erase_region erases it sector by sector.
    EXPECT_TRUE(SameStatus(flash.Erase(0x11000, 0x4000), kPowerLost));
    const auto states = SectorStates(*inner, 0x11000, 0x4000, old);
    const auto torn = std::find(states.begin(), states.end(), SectorState::kUndefined);
    ASSERT_NE(torn, states.end()) << "seed " << seed;
    const size_t position = static_cast<size_t>(torn - states.begin());
    torn_positions.insert(position);
    for (size_t i = 0; i < states.size(); ++i) {
      if (i != position) {
        EXPECT_EQ(states[i], i < position ? SectorState::kErased : SectorState::kOld)
            << "seed " << seed << " sector " << i;
      }
    }
    // Outside the range nothing changed.
    EXPECT_EQ(Slice(*inner, 0, 0x11000),
              std::vector<std::byte>(old.begin(), old.begin() + 0x11000));
    EXPECT_EQ(Slice(*inner, 0x15000, kSize - 0x15000),
              std::vector<std::byte>(old.begin() + 0x15000, old.end()));
  }
  EXPECT_EQ(torn_positions, (std::set<size_t>{0, 1, 2, 3}));
}

TEST(FaultyFlash, CutDuringErase_ManySeeds_SpreadFromAlmostOldToAlmostErased) {
  // Across seeds the torn sector ranges from "old content with a few bits raised" to "almost
  // erased", with and without the pre-program phase (bits of old content cleared to 0).
  size_t fewest_ones = kSector * 8;
  size_t most_ones = 0;
  bool saw_superset_of_old = false;
  bool saw_cleared_old_bit = false;
  const std::vector<std::byte> old = Pattern(kSector);
  for (uint64_t seed = 0; seed < 100; ++seed) {
    auto inner = MakeFlash();
    ASSERT_TRUE(inner->Write(0x2000, old).ok());
    FaultyFlash flash(*inner, FaultPlan::CutDuring(1, seed));
    EXPECT_TRUE(SameStatus(flash.Erase(0x2000, kSector), kPowerLost));
    const auto now = Slice(*inner, 0x2000, kSector);
    const size_t ones = OneBits(now);
    fewest_ones = std::min(fewest_ones, ones);
    most_ones = std::max(most_ones, ones);
    bool superset = true;
    for (size_t i = 0; i < kSector; ++i) {
      if ((old[i] & ~now[i]) != std::byte{0}) {
        superset = false;
      }
    }
    saw_superset_of_old |= superset;
    saw_cleared_old_bit |= !superset;
  }
  EXPECT_LT(fewest_ones, kSector * 8 / 10);
  EXPECT_GT(most_ones, kSector * 8 * 9 / 10);
  EXPECT_TRUE(saw_superset_of_old);
  EXPECT_TRUE(saw_cleared_old_bit);
}

TEST(FaultyFlash, CutDuringErase_AlignedBlocks_WholeBlockUndefined) {
  std::set<size_t> torn_blocks;
  for (uint64_t seed = 0; seed < 12; ++seed) {
    auto inner = PatternedFlash();
    const auto old = Contents(*inner);
    FaultyFlash flash(*inner, FaultPlan::CutDuring(1, seed));
    // 0x10000..0x31000: blocks at 0x10000 and 0x20000, then one sector (as ESP-IDF walks it).
    EXPECT_TRUE(SameStatus(flash.Erase(0x10000, 0x21000), kPowerLost));
    const auto states = SectorStates(*inner, 0x10000, 0x21000, old);
    ASSERT_EQ(states.size(), 33u);
    // Units: sectors 0-15, 16-31, 32.
    size_t torn = 3;
    for (size_t unit = 0; unit < 3; ++unit) {
      const size_t first = unit * 16;
      if (states[first] == SectorState::kUndefined) {
        torn = unit;
      }
    }
    ASSERT_LT(torn, 3u) << "seed " << seed;
    torn_blocks.insert(torn);
    for (size_t i = 0; i < states.size(); ++i) {
      const size_t unit = i / 16;
      const SectorState expected = unit < torn   ? SectorState::kErased
                                   : unit > torn ? SectorState::kOld
                                                 : SectorState::kUndefined;
      EXPECT_EQ(states[i], expected) << "seed " << seed << " sector " << i;
    }
  }
  EXPECT_EQ(torn_blocks, (std::set<size_t>{0, 1, 2}));
}

TEST(FaultyFlash, CutDuringErase_BlockEraseDisabled_OneSectorUndefined) {
  auto inner = PatternedFlash();
  const auto old = Contents(*inner);
  FaultyFlash flash(*inner, FaultPlan::CutDuring(1, 3), FaultyFlashOptions{.block_erase_size = 0});
  EXPECT_TRUE(SameStatus(flash.Erase(0x0, 0x20000), kPowerLost));
  const auto states = SectorStates(*inner, 0x0, 0x20000, old);
  EXPECT_EQ(std::count(states.begin(), states.end(), SectorState::kUndefined), 1);
}

TEST(FaultyFlash, CutDuringErase_RefusedErase_FlashUnchanged) {
  auto inner = PatternedFlash();
  const auto before = Contents(*inner);
  FaultyFlash flash(*inner, FaultPlan::CutDuring(1, 9));
  EXPECT_TRUE(SameStatus(flash.Erase(0x800, kSector), kPowerLost));
  EXPECT_EQ(Contents(*inner), before);
}

// ---- Injected failures ----

TEST(FaultyFlash, FailOp_ReturnsCodeWithOffset_ChipUntouched_PowerStaysOn) {
  auto inner = MakeFlash();
  FaultyFlash flash(
      *inner, FaultPlan().FailOp(2, Status::Code::kUnavailable).FailOp(3, Status::Code::kInternal));
  ASSERT_TRUE(flash.Write(0x10, Bytes({0x01})).ok());
  EXPECT_TRUE(
      SameStatus(flash.Write(0x20, Bytes({0x02})), Unavailable("flash: injected failure", 0x20)));
  EXPECT_TRUE(
      SameStatus(flash.Erase(0x1000, kSector), Internal("flash: injected failure", 0x1000)));
  ASSERT_TRUE(flash.Write(0x30, Bytes({0x03})).ok());
  EXPECT_FALSE(flash.power_lost());
  EXPECT_EQ(flash.mutating_op_count(), 4u);
  EXPECT_EQ(Slice(*inner, 0x10, 1), Bytes({0x01}));
  EXPECT_EQ(Slice(*inner, 0x20, 1), Bytes({0xFF}));
  EXPECT_EQ(Slice(*inner, 0x30, 1), Bytes({0x03}));
}

TEST(FaultyFlash, FailRead_ReturnsCodeOnlyForThatRead) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan().FailRead(2, Status::Code::kUnavailable));
  std::array<std::byte, 4> out;
  EXPECT_TRUE(flash.Read(0x0, out).ok());
  EXPECT_TRUE(SameStatus(flash.Read(0x40, out), Unavailable("flash: injected failure", 0x40)));
  EXPECT_TRUE(flash.Read(0x40, out).ok());
  EXPECT_EQ(flash.read_count(), 3u);
}

TEST(FaultyFlash, CutAndFailureOnSameOp_CutWins) {
  auto inner = MakeFlash();
  FaultPlan plan = FaultPlan::CutBefore(1).FailOp(1, Status::Code::kUnavailable);
  FaultyFlash flash(*inner, plan);
  EXPECT_TRUE(SameStatus(flash.Write(0, Bytes({0})), kPowerLost));
}

// ---- Bit flips ----

TEST(FaultyFlash, FlipBitAtStart_BothDirections_AppliedAtConstruction) {
  auto inner = MakeFlash();
  ASSERT_TRUE(inner->Write(0x1000, Bytes({0x00, 0xFF})).ok());
  ASSERT_TRUE(inner->Write(0x1800, Pattern(16)).ok());
  FaultyFlash flash(*inner, FaultPlan().FlipBit(0x1000, 3).FlipBit(0x1001, 7));
  EXPECT_EQ(Slice(*inner, 0x1000, 2), Bytes({0x08, 0x7F}));
  // The 0 -> 1 flip rewrote the sector around it.
  EXPECT_EQ(Slice(*inner, 0x1800, 16), Pattern(16));
  EXPECT_EQ(flash.mutating_op_count(), 0u);
}

TEST(FaultyFlash, FlipBitAfterOp_AppliedOnlyOnceThatOpReturned) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan().FlipBit(0x50, 0, /*after_op=*/2));
  ASSERT_TRUE(flash.Write(0x50, Bytes({0xF0})).ok());
  EXPECT_EQ(Slice(*inner, 0x50, 1), Bytes({0xF0}));
  ASSERT_TRUE(flash.Write(0x60, Bytes({0x00})).ok());
  EXPECT_EQ(Slice(*inner, 0x50, 1), Bytes({0xF1}));
  std::array<std::byte, 1> out;
  ASSERT_TRUE(flash.Read(0x50, out).ok());
  EXPECT_EQ(out[0], std::byte{0xF1});
}

TEST(FaultyFlash, FlipBitAfterOp_FailedOp_StillFlips) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan().FailOp(1, Status::Code::kUnavailable).FlipBit(0x7, 6, 1));
  EXPECT_EQ(flash.Write(0x0, Bytes({0x00})).code(), Status::Code::kUnavailable);
  EXPECT_EQ(Slice(*inner, 0x7, 1), Bytes({0xBF}));
}

TEST(FaultyFlash, FlipBitAtOrAfterCut_Dropped) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan::CutBefore(2).FlipBit(0x0, 0, 2).FlipBit(0x1, 0, 3));
  ASSERT_TRUE(flash.Write(0x100, Bytes({0x00})).ok());
  EXPECT_TRUE(SameStatus(flash.Write(0x101, Bytes({0x00})), kPowerLost));
  EXPECT_TRUE(AllBytesAre(Slice(*inner, 0, 2), 0xFF));
}

TEST(FlipFlashBit, BadArguments_Refused) {
  auto inner = MakeFlash();
  EXPECT_TRUE(SameStatus(FlipFlashBit(*inner, kSize, 0),
                         OutOfRange("flash: bit flip past the end", kSize)));
  EXPECT_TRUE(
      SameStatus(FlipFlashBit(*inner, 0, 8), InvalidArgument("flash: bit index above 7", 8)));
  EXPECT_TRUE(AllBytesAre(inner->contents(), 0xFF));
}

// ---- Reboot ----

TEST(FaultyFlash, Revive_PowerBackCountsRestartNewPlanArmed) {
  auto inner = MakeFlash();
  FaultyFlash flash(*inner, FaultPlan::CutBefore(1));
  EXPECT_TRUE(SameStatus(flash.Write(0x0, Bytes({0x00})), kPowerLost));
  flash.Revive(FaultPlan::CutBefore(2).FlipBit(0x400, 1));
  EXPECT_FALSE(flash.power_lost());
  EXPECT_EQ(flash.mutating_op_count(), 0u);
  EXPECT_EQ(Slice(*inner, 0x400, 1), Bytes({0xFD}));
  ASSERT_TRUE(flash.Write(0x0, Bytes({0x00})).ok());
  EXPECT_TRUE(SameStatus(flash.Write(0x1, Bytes({0x00})), kPowerLost));
  EXPECT_EQ(flash.power_cut_op(), 2u);
  flash.Revive();
  EXPECT_TRUE(flash.Write(0x1, Bytes({0x00})).ok());
  EXPECT_EQ(Slice(*inner, 0, 2), Bytes({0x00, 0x00}));
  EXPECT_TRUE(flash.plan().empty());
}

// ---- Plans ----

TEST(FaultPlan, Describe_NamesEveryFault) {
  EXPECT_EQ(Describe(FaultPlan()), "no faults");
  EXPECT_EQ(Describe(FaultPlan::CutBefore(7)), "power cut before op 7");
  EXPECT_EQ(Describe(FaultPlan::CutDuring(7, 0x2a)), "power cut during op 7 (seed 0x2a)");
  EXPECT_EQ(Describe(FaultPlan::CutBefore(3)
                         .FailOp(1, Status::Code::kUnavailable)
                         .FailRead(4, Status::Code::kDataLoss)
                         .FlipBit(0xd000, 2)
                         .FlipBit(0x10, 7, 2)),
            "power cut before op 3; fail op 1 with unavailable; fail read 4 with data_loss; "
            "flip bit 2 of 0xd000 at start; flip bit 7 of 0x10 after op 2");
}

TEST(FaultPlan, Builders_ProducePlainValues) {
  FaultPlan plan = FaultPlan::CutDuring(5, 9).FlipBit(1, 2, 3);
  ASSERT_TRUE(plan.cut.has_value());
  EXPECT_EQ(*plan.cut, (PowerCut{5, PowerCutKind::kDuring, 9}));
  EXPECT_EQ(plan.flips, (std::vector<BitFlip>{{3, 1, 2}}));
  FaultPlan copy = plan;
  EXPECT_EQ(copy, plan);
  EXPECT_TRUE(FaultPlan::None().empty());
  EXPECT_FALSE(plan.empty());
}

TEST(MixSeed, KnownValues_StableAcrossReleases) {
  // Printed sweep seeds are replayed through MixSeed: these values must never change.
  EXPECT_EQ(MixSeed(0, 0), 0xe220a8397b1dcdafu);
  EXPECT_EQ(MixSeed(1, 7), 0x8c20a9a84372279du);
  EXPECT_NE(MixSeed(1, 7), MixSeed(1, 8));
  EXPECT_NE(MixSeed(1, 7), MixSeed(2, 7));
}

// ---- The file-backed chip after a process death ----

TEST(FaultyFlash, FileBacked_ProcessDiesAfterTornWrite_FileEqualsMemoryModel) {
  TempDir dir;
  const std::filesystem::path path = dir / "chip.bin";
  ASSERT_TRUE(EmulatedFlash::CreateFile(path, kSize).ok());
  const FaultPlan plan = FaultPlan::CutDuring(3, 0xBADC0DE);
  auto operations = [](port::Flash& flash) {
    (void)flash.Erase(0x1000, kSector);
    (void)flash.Write(0x1000, Pattern(0x300));
    (void)flash.Write(0x1300, Pattern(0x500));  // torn
    (void)flash.Write(0x1800, Pattern(0x10));   // aborted
  };
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto inner = EmulatedFlash::OpenFile(path);
    if (!inner.ok()) {
      _exit(1);
    }
    FaultyFlash flash(**inner, plan);
    operations(flash);
    raise(SIGKILL);  // dies without unmapping, syncing or exiting
    _exit(2);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) << wait_status;

  auto model = MakeFlash();
  {
    FaultyFlash flash(*model, plan);
    operations(flash);
    ASSERT_TRUE(flash.power_lost());
  }
  const auto expected = Contents(*model);
  EXPECT_NE(Slice(*model, 0x1300, 0x500), Pattern(0x500));  // the tear did happen
  EXPECT_EQ(ReadBinary(path), expected);
  auto reopened = EmulatedFlash::OpenFile(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Contents(**reopened), expected);
}

}  // namespace
}  // namespace aloft::host
