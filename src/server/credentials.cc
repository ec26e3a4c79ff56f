#include "server/credentials.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <span>

#include "core/check.h"
#include "core/hex.h"
#include "ports/host/small_digest.h"
#include "server/http/http_types.h"

namespace aloft::server {
namespace {

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

constexpr bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

Result<std::string> GenerateToken() {
  unsigned char random[kTokenRandomBytes];
  if (RAND_bytes(random, sizeof(random)) != 1) {
    return Internal("credentials: no random bytes");
  }
  std::string token;
  uint32_t bits = 0;
  int bit_count = 0;
  for (unsigned char byte : random) {
    bits = (bits << 8) | byte;
    bit_count += 8;
    while (bit_count >= 6) {
      bit_count -= 6;
      token.push_back(kBase64Url[(bits >> bit_count) & 0x3F]);
    }
  }
  if (bit_count > 0) {
    token.push_back(kBase64Url[(bits << (6 - bit_count)) & 0x3F]);
  }
  OPENSSL_cleanse(random, sizeof(random));
  return token;
}

Result<MasterKey> GenerateMasterKey() {
  MasterKey key{};
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key.data()), static_cast<int>(key.size())) != 1) {
    return Internal("credentials: no random bytes");
  }
  return key;
}

bool IsWellFormedToken(std::string_view token) {
  // A table, built once: every check-in runs this over its token.
  static constexpr std::array<bool, 256> kIsBase64Url = [] {
    std::array<bool, 256> table{};
    for (int c = 0; c < 256; ++c) {
      table[static_cast<size_t>(c)] = IsBase64UrlChar(static_cast<char>(c));
    }
    return table;
  }();
  return token.size() >= kMinTokenChars && token.size() <= kMaxTokenChars &&
         std::all_of(token.begin(), token.end(),
                     [](char c) { return kIsBase64Url[static_cast<unsigned char>(c)]; });
}

std::string TokenHash(std::string_view token) { return Sha256Hex(AsBytes(token)); }

std::array<std::byte, 32> Sha256Digest(ConstByteSpan bytes) {
  std::array<std::byte, 32> digest{};
  // Fails only when OpenSSL is out of memory; then nothing of the server works anyway.
  ALOFT_CHECK(host::SmallSha256(bytes, digest).ok());
  return digest;
}

std::string Sha256Hex(ConstByteSpan bytes) { return HexEncode(Sha256Digest(bytes)); }

// Both on core/hex.h: one encoder and one decoder in the project, the server's only own the
// std::string.
std::string HexEncode(ConstByteSpan bytes) {
  std::string hex(bytes.size() * 2, '0');
  core::HexEncode(bytes, hex);
  return hex;
}

std::optional<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return std::nullopt;
  }
  std::string bytes(hex.size() / 2, '\0');
  if (!core::HexDecode(hex, std::as_writable_bytes(std::span(bytes))).ok()) {
    return std::nullopt;
  }
  return bytes;
}

DeviceSecret DeriveDeviceSecret(const MasterKey& master_key, std::string_view device_id) {
  std::string message("aloft-device-secret-v1", 22);
  message.push_back('\0');
  message.append(device_id);
  DeviceSecret secret{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), master_key.data(), static_cast<int>(master_key.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(),
       reinterpret_cast<unsigned char*>(secret.data()), &length);
  return secret;
}

std::optional<std::string_view> ParseBearerToken(std::string_view authorization) {
  constexpr std::string_view kScheme = "Bearer";
  if (authorization.size() <= kScheme.size() ||
      !EqualsIgnoreCase(authorization.substr(0, kScheme.size()), kScheme) ||
      authorization[kScheme.size()] != ' ') {
    return std::nullopt;
  }
  std::string_view token = authorization.substr(kScheme.size());
  const size_t first = token.find_first_not_of(' ');
  if (first == std::string_view::npos) {
    return std::nullopt;
  }
  token.remove_prefix(first);
  const size_t last = token.find_last_not_of(" \t");
  token = token.substr(0, last + 1);
  // A loop, not find_first_of(" \t"), which calls memchr once per character.
  if (std::any_of(token.begin(), token.end(), [](char c) { return c == ' ' || c == '\t'; })) {
    return std::nullopt;
  }
  return token;
}

}  // namespace aloft::server
