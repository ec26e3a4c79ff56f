#pragma once
// NOR flash as the core sees it: erased bytes read 0xFF, a write only clears bits, erase works
// on whole sectors. Offsets are absolute (from the start of the chip). Not thread-safe: the core
// calls it from one task. Implementations: host EmulatedFlash/FaultyFlash (src/ports/host),
// ESP-IDF esp_flash (src/ports/esp-idf).

#include <cstdint>

#include "core/bytes.h"
#include "core/status.h"

namespace aloft::port {

class Flash {
 public:
  Flash() = default;
  Flash(const Flash&) = delete;
  Flash& operator=(const Flash&) = delete;
  virtual ~Flash() = default;

  // Reads out.size() bytes at offset.
  // kOutOfRange if [offset, offset + out.size()) is not inside [0, size()).
  // kAborted after a power cut (emulator). kUnavailable on a transient device error.
  virtual Status Read(uint32_t offset, ByteSpan out) = 0;

  // Programs data at offset: each target bit becomes flash AND data.
  // REQUIRES: the write only clears bits (never asks for a 1 where flash holds a 0). The
  // emulator refuses such a write whole with kFailedPrecondition naming the first offending
  // offset, where a real chip would silently leave the 0 (a corrupt image).
  // kOutOfRange past the end; kAborted after a power cut.
  virtual Status Write(uint32_t offset, ConstByteSpan data) = 0;

  // Erases [offset, offset + size) to 0xFF.
  // kInvalidArgument unless offset and size are multiples of sector_size(); kOutOfRange past
  // the end; kAborted after a power cut.
  virtual Status Erase(uint32_t offset, uint32_t size) = 0;

  virtual uint32_t sector_size() const = 0;
  virtual uint32_t size() const = 0;
};

}  // namespace aloft::port
