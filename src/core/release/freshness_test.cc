#include "core/release/freshness.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <string_view>

#include "core/constant_time.h"
#include "ports/host/openssl_crypto.h"
#include "support/status_testing.h"

namespace aloft::core {
namespace {

std::array<std::byte, 32> Filled(uint8_t value) {
  std::array<std::byte, 32> bytes;
  bytes.fill(std::byte{value});
  return bytes;
}

std::array<std::byte, kCheckinNonceSize> Nonce(uint8_t seed) {
  std::array<std::byte, kCheckinNonceSize> nonce;
  for (size_t i = 0; i < nonce.size(); ++i) {
    nonce[i] = std::byte{static_cast<uint8_t>(seed + 17 * i)};
  }
  return nonce;
}

TEST(FreshnessMessage, Layout_ByteByByte) {
  const auto nonce = Nonce(1);
  const auto body = Filled(0xB0);
  std::array<std::byte, kMaxFreshnessMessageSize> out;
  const Result<size_t> size = FreshnessMessage({"dev-42", nonce, 0x0102030405060708ull, body}, out);
  ASSERT_TRUE(size.ok());
  ASSERT_EQ(*size, 24u + 1 + 6 + 16 + 8 + 32);
  const std::string_view text(reinterpret_cast<const char*>(out.data()), *size);
  EXPECT_EQ(text.substr(0, 24), "aloft-checkin-answer-v1\n");
  EXPECT_EQ(out[24], std::byte{6});
  EXPECT_EQ(text.substr(25, 6), "dev-42");
  EXPECT_TRUE(std::equal(nonce.begin(), nonce.end(), out.begin() + 31));
  EXPECT_EQ(LoadLe32(out, 47), 0x05060708u);
  EXPECT_EQ(LoadLe32(out, 51), 0x01020304u);
  EXPECT_TRUE(std::equal(body.begin(), body.end(), out.begin() + 55));
}

TEST(FreshnessMessage, BadFields_Refused) {
  const auto nonce = Nonce(1);
  const auto body = Filled(0xB0);
  std::array<std::byte, kMaxFreshnessMessageSize> out;
  const std::string long_id(65, 'd');
  EXPECT_STATUS(FreshnessMessage({"", nonce, 0, body}, out).status(),
                InvalidArgument("freshness: device id is not 1..64 bytes", 0));
  EXPECT_STATUS(FreshnessMessage({long_id, nonce, 0, body}, out).status(),
                InvalidArgument("freshness: device id is not 1..64 bytes", 65));
  EXPECT_STATUS(FreshnessMessage({"d", ConstByteSpan(nonce).first(15), 0, body}, out).status(),
                InvalidArgument("freshness: nonce is not 16 bytes", 15));
  EXPECT_STATUS(FreshnessMessage({"d", nonce, 0, ConstByteSpan(body).first(31)}, out).status(),
                InvalidArgument("freshness: body digest is not 32 bytes", 31));
  EXPECT_STATUS(FreshnessMessage({"d", nonce, 0, body}, ByteSpan(out).first(50)).status(),
                OutOfRange("freshness: output buffer too small", 50));
}

// RFC 4231 test case 2, through the port: the MAC is standard HMAC-SHA256.
TEST(HmacSha256, Rfc4231Case2) {
  host::OpensslCrypto crypto;
  std::array<std::byte, 32> mac;
  ASSERT_TRUE(
      crypto.HmacSha256(AsBytes("Jefe"), AsBytes("what do ya want for nothing?"), mac).ok());
  constexpr uint8_t kExpected[] = {0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                                   0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                                   0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
  for (size_t i = 0; i < 32; ++i) {
    EXPECT_EQ(mac[i], std::byte{kExpected[i]}) << i;
  }
  EXPECT_STATUS(crypto.HmacSha256({}, AsBytes("x"), mac),
                InvalidArgument("crypto: hmac key is empty or mac buffer too small"));
}

class FreshnessTest : public ::testing::Test {
 protected:
  host::OpensslCrypto crypto_;
  const std::array<std::byte, 32> secret_ = Filled(0x5E);
  const std::array<std::byte, kCheckinNonceSize> nonce_ = Nonce(7);
  const std::array<std::byte, 32> body_ = Filled(0xB0);
  const uint64_t time_ = 1767225600000;  // 2026-01-01
  const Status kRefused = Unauthenticated("freshness: answer mac does not verify");

  std::array<std::byte, kFreshnessMacSize> ServerMac(const FreshnessClaim& claim) {
    return ComputeFreshnessMac(crypto_, secret_, claim).value();
  }
};

TEST_F(FreshnessTest, CorrectAnswer_Accepted) {
  const auto mac = ServerMac({"dev-42", nonce_, time_, body_});
  EXPECT_STATUS(VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_, body_}, mac),
                OkStatus());
}

TEST_F(FreshnessTest, WrongNonce_Refused) {
  const auto mac = ServerMac({"dev-42", Nonce(8), time_, body_});
  EXPECT_STATUS(VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_, body_}, mac), kRefused);
}

