// SHA-256 and HMAC-SHA-256 of a check-in-sized message (120 bytes): OpenSSL 3's one-shot calls
// (the reference: SHA256(), EVP_Q_mac, what aloftd used before) against the per-thread reused
// contexts of ports/host/reused_digest.h, which aloftd runs on every check-in. Prints each and
// the one-shot / reused ratio.
//
//   bench/run.sh digest

#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <cstdio>

#include "ports/host/reused_digest.h"

namespace {

constexpr int kRounds = 200'000;

template <typename F>
double MicrosPerCall(F&& call) {
  for (int i = 0; i < 1000; ++i) {
    call();  // warm-up: first fetches, caches
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kRounds; ++i) {
    call();
  }
  return std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start)
             .count() /
         kRounds;
}

}  // namespace

int main() {
  std::array<std::byte, 32> key{};
  key.fill(std::byte{1});
  std::array<std::byte, 120> message{};
  message.fill(std::byte{2});
  std::array<std::byte, 32> out{};
  const auto* key_bytes = reinterpret_cast<const unsigned char*>(key.data());
  const auto* message_bytes = reinterpret_cast<const unsigned char*>(message.data());
  auto* out_bytes = reinterpret_cast<unsigned char*>(out.data());

  const double sha_one_shot =
      MicrosPerCall([&] { SHA256(message_bytes, message.size(), out_bytes); });
  const double sha_reused = MicrosPerCall([&] { (void)aloft::host::ReusedSha256(message, out); });
  const double hmac_one_shot = MicrosPerCall([&] {
    size_t size = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_bytes, key.size(), message_bytes,
              message.size(), out_bytes, out.size(), &size);
  });
  const double hmac_reused =
      MicrosPerCall([&] { (void)aloft::host::ReusedHmacSha256(key, message, out); });

  std::printf("120-byte message, %d calls each, us per call\n", kRounds);
  std::printf("%-14s %10s %10s %8s\n", "", "one-shot", "reused", "ratio");
  std::printf("%-14s %10.2f %10.2f %7.2fx\n", "sha-256", sha_one_shot, sha_reused,
              sha_one_shot / sha_reused);
  std::printf("%-14s %10.2f %10.2f %7.2fx\n", "hmac-sha-256", hmac_one_shot, hmac_reused,
              hmac_one_shot / hmac_reused);
  return 0;
}
