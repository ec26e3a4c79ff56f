#pragma once
// File input and output for commands. Failures are printed here, once, naming the path and
// the OS's reason, so callers only decide the exit code.

#include <cstddef>
#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/bytes.h"

namespace aloft::cli {

// The whole file, or nullopt after printing "aloft: cannot read PATH: REASON".
std::optional<std::vector<std::byte>> ReadFileOrReport(const std::string& path);

// Writes `bytes` to `path` atomically: a temporary file in the same directory, fsync, then
// rename, so a crash or a full disk never leaves a half-written output (nor clobbers an old
// one). Returns false after printing "aloft: cannot write PATH: REASON".
bool WriteFileOrReport(const std::string& path, ConstByteSpan bytes, int mode = 0644);

// Lower-case hex of `bytes`, two characters per byte, no prefix.
std::string HexString(ConstByteSpan bytes);

// Fills `out` from exactly 2 * out.size() hex digits (either case); false otherwise.
bool ParseHex(std::string_view hex, ByteSpan out);

// A 32-byte SHA-256 key digest from 64 hex digits, as `aloft key digest` prints it.
std::optional<std::array<std::byte, 32>> ParseKeyDigest(std::string_view hex);

// The bytes of a text string.
inline ConstByteSpan TextBytes(const std::string& text) { return AsBytes(text); }

}  // namespace aloft::cli
