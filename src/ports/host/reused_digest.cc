#include "ports/host/reused_digest.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <initializer_list>

#include "core/try.h"

namespace aloft::host {
namespace {

unsigned char* Out(std::array<std::byte, 32>& bytes) {
  return reinterpret_cast<unsigned char*>(bytes.data());
}

// One thread's contexts: fetched on first use, freed with the thread.
struct ThreadContexts {
  EVP_MD* sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_MD_CTX* digest = EVP_MD_CTX_new();
  ThreadContexts() = default;
  ~ThreadContexts() {
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

// SHA-256 of the concatenated parts.
Status ReusedSha256Of(std::initializer_list<ConstByteSpan> parts,
                      std::array<std::byte, 32>& digest) {
  ThreadContexts& c = Contexts();
  unsigned int size = 0;
  if (c.sha256 == nullptr || c.digest == nullptr ||
      EVP_DigestInit_ex(c.digest, c.sha256, nullptr) != 1) {
    return Internal("crypto: sha-256 failed");
  }
  for (ConstByteSpan part : parts) {
    if (EVP_DigestUpdate(c.digest, part.data(), part.size()) != 1) {
      return Internal("crypto: sha-256 failed");
    }
  }
  if (EVP_DigestFinal_ex(c.digest, Out(digest), &size) != 1 || size != digest.size()) {
    return Internal("crypto: sha-256 failed");
  }
  return OkStatus();
}

}  // namespace

Status ReusedSha256(ConstByteSpan message, std::array<std::byte, 32>& digest) {
  return ReusedSha256Of({message}, digest);
}

// HMAC (RFC 2104) over the reused SHA-256 context: H((K ^ opad) || H((K ^ ipad) || m)), the key
// first hashed if longer than a block. Built here rather than on EVP_MAC because OpenSSL 3's
// EVP_MAC_init re-keys through the provider's parameter machinery on every call, which made a
// reused EVP_MAC context cost half as much again as this (`bench/run.sh digest`), on every
// check-in. Checked against RFC 4231 and against OpenSSL's HMAC() for random keys and messages
// (reused_digest_test.cc).
Status ReusedHmacSha256(ConstByteSpan key, ConstByteSpan message, std::array<std::byte, 32>& mac) {
  constexpr size_t kBlockBytes = 64;
  std::array<std::byte, 32> hashed_key{};
  if (key.size() > kBlockBytes) {
    ALOFT_TRY(ReusedSha256(key, hashed_key));
    key = hashed_key;
  }
  std::array<std::byte, kBlockBytes> pad{};
  std::array<std::byte, 32> inner{};
  auto keyed_pad = [&](std::byte fill) {
    pad.fill(fill);
    for (size_t i = 0; i < key.size(); ++i) {
      pad[i] ^= key[i];
    }
    return ConstByteSpan(pad);
  };
  Status status = ReusedSha256Of({keyed_pad(std::byte{0x36}), message}, inner);
  if (status.ok()) {
    status = ReusedSha256Of({keyed_pad(std::byte{0x5c}), ConstByteSpan(inner)}, mac);
  }
  OPENSSL_cleanse(pad.data(), pad.size());
  OPENSSL_cleanse(hashed_key.data(), hashed_key.size());
  OPENSSL_cleanse(inner.data(), inner.size());
  if (!status.ok()) {
    return Internal("crypto: hmac-sha256 failed");
  }
  return OkStatus();
}

}  // namespace aloft::host
