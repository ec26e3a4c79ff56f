#pragma once
// Hash: RAII over a port::Crypto hash, so an early return can never leak the backend's state.
// Lives on the caller's stack; no heap in core. Not copyable.

#include "core/port/crypto.h"
#include "core/status.h"

namespace aloft {

class Hash {
 public:
  Hash(port::Crypto& crypto, port::HashAlgorithm algorithm)
      : crypto_(crypto), algorithm_(algorithm) {}
  Hash(const Hash&) = delete;
  Hash& operator=(const Hash&) = delete;
  ~Hash() {
    if (running_) {
      crypto_.HashAbort(context_);
    }
  }

  // Starts (or restarts) the hash.
  Status Begin() {
    if (running_) {
      crypto_.HashAbort(context_);
      running_ = false;
    }
    Status status = crypto_.HashBegin(algorithm_, context_);
    running_ = status.ok();
    return status;
  }
  // REQUIRES: Begin() succeeded.
  Status Update(ConstByteSpan data) { return crypto_.HashUpdate(context_, data); }
  // Writes the digest and ends the hash.
  Status Finish(ByteSpan digest) {
    running_ = false;
    return crypto_.HashFinish(context_, digest);
  }
  bool running() const { return running_; }
  port::HashAlgorithm algorithm() const { return algorithm_; }

 private:
  port::Crypto& crypto_;
  port::HashAlgorithm algorithm_;
  bool running_ = false;
  port::HashContext context_;
};

}  // namespace aloft
