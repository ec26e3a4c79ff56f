// PooledFlash behaves exactly as EmulatedFlash (the reference physics), operation by operation,
// while sharing identical sectors between chips through a SectorPool.

#include "emulator/pooled_flash.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "support/status_testing.h"

namespace aloft::emulator {
namespace {

constexpr uint32_t kChip = 64 * 1024;

std::vector<std::byte> Contents(port::Flash& flash) {
  std::vector<std::byte> bytes(flash.size());
  EXPECT_TRUE(flash.Read(0, bytes).ok());
  return bytes;
}

TEST(PooledFlash, RandomOperations_MatchEmulatedFlashExactly) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    std::mt19937_64 random(seed);
    auto pool = std::make_shared<SectorPool>();
    auto pooled = PooledFlash::Create(pool, kChip).value();
    auto reference = host::EmulatedFlash::CreateInMemory(kChip).value();
    for (int op = 0; op < 400; ++op) {
      const uint32_t kind = random() % 10;
      // Offsets near and past the end, aligned and not.
      const uint32_t offset = static_cast<uint32_t>(random() % (kChip + 0x2000));
      const uint32_t length = static_cast<uint32_t>(random() % 0x1800);
      if (kind < 4) {
        std::vector<std::byte> data(length);
        for (std::byte& b : data) {
          // Mostly bits that can be cleared; sometimes 0xFF bytes that may try to set bits.
          b = static_cast<std::byte>(random() % 4 == 0 ? 0xFF : random());
        }
        EXPECT_STATUS(pooled->Write(offset, data), reference->Write(offset, data)) << op;
      } else if (kind < 6) {
        const uint32_t aligned = random() % 2 == 0 ? offset / 0x1000 * 0x1000 : offset;
        const uint32_t size = random() % 2 == 0 ? length / 0x1000 * 0x1000 : length;
        EXPECT_STATUS(pooled->Erase(aligned, size), reference->Erase(aligned, size)) << op;
      } else if (kind < 9) {
        std::vector<std::byte> a(length);
        std::vector<std::byte> b(length);
        EXPECT_STATUS(pooled->Read(offset, a), reference->Read(offset, b)) << op;
        EXPECT_EQ(a, b) << op;
      } else {
        pooled->Intern();
        EXPECT_EQ(pooled->owned_bytes(), 0u);
      }
    }
    EXPECT_EQ(Contents(*pooled), Contents(*reference));
    EXPECT_EQ(pooled->counters().writes, reference->counters().writes);
    EXPECT_EQ(pooled->counters().erases, reference->counters().erases);
    EXPECT_EQ(pooled->counters().sectors_erased, reference->counters().sectors_erased);
    EXPECT_EQ(pooled->counters().bytes_written, reference->counters().bytes_written);
  }
}

TEST(PooledFlash, ChipsWithTheSameFirmware_ShareItsSectors) {
  auto pool = std::make_shared<SectorPool>();
  std::vector<std::byte> image(5 * 0x1000 + 100);
  for (size_t i = 0; i < image.size(); ++i) {
    image[i] = static_cast<std::byte>(i * 7 + i / 4096);
  }
  auto a = PooledFlash::CreateFrom(pool, kChip, image).value();
  auto b = PooledFlash::CreateFrom(pool, kChip, image).value();
  EXPECT_EQ(pool->sector_count(), 6u);
  EXPECT_EQ(a->owned_bytes(), 0u);
  EXPECT_EQ(Contents(*a), Contents(*b));

  // Copy on write: b's change is b's alone until it is interned, and then a new shared sector.
  ASSERT_TRUE(b->Erase(0x1000, 0x1000).ok());
  const std::byte zero[16] = {};
  ASSERT_TRUE(b->Write(0x1000, zero).ok());
  EXPECT_EQ(b->owned_bytes(), 0x1000u);
  EXPECT_NE(Contents(*a), Contents(*b));
  std::vector<std::byte> before = Contents(*b);
  b->Intern();
  EXPECT_EQ(b->owned_bytes(), 0u);
  EXPECT_EQ(Contents(*b), before);
  EXPECT_EQ(pool->sector_count(), 7u);

  // a writing the same bytes ends up on the same shared sector.
  ASSERT_TRUE(a->Erase(0x1000, 0x1000).ok());
  ASSERT_TRUE(a->Write(0x1000, zero).ok());
  a->Intern();
  EXPECT_EQ(pool->sector_count(), 7u);
  EXPECT_EQ(Contents(*a), Contents(*b));
}

TEST(PooledFlash, ErasedSectors_CostNothing) {
  auto pool = std::make_shared<SectorPool>();
  auto flash = PooledFlash::Create(pool, kChip).value();
  const std::byte ff[8] = {std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF},
                           std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}, std::byte{0xFF}};
  ASSERT_TRUE(flash->Write(0x3000, ff).ok());
  flash->Intern();
  EXPECT_EQ(pool->sector_count(), 0u);
  EXPECT_EQ(flash->owned_bytes(), 0u);
}

TEST(PooledFlash, Clone_SameBytesSharedSectorsIndependentAfterwards) {
  auto pool = std::make_shared<SectorPool>();
  auto original = PooledFlash::Create(pool, kChip).value();
  std::vector<std::byte> data(0x1800, std::byte{0x5A});
  ASSERT_TRUE(original->Write(0x1000, data).ok());  // two sectors, owned until interned
  auto copy = original->Clone();
  EXPECT_EQ(Contents(*copy), Contents(*original));
  EXPECT_EQ(pool->sector_count(), 2u);
  EXPECT_EQ(original->owned_bytes(), 0u);
  EXPECT_EQ(copy->owned_bytes(), 0u);
  // Erasing the copy leaves the original as it was.
  ASSERT_TRUE(copy->Erase(0x1000, 0x1000).ok());
  std::vector<std::byte> sector(0x1000);
  ASSERT_TRUE(original->Read(0x1000, sector).ok());
  EXPECT_EQ(sector[0], std::byte{0x5A});
  ASSERT_TRUE(copy->Read(0x1000, sector).ok());
  EXPECT_EQ(sector[0], std::byte{0xFF});
}

TEST(PooledFlash, BadSizes_InvalidArgument) {
  auto pool = std::make_shared<SectorPool>();
  EXPECT_EQ(PooledFlash::Create(pool, 0).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(PooledFlash::Create(pool, 0x1001).status().code(), Status::Code::kInvalidArgument);
  std::vector<std::byte> image(0x3000);
  EXPECT_EQ(PooledFlash::CreateFrom(pool, 0x2000, image).status().code(),
            Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace aloft::emulator
