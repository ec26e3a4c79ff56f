// Fuzzes the canonical release-manifest parser: never crashes, and whatever it accepts
// serializes back to exactly the input bytes (one spelling per manifest, docs/manifest.md).

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "core/release/manifest.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aloft;
  const ConstByteSpan input(reinterpret_cast<const std::byte*>(data), size);
  const Result<core::ReleaseManifest> manifest = core::ParseManifest(input);
  if (!manifest.ok()) {
    return 0;
  }
  std::array<std::byte, core::kMaxManifestSize> out;
  const Result<size_t> written = core::SerializeManifest(*manifest, out);
  if (!written.ok() || *written != size || std::memcmp(out.data(), data, size) != 0) {
    std::abort();
  }
  return 0;
}
