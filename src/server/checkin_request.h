#pragma once
// The body of POST /api/v1/check (docs/protocol.md §2) and its two parsers:
//   - ParseCheckinDocument reads a Boost.JSON document through JsonFields. It is the definition
//     of a valid check-in, and it words every error.
//   - ScanCheckin reads the body with Boost.JSON's SAX parser straight into a CheckinRequest: no
//     document, no per-field lookups, no allocations for fields that fit a short string. It
//     gives up (nullopt) on anything that is not a valid check-in, without saying why, and on
//     a repeated key (which the document parser allows, keeping the last value). What it
//     accepts, the document parser accepts with the same result.
// ParseCheckin scans and falls back to the document parser, so a valid check-in costs a scan
// and an invalid one still gets its precise error. The check-in is aloftd's hottest request:
// the document parser was a third of the handler's CPU. A differential test and
// fuzz/checkin_parse_fuzz.cc hold the two to this.
//
// Thread-safe (stateless).

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/release/freshness.h"
#include "server/api_error.h"

namespace aloft::server {

// Field limits (bytes). Tags and the device id use kMaxIdBytes and kMaxTags (store/records.h).
inline constexpr size_t kCheckinProjectMaxBytes = 32;
inline constexpr size_t kCheckinChipMaxBytes = 16;
inline constexpr size_t kCheckinVersionMaxBytes = 32;
inline constexpr size_t kCheckinNonceHexChars = 2 * core::kCheckinNonceSize;

struct CheckinRequest {
  std::string device_id;
  std::string project;
  std::string chip;
  std::string version;
  uint32_t secure_version = 0;
  std::vector<std::string> tags;  // canonical: sorted, without repeats (CanonicalTags)
  std::string nonce_hex;          // as sent: 32 hex digits
  std::array<std::byte, core::kCheckinNonceSize> nonce{};

  bool operator==(const CheckinRequest&) const = default;
};

// The check-in in `body`, or 400 naming the first problem (malformed_json, not_an_object,
// missing_field, wrong_type, invalid_value, unknown_field).
ApiResult<CheckinRequest> ParseCheckin(std::string_view body);

// The two parsers ParseCheckin combines (public for the differential test and the fuzzer).
ApiResult<CheckinRequest> ParseCheckinDocument(std::string_view body);
std::optional<CheckinRequest> ScanCheckin(std::string_view body);

// A problem with one field's value, found after its JSON type and size were accepted.
struct CheckinFieldProblem {
  std::string_view field;
  std::string_view problem;
};
// The checks both parsers make once every field has its type and size: the device id's, project's,
// version's and tags' alphabets, a known chip, a 32-digit hex nonce (decoded into `nonce`).
// The first problem in that order, or nullopt.
std::optional<CheckinFieldProblem> CheckCheckinValues(CheckinRequest& checkin);

}  // namespace aloft::server
