#include "ports/host/reused_digest.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>

namespace aloft::host {
namespace {

unsigned char* Out(std::array<std::byte, 32>& bytes) {
  return reinterpret_cast<unsigned char*>(bytes.data());
}

// One thread's contexts: fetched on first use, freed with the thread.
struct ThreadContexts {
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* digest = EVP_MD_CTX_new();
  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  EVP_MAC_CTX* mac = nullptr;

  ThreadContexts() {
    if (hmac != nullptr) {
      mac = EVP_MAC_CTX_new(hmac);
      char name[] = "SHA256";
      const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, name, 0),
                                   OSSL_PARAM_construct_end()};
      if (mac != nullptr && EVP_MAC_CTX_set_params(mac, params) != 1) {
        EVP_MAC_CTX_free(mac);
        mac = nullptr;
      }
    }
  }
  ~ThreadContexts() {
    EVP_MAC_CTX_free(mac);
    EVP_MAC_free(hmac);
    EVP_MD_CTX_free(digest);
    EVP_MD_free(sha256);
  }
  ThreadContexts(const ThreadContexts&) = delete;
  ThreadContexts& operator=(const ThreadContexts&) = delete;
};

ThreadContexts& Contexts() {
  thread_local ThreadContexts contexts;
  return contexts;
}

}  // namespace

Status ReusedSha256(ConstByteSpan message, std::array<std::byte, 32>& digest) {
  ThreadContexts& c = Contexts();
  unsigned int size = 0;
  if (c.sha256 == nullptr || c.digest == nullptr ||
      EVP_DigestInit_ex(c.digest, c.sha256, nullptr) != 1 ||
      EVP_DigestUpdate(c.digest, message.data(), message.size()) != 1 ||
      EVP_DigestFinal_ex(c.digest, Out(digest), &size) != 1 || size != digest.size()) {
    return Internal("crypto: sha-256 failed");
  }
  return OkStatus();
}

Status ReusedHmacSha256(ConstByteSpan key, ConstByteSpan message, std::array<std::byte, 32>& mac) {
  ThreadContexts& c = Contexts();
  size_t size = 0;
  // Initialising with the key alone keeps the digest set once in the constructor.
  if (c.mac == nullptr ||
      EVP_MAC_init(c.mac, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                   nullptr) != 1 ||
      EVP_MAC_update(c.mac, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      EVP_MAC_final(c.mac, Out(mac), &size, mac.size()) != 1 || size != mac.size()) {
    return Internal("crypto: hmac-sha256 failed");
  }
  return OkStatus();
}

}  // namespace aloft::host
