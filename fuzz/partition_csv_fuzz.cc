// libFuzzer target: ParsePartitionCsv on arbitrary text (with a variable lookup), then the
// round-trip invariants of partition_roundtrip.h on whatever parses.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "partition_roundtrip.h"

namespace {

// Defines $A (a size) and $B (a name) so the expansion paths run too.
class Variables final : public aloft::core::PartitionCsvVariables {
 public:
  std::optional<std::string_view> Lookup(std::string_view name) const override {
    if (name == "A") {
      return std::string_view("0x3000");
    }
    if (name == "B") {
      return std::string_view("name_from_b");
    }
    return std::nullopt;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static aloft::host::OpensslCrypto crypto;
  static const Variables variables;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  aloft::core::PartitionCsvOptions options;
  options.variables = &variables;
  // Bootloader rows need offsets; vary them with the input so both paths run.
  if (size > 0 && (data[0] & 1) != 0) {
    options.primary_bootloader_offset = 0x1000;
    options.recovery_bootloader_offset = 0x20000;
  }
  aloft::core::PartitionDiagnostic diagnostic;
  aloft::Result<aloft::core::PartitionTable> table = aloft::core::ParsePartitionCsv(text, options, &diagnostic);
  if (!table.ok()) {
    aloft::fuzz::Require(diagnostic.rule != aloft::core::PartitionRule::kNone,
                         "a failure names its rule");
    return 0;
  }
  aloft::fuzz::CheckRoundTrip(*table, crypto);
  return 0;
}