// An old answer (to the previous check-in's nonce) replayed against the current check-in.
TEST_F(FreshnessTest, ReplayedOldAnswer_Refused) {
  const auto old_nonce = Nonce(6);
  const auto old_mac = ServerMac({"dev-42", old_nonce, time_ - 60000, body_});
  ASSERT_STATUS(
      VerifyFreshness(crypto_, secret_, {"dev-42", old_nonce, time_ - 60000, body_}, old_mac),
      OkStatus());
  // The device now holds nonce_, and verifies with its own nonce, never one from the answer.
  EXPECT_STATUS(
      VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_ - 60000, body_}, old_mac),
      kRefused);
}

// An answer made for another device (another id, or another device's secret).
TEST_F(FreshnessTest, WrongDevice_Refused) {
  const auto for_other_id = ServerMac({"dev-43", nonce_, time_, body_});
  EXPECT_STATUS(VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_, body_}, for_other_id),
                kRefused);
  const auto other_secret = Filled(0x5F);
  const auto for_other_secret =
      ComputeFreshnessMac(crypto_, other_secret, {"dev-42", nonce_, time_, body_}).value();
  EXPECT_STATUS(
      VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_, body_}, for_other_secret),
      kRefused);
}

TEST_F(FreshnessTest, TamperedBodyTimeOrMac_Refused) {
  const auto mac = ServerMac({"dev-42", nonce_, time_, body_});
  auto body = body_;
  body[0] ^= std::byte{1};
  EXPECT_STATUS(VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_, body}, mac), kRefused);
  EXPECT_STATUS(VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_ + 1, body_}, mac),
                kRefused);
  for (size_t i = 0; i < mac.size(); ++i) {
    auto bad = mac;
    bad[i] ^= std::byte{0x80};
    EXPECT_STATUS(VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_, body_}, bad),
                  kRefused)
        << i;
  }
  EXPECT_STATUS(VerifyFreshness(crypto_, secret_, {"dev-42", nonce_, time_, body_},
                                ConstByteSpan(mac).first(31)),
                kRefused);
}

TEST_F(FreshnessTest, ShortSecret_InvalidArgument) {
  const auto mac = ServerMac({"dev-42", nonce_, time_, body_});
  EXPECT_STATUS(VerifyFreshness(crypto_, ConstByteSpan(secret_).first(15),
                                {"dev-42", nonce_, time_, body_}, mac),
                InvalidArgument("freshness: device secret shorter than 16 bytes", 15));
}

TEST(ConstantTimeEqual, EqualityAndLength) {
  const auto a = Filled(1);
  auto b = Filled(1);
  EXPECT_TRUE(ConstantTimeEqual(a, b));
  EXPECT_TRUE(ConstantTimeEqual({}, {}));
  for (size_t i = 0; i < b.size(); ++i) {
    b = Filled(1);
    b[i] = std::byte{0};
    EXPECT_FALSE(ConstantTimeEqual(a, b)) << i;
  }
  EXPECT_FALSE(ConstantTimeEqual(a, ConstByteSpan(a).first(31)));
}

}  // namespace
}  // namespace aloft::core
