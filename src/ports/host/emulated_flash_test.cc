#include "ports/host/emulated_flash.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <csignal>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "support/allocation_counter.h"
#include "support/vectors.h"

namespace aloft::host {
namespace {

using aloft::testing::ReadBinary;
using aloft::testing::TempDir;

constexpr uint32_t kSector = 0x1000;
constexpr uint32_t kSize = 4 * kSector;

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

std::unique_ptr<EmulatedFlash> MakeFlash(uint32_t size = kSize, uint32_t sector = kSector) {
  auto flash = EmulatedFlash::CreateInMemory(size, sector);
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

std::vector<std::byte> Slice(const EmulatedFlash& flash, uint32_t offset, size_t size) {
  ConstByteSpan all = flash.contents();
  return {all.begin() + offset, all.begin() + offset + size};
}

bool AllBytesAre(ConstByteSpan bytes, uint8_t value) {
  return std::all_of(bytes.begin(), bytes.end(),
                     [value](std::byte b) { return b == static_cast<std::byte>(value); });
}

void WriteFileBytes(const std::filesystem::path& path, const std::vector<std::byte>& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

TEST(EmulatedFlash, CreateInMemory_NewChip_AllErased) {
  auto flash = MakeFlash();
  EXPECT_EQ(flash->size(), kSize);
  EXPECT_EQ(flash->sector_size(), kSector);
  EXPECT_FALSE(flash->file_backed());
  EXPECT_EQ(flash->contents().size(), kSize);
  EXPECT_TRUE(AllBytesAre(flash->contents(), 0xFF));
}

TEST(EmulatedFlash, CreateInMemory_DefaultSector_Is4KiB) {
  auto flash = EmulatedFlash::CreateInMemory(0x10000);
  ASSERT_TRUE(flash.ok());
  EXPECT_EQ((*flash)->sector_size(), 0x1000u);
}

TEST(EmulatedFlash, CreateInMemory_BadGeometry_InvalidArgument) {
  EXPECT_TRUE(
      SameStatus(EmulatedFlash::CreateInMemory(0).status(),
                 InvalidArgument("flash: size is not a positive multiple of the sector size", 0)));
  EXPECT_TRUE(SameStatus(
      EmulatedFlash::CreateInMemory(0x1800).status(),
      InvalidArgument("flash: size is not a positive multiple of the sector size", 0x1800)));
  EXPECT_TRUE(SameStatus(EmulatedFlash::CreateInMemory(0x1000, 0).status(),
                         InvalidArgument("flash: sector size is zero")));
}

TEST(EmulatedFlash, CreateInMemoryFrom_Image_HoldsImage) {
  std::vector<std::byte> image = Filled(2 * 0x200, 0x5A);
  image[3] = std::byte{0x00};
  auto flash = EmulatedFlash::CreateInMemoryFrom(image, 0x200);
  ASSERT_TRUE(flash.ok());
  EXPECT_EQ((*flash)->size(), 0x400u);
  EXPECT_EQ(Slice(**flash, 0, image.size()), image);
  EXPECT_EQ(EmulatedFlash::CreateInMemoryFrom(Filled(0x300, 0xFF), 0x200).status().code(),
            Status::Code::kInvalidArgument);
}

TEST(EmulatedFlash, Write_ErasedBytes_ProgramsData) {
  auto flash = MakeFlash();
  const auto data = Bytes({0x12, 0x34, 0x00, 0xFF, 0xA5});
  ASSERT_TRUE(flash->Write(0x1FFE, data).ok());  // crosses the sector boundary at 0x2000
  EXPECT_EQ(Slice(*flash, 0x1FFE, 5), data);
  EXPECT_EQ(Slice(*flash, 0x1FFD, 1), Bytes({0xFF}));
  EXPECT_EQ(Slice(*flash, 0x2003, 1), Bytes({0xFF}));
  std::array<std::byte, 5> read_back;
  ASSERT_TRUE(flash->Read(0x1FFE, read_back).ok());
  EXPECT_EQ(std::vector<std::byte>(read_back.begin(), read_back.end()), data);
}

TEST(EmulatedFlash, Write_ClearsMoreBitsOfProgrammedByte_AndsIntoFlash) {
  auto flash = MakeFlash();
  ASSERT_TRUE(flash->Write(0x10, Bytes({0xF0, 0x0F})).ok());
  // 0x30 only clears bits that are still 1 in 0xF0; writing 0x0F over 0x0F changes nothing.
  ASSERT_TRUE(flash->Write(0x10, Bytes({0x30, 0x0F})).ok());
  EXPECT_EQ(Slice(*flash, 0x10, 2), Bytes({0x30, 0x0F}));
  ASSERT_TRUE(flash->Write(0x11, Bytes({0x01})).ok());
  EXPECT_EQ(Slice(*flash, 0x10, 2), Bytes({0x30, 0x01}));
}

TEST(EmulatedFlash, Write_OneOverZero_RefusedWholeNamingFirstOffendingOffset) {
  auto flash = MakeFlash();
  ASSERT_TRUE(flash->Write(0x1000, Bytes({0xFF, 0xFF, 0x0F, 0x00})).ok());
  // Bytes 0 and 1 are fine, byte 2 sets bit 4 over 0x0F, byte 3 sets bits over 0x00.
  const Status status = flash->Write(0x1000, Bytes({0x00, 0x11, 0x1F, 0x01}));
  EXPECT_TRUE(
      SameStatus(status, FailedPrecondition("flash: write sets a bit that is not erased", 0x1002)));
  EXPECT_EQ(Slice(*flash, 0x1000, 4), Bytes({0xFF, 0xFF, 0x0F, 0x00}));
  EXPECT_EQ(flash->counters().writes, 1u);
}

TEST(EmulatedFlash, Write_PastEnd_OutOfRangeAndUnchanged) {
  auto flash = MakeFlash();
  EXPECT_TRUE(SameStatus(flash->Write(kSize - 1, Bytes({0, 0})),
                         OutOfRange("flash: write past the end", kSize - 1)));
  EXPECT_TRUE(
      SameStatus(flash->Write(kSize, Bytes({0})), OutOfRange("flash: write past the end", kSize)));
  // No 32-bit wrap-around: 0xFFFFFFFF + 2 must not look like offset 1.
  EXPECT_TRUE(SameStatus(flash->Write(0xFFFFFFFF, Bytes({0, 0})),
                         OutOfRange("flash: write past the end", 0xFFFFFFFF)));
  EXPECT_TRUE(AllBytesAre(flash->contents(), 0xFF));
  ASSERT_TRUE(flash->Write(kSize - 1, Bytes({0x00})).ok());
  EXPECT_EQ(Slice(*flash, kSize - 1, 1), Bytes({0x00}));
}

TEST(EmulatedFlash, Read_PastEnd_OutOfRange) {
  auto flash = MakeFlash();
  std::array<std::byte, 2> out;
  EXPECT_TRUE(
      SameStatus(flash->Read(kSize - 1, out), OutOfRange("flash: read past the end", kSize - 1)));
  EXPECT_TRUE(
      SameStatus(flash->Read(0xFFFFFFFF, out), OutOfRange("flash: read past the end", 0xFFFFFFFF)));
  EXPECT_TRUE(flash->Read(kSize - 2, out).ok());
}

TEST(EmulatedFlash, Erase_WholeSector_ErasesOnlyThatSector) {
  auto flash = MakeFlash();
  ASSERT_TRUE(flash->Write(0x0FFF, Bytes({0x00, 0x00})).ok());
  ASSERT_TRUE(flash->Write(0x1FFF, Bytes({0x00, 0x00})).ok());
  ASSERT_TRUE(flash->Erase(0x1000, 0x1000).ok());
  EXPECT_EQ(Slice(*flash, 0x0FFF, 2), Bytes({0x00, 0xFF}));
  EXPECT_EQ(Slice(*flash, 0x1FFF, 2), Bytes({0xFF, 0x00}));
  EXPECT_TRUE(AllBytesAre(Slice(*flash, 0x1000, 0x1000), 0xFF));
}

TEST(EmulatedFlash, Erase_Misaligned_InvalidArgumentAndUnchanged) {
  auto flash = MakeFlash();
  ASSERT_TRUE(flash->Write(0x1000, Bytes({0x00})).ok());
  EXPECT_TRUE(SameStatus(flash->Erase(0x1800, 0x1000),
                         InvalidArgument("flash: erase offset not sector-aligned", 0x1800)));
  EXPECT_TRUE(SameStatus(flash->Erase(0x1000, 0x800),
                         InvalidArgument("flash: erase size not sector-aligned", 0x800)));
  EXPECT_EQ(Slice(*flash, 0x1000, 1), Bytes({0x00}));
}

TEST(EmulatedFlash, Erase_PastEnd_OutOfRangeCheckedBeforeAlignment) {
  auto flash = MakeFlash();
  EXPECT_TRUE(SameStatus(flash->Erase(kSize - kSector, 2 * kSector),
                         OutOfRange("flash: erase past the end", kSize - kSector)));
  // As esp_flash_erase_region: the range is checked first.
  EXPECT_TRUE(SameStatus(flash->Erase(kSize + 0x800, kSector),
                         OutOfRange("flash: erase past the end", kSize + 0x800)));
  EXPECT_TRUE(SameStatus(flash->Erase(0xFFFFF000, 0x2000),
                         OutOfRange("flash: erase past the end", 0xFFFFF000)));
  EXPECT_TRUE(flash->Erase(0, kSize).ok());
}

TEST(EmulatedFlash, ZeroLengthOps_CheckArgumentsDoNothingAndAreNotCounted) {
  auto flash = MakeFlash();
  EXPECT_TRUE(flash->Write(kSize, {}).ok());
  EXPECT_TRUE(flash->Read(kSize, {}).ok());
  EXPECT_TRUE(flash->Erase(kSize, 0).ok());
  EXPECT_TRUE(
      SameStatus(flash->Write(kSize + 1, {}), OutOfRange("flash: write past the end", kSize + 1)));
  EXPECT_TRUE(
      SameStatus(flash->Read(kSize + 1, {}), OutOfRange("flash: read past the end", kSize + 1)));
  EXPECT_TRUE(SameStatus(flash->Erase(0x800, 0),
                         InvalidArgument("flash: erase offset not sector-aligned", 0x800)));
  const FlashCounters& counters = flash->counters();
  EXPECT_EQ(counters.reads, 0u);
  EXPECT_EQ(counters.writes, 0u);
  EXPECT_EQ(counters.erases, 0u);
  EXPECT_EQ(counters.mutating_ops(), 0u);
}

TEST(EmulatedFlash, Counters_CountSuccessfulOpsOnly) {
  auto flash = MakeFlash();
  std::array<std::byte, 16> buffer;
  ASSERT_TRUE(flash->Erase(0, 2 * kSector).ok());
  ASSERT_TRUE(flash->Erase(3 * kSector, kSector).ok());
  ASSERT_TRUE(flash->Write(0, Filled(100, 0x00)).ok());
  ASSERT_TRUE(flash->Write(200, Filled(28, 0x11)).ok());
  ASSERT_TRUE(flash->Read(0, buffer).ok());
  ASSERT_FALSE(flash->Write(0, Filled(1, 0x01)).ok());  // refused: not counted
  ASSERT_FALSE(flash->Erase(0x10, kSector).ok());       // refused: not counted
  ASSERT_FALSE(flash->Read(kSize, buffer).ok());        // refused: not counted
  const FlashCounters& counters = flash->counters();
  EXPECT_EQ(counters.erases, 2u);
  EXPECT_EQ(counters.sectors_erased, 3u);
  EXPECT_EQ(counters.writes, 2u);
  EXPECT_EQ(counters.bytes_written, 128u);
  EXPECT_EQ(counters.reads, 1u);
  EXPECT_EQ(counters.bytes_read, 16u);
  EXPECT_EQ(counters.mutating_ops(), 4u);
  flash->ResetCounters();
  EXPECT_EQ(flash->counters().mutating_ops(), 0u);
  EXPECT_EQ(flash->counters().bytes_read, 0u);
}

TEST(EmulatedFlash, RestoreContents_ReplacesEverythingWithoutCounting) {
  auto flash = MakeFlash();
  std::vector<std::byte> image = Filled(kSize, 0x00);
  image[kSize - 1] = std::byte{0x7E};
  ASSERT_TRUE(flash->RestoreContents(image).ok());
  EXPECT_EQ(Slice(*flash, 0, kSize), image);
  EXPECT_EQ(flash->counters().mutating_ops(), 0u);
  EXPECT_TRUE(SameStatus(flash->RestoreContents(Filled(kSize - 1, 0)),
                         InvalidArgument("flash: image size differs from the chip", kSize - 1)));
}

TEST(EmulatedFlash, RestoreCheckpoint_WithoutCheckpoint_FailedPrecondition) {
  auto flash = MakeFlash();
  EXPECT_FALSE(flash->has_checkpoint());
  EXPECT_TRUE(SameStatus(flash->RestoreCheckpoint(),
                         FailedPrecondition("flash: no checkpoint to restore")));
}

TEST(EmulatedFlash, RestoreCheckpoint_AfterWritesErasesAndRestore_ReturnsToCheckpoint) {
  auto flash = MakeFlash();
  ASSERT_TRUE(flash->Write(0x0, Filled(0x20, 0x11)).ok());
  ASSERT_TRUE(flash->Write(0x3000, Filled(0x20, 0x22)).ok());
  const std::vector<std::byte> start(flash->contents().begin(), flash->contents().end());
  flash->SetCheckpoint();
  EXPECT_TRUE(flash->has_checkpoint());
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(flash->Erase(0x0, kSector).ok());
    ASSERT_TRUE(flash->Write(0x1FF0, Filled(0x20, 0x00)).ok());
    ASSERT_TRUE(flash->Write(0x3020, Filled(0x10, 0x33)).ok());
    ASSERT_TRUE(flash->RestoreCheckpoint().ok());
    EXPECT_EQ(Slice(*flash, 0, kSize), start) << "round " << round;
  }
  ASSERT_TRUE(flash->RestoreContents(Filled(kSize, 0x00)).ok());
  ASSERT_TRUE(flash->RestoreCheckpoint().ok());
  EXPECT_EQ(Slice(*flash, 0, kSize), start);
}

TEST(EmulatedFlash, RestoreCheckpoint_CopiesBackOnlyChangedSectors) {
  // Two mappings of one file: a change made through the second one in a sector the first never
  // touched must survive the first one's restore, which proves the restore skips clean sectors.
  TempDir dir;
  auto first = EmulatedFlash::CreateFile(dir / "chip.bin", kSize);
  ASSERT_TRUE(first.ok());
  auto second = EmulatedFlash::OpenFile(dir / "chip.bin");
  ASSERT_TRUE(second.ok());
  (*first)->SetCheckpoint();
  ASSERT_TRUE((*first)->Write(0x1000, Bytes({0x00})).ok());
  ASSERT_TRUE((*second)->Write(0x3000, Bytes({0x00})).ok());
  ASSERT_TRUE((*first)->RestoreCheckpoint().ok());
  EXPECT_EQ(Slice(**first, 0x1000, 1), Bytes({0xFF}));
  EXPECT_EQ(Slice(**first, 0x3000, 1), Bytes({0x00}));
}

TEST(EmulatedFlash, HotPath_ReadWriteErase_AllocateNothing) {
  auto flash = MakeFlash(0x400000);
  flash->SetCheckpoint();
  const std::vector<std::byte> page = Filled(256, 0x5A);
  std::vector<std::byte> out(256);
  {
    aloft::testing::AllocationGuard guard;
    for (uint32_t offset = 0; offset < 0x40000; offset += 256) {
      if (offset % kSector == 0) {
        ASSERT_TRUE(flash->Erase(offset, kSector).ok());
      }
      ASSERT_TRUE(flash->Write(offset, page).ok());
      ASSERT_TRUE(flash->Read(offset, out).ok());
    }
    ASSERT_TRUE(flash->RestoreCheckpoint().ok());
  }
  EXPECT_TRUE(AllBytesAre(flash->contents(), 0xFF));
}

TEST(EmulatedFlash, CreateFile_NewPath_FileHoldsErasedChip) {
  TempDir dir;
  auto flash = EmulatedFlash::CreateFile(dir / "chip.bin", 2 * kSector);
  ASSERT_TRUE(flash.ok());
  EXPECT_TRUE((*flash)->file_backed());
  EXPECT_EQ((*flash)->size(), 2 * kSector);
  EXPECT_EQ(ReadBinary(dir / "chip.bin"), Filled(2 * kSector, 0xFF));
}

TEST(EmulatedFlash, CreateFile_ExistingPath_AlreadyExistsAndFileKept) {
  TempDir dir;
  WriteFileBytes(dir / "dump.bin", Filled(kSector, 0x12));
  auto flash = EmulatedFlash::CreateFile(dir / "dump.bin", kSector);
  EXPECT_EQ(flash.status().code(), Status::Code::kAlreadyExists);
  EXPECT_EQ(ReadBinary(dir / "dump.bin"), Filled(kSector, 0x12));
}

TEST(EmulatedFlash, CreateFile_MissingDirectory_NotFound) {
  TempDir dir;
  EXPECT_EQ(EmulatedFlash::CreateFile(dir / "no" / "chip.bin", kSector).status().code(),
            Status::Code::kNotFound);
}

TEST(EmulatedFlash, OpenFile_Missing_NotFound) {
  TempDir dir;
  EXPECT_EQ(EmulatedFlash::OpenFile(dir / "absent.bin").status().code(), Status::Code::kNotFound);
}

TEST(EmulatedFlash, OpenFile_SizeNotSectorMultiple_InvalidArgument) {
  TempDir dir;
  WriteFileBytes(dir / "odd.bin", Filled(kSector + 1, 0xFF));
  EXPECT_TRUE(SameStatus(
      EmulatedFlash::OpenFile(dir / "odd.bin").status(),
      InvalidArgument("flash: size is not a positive multiple of the sector size", kSector + 1)));
  WriteFileBytes(dir / "empty.bin", {});
  EXPECT_TRUE(
      SameStatus(EmulatedFlash::OpenFile(dir / "empty.bin").status(),
                 InvalidArgument("flash: size is not a positive multiple of the sector size", 0)));
  // The same file is fine with a sector size that divides it.
  WriteFileBytes(dir / "small.bin", Filled(0x600, 0xFF));
  EXPECT_TRUE(EmulatedFlash::OpenFile(dir / "small.bin", 0x200).ok());
}

TEST(EmulatedFlash, OpenFile_Directory_Unavailable) {
  TempDir dir;
  EXPECT_EQ(EmulatedFlash::OpenFile(dir.path()).status().code(), Status::Code::kUnavailable);
}

TEST(EmulatedFlash, FileBacked_WritesReachFileAtOnceAndReopenSeesThem) {
  TempDir dir;
  std::vector<std::byte> expected;
  {
    auto flash = EmulatedFlash::CreateFile(dir / "chip.bin", kSize);
    ASSERT_TRUE(flash.ok());
    ASSERT_TRUE((*flash)->Write(0x10, Bytes({0xDE, 0xAD, 0xBE, 0xEF})).ok());
    ASSERT_TRUE((*flash)->Write(0x2000, Filled(kSector, 0x00)).ok());
    ASSERT_TRUE((*flash)->Erase(0x2000, kSector).ok());
    expected.assign((*flash)->contents().begin(), (*flash)->contents().end());
    // Without Sync and while still mapped, a reader of the file already sees every op.
    EXPECT_EQ(ReadBinary(dir / "chip.bin"), expected);
    EXPECT_TRUE((*flash)->Sync().ok());
  }
  auto reopened = EmulatedFlash::OpenFile(dir / "chip.bin");
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Slice(**reopened, 0, kSize), expected);
  // The reopened chip keeps its physics.
  EXPECT_EQ((*reopened)->Write(0x10, Bytes({0xFF})).code(), Status::Code::kFailedPrecondition);
}

TEST(EmulatedFlash, FileBacked_ProcessKilled_FileHoldsEveryCompletedOp) {
  TempDir dir;
  const std::filesystem::path path = dir / "chip.bin";
  ASSERT_TRUE(EmulatedFlash::CreateFile(path, kSize).ok());
  // The child programs and erases, then dies by SIGKILL: no destructor, no msync, no exit.
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto flash = EmulatedFlash::OpenFile(path);
    if (!flash.ok() || !(*flash)->Write(0x0, Filled(kSector, 0x00)).ok() ||
        !(*flash)->Write(0x1234, Bytes({0x12, 0x34})).ok() || !(*flash)->Erase(0x0, kSector).ok() ||
        !(*flash)->Write(0x0FFF, Bytes({0x42})).ok()) {
      _exit(1);
    }
    raise(SIGKILL);
    _exit(2);
  }
  int wait_status = 0;
  ASSERT_EQ(waitpid(child, &wait_status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(wait_status) && WTERMSIG(wait_status) == SIGKILL) << wait_status;

  auto model = MakeFlash();
  ASSERT_TRUE(model->Write(0x1234, Bytes({0x12, 0x34})).ok());
  ASSERT_TRUE(model->Write(0x0FFF, Bytes({0x42})).ok());
  const std::vector<std::byte> expected(model->contents().begin(), model->contents().end());
  EXPECT_EQ(ReadBinary(path), expected);
  auto reopened = EmulatedFlash::OpenFile(path);
  ASSERT_TRUE(reopened.ok());
  EXPECT_EQ(Slice(**reopened, 0, kSize), expected);
}

TEST(EmulatedFlash, Sync_MemoryAndFile_Ok) {
  TempDir dir;
  EXPECT_TRUE(MakeFlash()->Sync().ok());
  auto flash = EmulatedFlash::CreateFile(dir / "chip.bin", kSector);
  ASSERT_TRUE(flash.ok());
  EXPECT_TRUE((*flash)->Sync().ok());
}

}  // namespace
}  // namespace aloft::host
