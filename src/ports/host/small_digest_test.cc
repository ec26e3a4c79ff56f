#include "ports/host/small_digest.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/hex.h"

namespace aloft::host {
namespace {

std::string Hex(const std::array<std::byte, 32>& bytes) {
  std::string text(64, '0');
  core::HexEncode(bytes, text);
  return text;
}

std::string Sha256Of(std::string_view text) {
  std::array<std::byte, 32> digest{};
  EXPECT_TRUE(SmallSha256(AsBytes(text), digest).ok());
  return Hex(digest);
}

std::string HmacOf(std::string_view key, std::string_view text) {
  std::array<std::byte, 32> mac{};
  EXPECT_TRUE(SmallHmacSha256(AsBytes(key), AsBytes(text), mac).ok());
  return Hex(mac);
}

TEST(SmallSha256, Fips180Vectors_MatchAcrossReuse) {
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(Sha256Of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(Sha256Of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  }
}

// RFC 4231 test cases 2 and 1: the key changes between calls on the same context.
TEST(SmallHmacSha256, Rfc4231Vectors_KeyChangesBetweenCalls) {
  const std::string key1(20, '\x0b');
  for (int round = 0; round < 3; ++round) {
    EXPECT_EQ(HmacOf("Jefe", "what do ya want for nothing?"),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    EXPECT_EQ(HmacOf(key1, "Hi There"),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  }
}

// The RFC 2104 construction against OpenSSL's own HMAC, for keys shorter than, equal to and
// longer than a block (hashed first) and messages of every small length.
TEST(SmallHmacSha256, MatchesOpensslHmac_ForRandomKeysAndMessages) {
  std::mt19937 random(7);
  for (size_t key_size : {0u, 1u, 16u, 32u, 63u, 64u, 65u, 131u, 200u}) {
    for (size_t message_size = 0; message_size < 300; message_size += 7) {
      std::string key(key_size, '\0');
      std::string message(message_size, '\0');
      for (char& c : key) c = static_cast<char>(random());
      for (char& c : message) c = static_cast<char>(random());
      std::array<std::byte, 32> expected{};
      unsigned int expected_size = 0;
      ASSERT_NE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                     reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                     reinterpret_cast<unsigned char*>(expected.data()), &expected_size),
                nullptr);
      ASSERT_EQ(expected_size, 32u);
      EXPECT_EQ(HmacOf(key, message), Hex(expected)) << key_size << " " << message_size;
    }
  }
}

TEST(SmallHmacSha256, ManyThreads_EachGetsTheRightMac) {
  std::vector<std::thread> threads;
  std::vector<std::string> results(8);
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&results, i] {
      for (int round = 0; round < 100; ++round) {
        results[i] = HmacOf("Jefe", "what do ya want for nothing?");
      }
    });
  }
  for (std::thread& thread : threads) {
    thread.join();
  }
  for (const std::string& mac : results) {
    EXPECT_EQ(mac, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  }
}

}  // namespace
}  // namespace aloft::host
