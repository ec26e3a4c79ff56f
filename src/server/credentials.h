#pragma once
// The secrets aloftd hands out and checks, as small pure functions (plus one that draws random
// bytes): bearer tokens for admins and devices (32 random bytes, base64url without padding,
// stored only as their SHA-256 in hex), the device secret that keys a device's freshness MACs
// (derived from the data dir's master key, never stored), and the parsing of an
// "Authorization: Bearer" field. Thread-safe (stateless).

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"

namespace aloft::server {

inline constexpr size_t kTokenRandomBytes = 32;
inline constexpr size_t kDeviceSecretBytes = 32;
inline constexpr size_t kMasterKeyBytes = 32;
// Accepted token spellings: base64url, 32..128 characters (ours are 43).
inline constexpr size_t kMinTokenChars = 32;
inline constexpr size_t kMaxTokenChars = 128;

using DeviceSecret = std::array<std::byte, kDeviceSecretBytes>;
using MasterKey = std::array<std::byte, kMasterKeyBytes>;

// A fresh token: kTokenRandomBytes from OpenSSL's CSPRNG, base64url (RFC 4648 §5), no padding.
// kInternal "credentials: no random bytes" if the generator fails.
Result<std::string> GenerateToken();

// Fresh random bytes for a master key. kInternal "credentials: no random bytes".
Result<MasterKey> GenerateMasterKey();

// True if `token` has the shape of a token (alphabet and length), before any lookup.
bool IsWellFormedToken(std::string_view token);

// What the store keeps for a token: SHA-256 of its characters, 64 lower-case hex digits.
std::string TokenHash(std::string_view token);

// SHA-256(bytes).
std::array<std::byte, 32> Sha256Digest(ConstByteSpan bytes);
// Lower-case hex of SHA-256(bytes).
std::string Sha256Hex(ConstByteSpan bytes);

// Lower-case hex, two digits per byte.
std::string HexEncode(ConstByteSpan bytes);
// Strict hex (either case), an even number of digits; nullopt otherwise.
std::optional<std::string> HexDecode(std::string_view hex);

// The device's freshness key (docs/protocol.md §1): HMAC-SHA256(master_key,
// "aloft-device-secret-v1\0" + device_id). Every server sharing the master key derives the same.
DeviceSecret DeriveDeviceSecret(const MasterKey& master_key, std::string_view device_id);

// The token of an "Authorization: Bearer <token>" field value (scheme case-insensitive, one or
// more spaces), or nullopt for any other form.
std::optional<std::string_view> ParseBearerToken(std::string_view authorization);

}  // namespace aloft::server
