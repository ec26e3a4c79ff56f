#pragma once
// Strict reading of JSON request bodies with Boost.JSON's non-throwing API. ParseJsonObject
// turns a body into one object (or 400 "malformed_json"); JsonFields then reads its fields one
// getter at a time, each naming a field the caller allows, its type and range. The first
// problem is kept and every later getter returns a default, so a handler reads all its fields
// straight through and checks once: Finish() also refuses any field no getter asked for (400
// "unknown_field": a misspelt "min_verison" must not silently mean "no minimum"). Errors name
// the document and the field ("check-in: field 'nonce' must be a string"). Not thread-safe;
// the object must outlive the reader.

#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "server/api_error.h"

namespace aloft::server {

// The body as one JSON object. 400 "malformed_json" (with the parser's message) or
// "not_an_object". Nesting deeper than 32 levels is malformed.
ApiResult<boost::json::object> ParseJsonObject(std::string_view body, std::string_view what);

class JsonFields {
 public:
  // `what` names the document in messages ("check-in", "events[2]").
  JsonFields(const boost::json::object& object, std::string what);

  // Text fields: a JSON string of 1..max_bytes bytes (0.. when allow_empty) with no control
  // characters (below 0x20, or 0x7F). Missing: required → "missing_field"; optional → nullopt.
  std::string String(std::string_view name, size_t max_bytes, bool allow_empty = false);
  std::optional<std::string> OptionalString(std::string_view name, size_t max_bytes,
                                            bool allow_empty = false);
  // Integers: a JSON integer within [min, max] (a fraction or exponent is a wrong type).
  // OptionalInteger treats null like a missing field.
  int64_t Integer(std::string_view name, int64_t min, int64_t max);
  std::optional<int64_t> OptionalInteger(std::string_view name, int64_t min, int64_t max);
  // Numbers: any JSON number within [min, max].
  std::optional<double> OptionalNumber(std::string_view name, double min, double max);
  double Number(std::string_view name, double min, double max);
  // An array of 0..max_items strings, each as String would accept it. Missing → empty.
  std::vector<std::string> OptionalStringArray(std::string_view name, size_t max_items,
                                               size_t max_bytes);
  // The raw value (any type), marked as known; nullptr if missing (then "missing_field" when
  // required).
  const boost::json::value* Value(std::string_view name, bool required);

  // Records a problem found by the caller's own validation (if none is recorded yet).
  void Fail(std::string code, std::string message);
  // 400 "invalid_value" naming the field.
  void FailField(std::string_view name, std::string_view problem);

  bool ok() const { return !error_.has_value(); }
  // The first problem, or an "unknown_field" error for a field no getter asked for.
  std::optional<ApiError> Finish();

 private:
  const boost::json::value* Find(std::string_view name, bool required);
  void WrongType(std::string_view name, std::string_view expected);

  const boost::json::object& object_;
  std::string what_;
  std::vector<std::string> known_;
  std::optional<ApiError> error_;
};

// True if `text` has no control characters (below 0x20, or 0x7F).
bool IsPrintableText(std::string_view text);

}  // namespace aloft::server
