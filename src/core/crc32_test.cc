#include "core/crc32.h"

#include <array>

#include <gtest/gtest.h>

namespace aloft {
namespace {

uint32_t OtadataCrc(uint32_t seq) {
  std::array<std::byte, 4> bytes;
  StoreLe32(bytes, 0, seq);
  return EspRomCrc32Le(0xFFFFFFFF, bytes);
}

// Known values from tests/vectors/otadata/README.md.
TEST(EspRomCrc32Le, OtadataSeq_MatchesKnownValues) {
  struct Case {
    uint32_t seq;
    uint32_t crc;
  };
  constexpr Case kCases[] = {
      {0, 0xFFFFFFFF},          {1, 0x4743989A},          {2, 0x55F63774},
      {3, 0xED4A5011},          {4, 0x709D68A8},          {5, 0xC8210FCD},
      {0xFFFFFFFE, 0x99F8B879}, {0xFFFFFFFF, 0x2144DF1C},
  };
  for (const Case& c : kCases) {
    EXPECT_EQ(OtadataCrc(c.seq), c.crc) << "seq " << c.seq;
  }
}

TEST(EspRomCrc32Le, SeedZero_IsStandardCrc32) {
  // The zlib/ISO-HDLC check value: crc32("123456789") = 0xCBF43926.
  EXPECT_EQ(EspRomCrc32Le(0, AsBytes("123456789")), 0xCBF43926u);
  EXPECT_EQ(EspRomCrc32Le(0, {}), 0u);
}

}  // namespace
}  // namespace aloft
