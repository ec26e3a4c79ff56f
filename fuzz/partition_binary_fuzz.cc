// libFuzzer target: ParsePartitionTableBinary on arbitrary bytes, then the round-trip
// invariants of partition_roundtrip.h on whatever parses.

#include <cstddef>
#include <cstdint>

#include "partition_roundtrip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static aloft::host::OpensslCrypto crypto;
  const aloft::ConstByteSpan bytes(reinterpret_cast<const std::byte*>(data), size);
  aloft::core::PartitionDiagnostic diagnostic;
  aloft::Result<aloft::core::PartitionTable> table =
      aloft::core::ParsePartitionTableBinary(bytes, crypto, &diagnostic);
  if (!table.ok()) {
    aloft::fuzz::Require(diagnostic.rule != aloft::core::PartitionRule::kNone,
                         "a failure names its rule");
    return 0;
  }
  for (const aloft::core::Partition& p : table->entries()) {
    aloft::fuzz::Require(p.name().size() <= aloft::core::kPartitionLabelSize, "binary names fit a label");
    aloft::fuzz::Require((p.flags & ~aloft::core::kPartitionKnownFlags) == 0,
                         "only known flags are kept");
  }
  aloft::fuzz::CheckRoundTrip(*table, crypto);
  return 0;
}
