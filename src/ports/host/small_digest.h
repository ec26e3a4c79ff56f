#pragma once
// SHA-256 and HMAC-SHA-256 of small messages, with no allocation and no EVP dispatch: aloftd runs
// five of them on every check-in (the token, the rollout bucket, the answer, the two halves of
// its freshness MAC). OpenSSL 3's EVP calls cost more than the hashing at these sizes: a one-shot
// call fetches the algorithm and builds a context, and even a reused context is re-created
// (a malloc and a free) by every EVP_DigestInit_ex. `bench/run.sh digest` has the figures.
//
// Thread-safe (stateless).

#include <array>
#include <cstddef>

#include "core/bytes.h"
#include "core/status.h"

namespace aloft::host {

// OkStatus always (the Status keeps the callers' shape should a backend ever fail).
Status SmallSha256(ConstByteSpan message, std::array<std::byte, 32>& digest);
Status SmallHmacSha256(ConstByteSpan key, ConstByteSpan message, std::array<std::byte, 32>& mac);

}  // namespace aloft::host
