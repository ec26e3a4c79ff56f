#include "ports/esp-idf/content_range.h"

#include "core/text.h"

namespace aloft::espidf {
namespace {

// A decimal number of 1..10 digits that fits 32 bits.
std::optional<uint32_t> ParseU32(std::string_view digits) {
  const std::optional<uint64_t> value =
      digits.size() <= 10 ? core::ParseDecimal(digits) : std::nullopt;
  if (!value.has_value() || *value > UINT32_MAX) {
    return std::nullopt;
  }
  return static_cast<uint32_t>(*value);
}

bool StartsWithBytesUnit(std::string_view text) {
  constexpr std::string_view kUnit = "bytes ";
  if (text.size() < kUnit.size()) {
    return false;
  }
  for (size_t i = 0; i < kUnit.size(); ++i) {
    char c = text[i];
    if (c >= 'A' && c <= 'Z') {
      c = static_cast<char>(c - 'A' + 'a');
    }
    if (c != kUnit[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  value = core::TrimOws(value);
  if (!StartsWithBytesUnit(value)) {
    return std::nullopt;
  }
  value = core::TrimOws(value.substr(6));
  const size_t dash = value.find('-');
  const size_t slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) {
    return std::nullopt;
  }
  const std::optional<uint32_t> first = ParseU32(value.substr(0, dash));
  const std::optional<uint32_t> last = ParseU32(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *first > *last) {
    return std::nullopt;
  }
  ContentRange range{*first, *last, 0};
  const std::string_view total_text = value.substr(slash + 1);
  if (total_text == "*") {
    return range;
  }
  const std::optional<uint32_t> total = ParseU32(total_text);
  if (!total || *total <= *last) {
    return std::nullopt;
  }
  range.total = *total;
  return range;
}

}  // namespace aloft::espidf
