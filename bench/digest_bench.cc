// SHA-256 and HMAC-SHA-256 of a check-in-sized message (120 bytes), three ways: OpenSSL 3's
// one-shot calls (the reference: SHA256(), EVP_Q_mac), a per-thread EVP context reused across
// calls (EVP_MD_CTX, EVP_MAC_CTX: what aloftd used before), and ports/host/small_digest.h, which
// aloftd runs on every check-in. Prints microseconds per call and the one-shot / small ratio.
//
//   bench/run.sh digest

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <array>
#include <chrono>
#include <cstdio>

#include "ports/host/small_digest.h"

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

  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* digest = EVP_MD_CTX_new();
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = EVP_MAC_CTX_new(hmac);
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
      OSSL_PARAM_construct_end()};
  EVP_MAC_CTX_set_params(mac, params);

  const double sha_one_shot =
      MicrosPerCall([&] { SHA256(message_bytes, message.size(), out_bytes); });
  const double sha_reused = MicrosPerCall([&] {
    unsigned int size = 0;
    EVP_DigestInit_ex(digest, sha256, nullptr);
    EVP_DigestUpdate(digest, message_bytes, message.size());
    EVP_DigestFinal_ex(digest, out_bytes, &size);
  });
  const double sha_small = MicrosPerCall([&] { (void)aloft::host::SmallSha256(message, out); });
  const double hmac_one_shot = MicrosPerCall([&] {
    size_t size = 0;
    EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key_bytes, key.size(), message_bytes,
              message.size(), out_bytes, out.size(), &size);
  });
  const double hmac_reused = MicrosPerCall([&] {
    size_t size = 0;
    EVP_MAC_init(mac, key_bytes, key.size(), nullptr);
    EVP_MAC_update(mac, message_bytes, message.size());
    EVP_MAC_final(mac, out_bytes, &size, out.size());
  });
  const double hmac_small =
      MicrosPerCall([&] { (void)aloft::host::SmallHmacSha256(key, message, out); });

  std::printf("120-byte message, %d calls each, us per call\n", kRounds);
  std::printf("%-14s %10s %10s %10s %8s\n", "", "one-shot", "evp-reused", "small", "ratio");
  std::printf("%-14s %10.2f %10.2f %10.2f %7.2fx\n", "sha-256", sha_one_shot, sha_reused, sha_small,
              sha_one_shot / sha_small);
  std::printf("%-14s %10.2f %10.2f %10.2f %7.2fx\n", "hmac-sha-256", hmac_one_shot, hmac_reused,
              hmac_small, hmac_one_shot / hmac_small);
  EVP_MAC_CTX_free(mac);
  EVP_MAC_free(hmac);
  EVP_MD_CTX_free(digest);
  EVP_MD_free(sha256);
  return 0;
}
