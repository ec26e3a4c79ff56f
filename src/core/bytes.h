#pragma once
// Endian-explicit integer codec over byte spans. Every multi-byte field of an ESP-IDF format
// goes through these (never a struct cast over bytes). REQUIRES: the span holds at least
// offset + width bytes; callers check lengths first and fail naming the field.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace aloft {

using ByteSpan = std::span<std::byte>;
using ConstByteSpan = std::span<const std::byte>;

inline uint8_t LoadU8(ConstByteSpan bytes, size_t offset) {
  return static_cast<uint8_t>(bytes[offset]);
}

inline uint16_t LoadLe16(ConstByteSpan bytes, size_t offset) {
  return static_cast<uint16_t>(LoadU8(bytes, offset) | (LoadU8(bytes, offset + 1) << 8));
}

inline uint32_t LoadLe32(ConstByteSpan bytes, size_t offset) {
  return static_cast<uint32_t>(LoadU8(bytes, offset)) |
         (static_cast<uint32_t>(LoadU8(bytes, offset + 1)) << 8) |
         (static_cast<uint32_t>(LoadU8(bytes, offset + 2)) << 16) |
         (static_cast<uint32_t>(LoadU8(bytes, offset + 3)) << 24);
}

inline void StoreU8(ByteSpan bytes, size_t offset, uint8_t value) {
  bytes[offset] = static_cast<std::byte>(value);
}

inline void StoreLe16(ByteSpan bytes, size_t offset, uint16_t value) {
  StoreU8(bytes, offset, static_cast<uint8_t>(value));
  StoreU8(bytes, offset + 1, static_cast<uint8_t>(value >> 8));
}

inline void StoreLe32(ByteSpan bytes, size_t offset, uint32_t value) {
  for (size_t i = 0; i < 4; ++i) {
    StoreU8(bytes, offset + i, static_cast<uint8_t>(value >> (8 * i)));
  }
}

// Views a string's characters as bytes (for hashing and writing text).
inline ConstByteSpan AsBytes(std::string_view text) {
  return {reinterpret_cast<const std::byte*>(text.data()), text.size()};
}

// A NUL-padded fixed-width text field (a label, a version string) as text, cut at the first
// NUL or at the field's end when it fills the field.
inline std::string_view LoadFixedText(ConstByteSpan bytes, size_t offset, size_t width) {
  const char* begin = reinterpret_cast<const char*>(bytes.data() + offset);
  size_t length = 0;
  while (length < width && begin[length] != '\0') {
    ++length;
  }
  return {begin, length};
}

}  // namespace aloft
