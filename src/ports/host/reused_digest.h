#pragma once
// SHA-256 and HMAC-SHA-256 of small messages on an OpenSSL digest context that each thread
// fetches once and reuses. OpenSSL 3's one-shot calls (SHA256(), EVP_Q_mac) look the algorithm
// up and build a context on every call, which costs more than hashing a check-in; aloftd runs
// both on every check-in (`bench/run.sh digest` has the figures).
//
// Thread-safe: the contexts are thread_local, freed when the thread ends.

#include <array>
#include <cstddef>

#include "core/bytes.h"
#include "core/status.h"

namespace aloft::host {

// Internal only if OpenSSL fails (out of memory).
Status ReusedSha256(ConstByteSpan message, std::array<std::byte, 32>& digest);
Status ReusedHmacSha256(ConstByteSpan key, ConstByteSpan message, std::array<std::byte, 32>& mac);

}  // namespace aloft::host
