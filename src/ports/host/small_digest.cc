// OpenSSL's SHA256_Init/Update/Final are deprecated since 3.0 in favour of EVP, but they run the
// same assembly (SHA-NI where the CPU has it) on a context on the stack, where EVP re-creates its
// provider context at every init. Deprecation warnings are silenced for this file only.
#define OPENSSL_SUPPRESS_DEPRECATED

#include "ports/host/small_digest.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <initializer_list>

namespace aloft::host {
namespace {

// SHA-256 of the concatenated parts.
void Sha256Of(std::initializer_list<ConstByteSpan> parts, std::array<std::byte, 32>& digest) {
  SHA256_CTX context;
  SHA256_Init(&context);
  for (ConstByteSpan part : parts) {
    SHA256_Update(&context, part.data(), part.size());
  }
  SHA256_Final(reinterpret_cast<unsigned char*>(digest.data()), &context);
  OPENSSL_cleanse(&context, sizeof(context));
}

}  // namespace

Status SmallSha256(ConstByteSpan message, std::array<std::byte, 32>& digest) {
  Sha256Of({message}, digest);
  return OkStatus();
}

// HMAC (RFC 2104): H((K ^ opad) || H((K ^ ipad) || m)), the key first hashed if longer than a
// block. Built on the hash above rather than on EVP_MAC, whose init re-keys through the
// provider's parameter machinery on every call. Checked against RFC 4231 and against OpenSSL's
// HMAC() for random keys and messages (small_digest_test.cc).
Status SmallHmacSha256(ConstByteSpan key, ConstByteSpan message, std::array<std::byte, 32>& mac) {
  constexpr size_t kBlockBytes = 64;
  std::array<std::byte, 32> hashed_key{};
  if (key.size() > kBlockBytes) {
    Sha256Of({key}, hashed_key);
    key = hashed_key;
  }
  std::array<std::byte, kBlockBytes> pad{};
  auto keyed_pad = [&](std::byte fill) {
    pad.fill(fill);
    for (size_t i = 0; i < key.size(); ++i) {
      pad[i] ^= key[i];
    }
    return ConstByteSpan(pad);
  };
  std::array<std::byte, 32> inner{};
  Sha256Of({keyed_pad(std::byte{0x36}), message}, inner);
  Sha256Of({keyed_pad(std::byte{0x5c}), ConstByteSpan(inner)}, mac);
  OPENSSL_cleanse(pad.data(), pad.size());
  OPENSSL_cleanse(hashed_key.data(), hashed_key.size());
  OPENSSL_cleanse(inner.data(), inner.size());
  return OkStatus();
}

}  // namespace aloft::host
