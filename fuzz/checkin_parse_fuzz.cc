// Differential fuzzing of the two check-in parsers (server/checkin_request.h): for any body, the
// SAX scanner accepts it exactly when the document parser does, with the same CheckinRequest.
// A difference aborts: the scanner must never let through what the document parser refuses,
// nor send a valid check-in down the slow path.

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/checkin_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const aloft::server::ApiResult<aloft::server::CheckinRequest> document =
      aloft::server::ParseCheckinDocument(body);
  const std::optional<aloft::server::CheckinRequest> scanned = aloft::server::ScanCheckin(body);
  if (scanned.has_value() != document.ok()) {
    std::abort();
  }
  if (scanned.has_value() && !(*scanned == document.value())) {
    std::abort();
  }
  return 0;
}
