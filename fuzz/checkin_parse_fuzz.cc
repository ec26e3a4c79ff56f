// Differential fuzzing of the two check-in parsers (server/checkin_request.h). For any body:
//   - whatever the SAX scanner accepts, the document parser accepts, with the same result;
//   - ParseCheckin (scan, else the document parser) answers exactly as the document parser;
//   - a body the document parser accepts is scanned too once its repeated keys are gone (the
//     scanner leaves a repeated key to the document parser, which keeps the last value), so
//     valid check-ins never take the slow path. Its serialized document is that body.
// A difference aborts.

#include <boost/json/serialize.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "server/checkin_request.h"
#include "server/json_fields.h"

namespace {

using aloft::server::ApiResult;
using aloft::server::CheckinRequest;

void Require(bool condition) {
  if (!condition) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const ApiResult<CheckinRequest> document = aloft::server::ParseCheckinDocument(body);
  const std::optional<CheckinRequest> scanned = aloft::server::ScanCheckin(body);
  if (scanned.has_value()) {
    Require(document.ok() && *scanned == document.value());
  }
  const ApiResult<CheckinRequest> combined = aloft::server::ParseCheckin(body);
  Require(combined.ok() == document.ok());
  if (document.ok()) {
    Require(combined.value() == document.value());
    ApiResult<boost::json::object> object = aloft::server::ParseJsonObject(body, "check-in");
    Require(object.ok());
    const std::string without_repeats = boost::json::serialize(object.value());
    const std::optional<CheckinRequest> rescanned = aloft::server::ScanCheckin(without_repeats);
    Require(rescanned.has_value() && *rescanned == document.value());
  } else {
    Require(combined.error().code == document.error().code &&
            combined.error().message == document.error().message);
  }
  return 0;
}
