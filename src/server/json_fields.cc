#include "server/json_fields.h"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>

namespace aloft::server {

ApiResult<boost::json::object> ParseJsonObject(std::string_view body, std::string_view what) {
  boost::system::error_code ec;
  boost::json::parse_options options;
  options.max_depth = 32;
  boost::json::value value = boost::json::parse(body, ec, {}, options);
  if (ec) {
    return ApiError{400, "malformed_json",
                    std::string(what) + ": the body is not valid JSON (" + ec.message() + ")"};
  }
  if (!value.is_object()) {
    return ApiError{400, "not_an_object", std::string(what) + ": the body must be a JSON object"};
  }
  return std::move(value.as_object());
}

bool IsPrintableText(std::string_view text) {
  return std::none_of(text.begin(), text.end(), [](char c) {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7F;
  });
}

JsonFields::JsonFields(const boost::json::object& object, std::string what)
    : object_(object), what_(std::move(what)) {}

const boost::json::value* JsonFields::Find(std::string_view name, bool required) {
  known_.emplace_back(name);
  if (error_.has_value()) {
    return nullptr;
  }
  const boost::json::value* value = object_.if_contains(name);
  if (value == nullptr && required) {
    error_ =
        ApiError{400, "missing_field", what_ + ": field '" + std::string(name) + "' is missing"};
  }
  return value;
}

void JsonFields::WrongType(std::string_view name, std::string_view expected) {
  if (!error_.has_value()) {
    error_ =
        ApiError{400, "wrong_type",
                 what_ + ": field '" + std::string(name) + "' must be " + std::string(expected)};
  }
}

void JsonFields::Fail(std::string code, std::string message) {
  if (!error_.has_value()) {
    error_ = ApiError{400, std::move(code), what_ + ": " + message};
  }
}

void JsonFields::FailField(std::string_view name, std::string_view problem) {
  Fail("invalid_value", "field '" + std::string(name) + "' " + std::string(problem));
}

std::optional<std::string> JsonFields::OptionalString(std::string_view name, size_t max_bytes,
                                                      bool allow_empty) {
  const boost::json::value* value = Find(name, false);
  if (value == nullptr) {
    return std::nullopt;
  }
  if (!value->is_string()) {
    WrongType(name, "a string");
    return std::nullopt;
  }
  const boost::json::string& text = value->get_string();
  if ((!allow_empty && text.empty()) || text.size() > max_bytes) {
    FailField(name, "must be " + std::string(allow_empty ? "0" : "1") + " to " +
                        std::to_string(max_bytes) + " bytes");
    return std::nullopt;
  }
  if (!IsPrintableText(text)) {
    FailField(name, "contains a control character");
    return std::nullopt;
  }
  return std::string(text);
}

std::string JsonFields::String(std::string_view name, size_t max_bytes, bool allow_empty) {
  if (error_.has_value()) {
    known_.emplace_back(name);
    return {};
  }
  if (object_.if_contains(name) == nullptr) {
    Find(name, true);
    return {};
  }
  return OptionalString(name, max_bytes, allow_empty).value_or("");
}

std::optional<int64_t> JsonFields::OptionalInteger(std::string_view name, int64_t min,
                                                   int64_t max) {
  const boost::json::value* value = Find(name, false);
  if (value == nullptr || value->is_null()) {
    return std::nullopt;
  }
  int64_t number = 0;
  if (value->is_int64()) {
    number = value->get_int64();
  } else if (value->is_uint64()) {
    // Above INT64_MAX: out of every range we accept.
    FailField(name, "must be from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  } else {
    WrongType(name, "an integer");
    return std::nullopt;
  }
  if (number < min || number > max) {
    FailField(name, "must be from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return number;
}

int64_t JsonFields::Integer(std::string_view name, int64_t min, int64_t max) {
  if (!error_.has_value() && object_.if_contains(name) == nullptr) {
    Find(name, true);
    return min;
  }
  if (!error_.has_value() && object_.at(name).is_null()) {
    known_.emplace_back(name);
    WrongType(name, "an integer");
    return min;
  }
  return OptionalInteger(name, min, max).value_or(min);
}

std::optional<double> JsonFields::OptionalNumber(std::string_view name, double min, double max) {
  const boost::json::value* value = Find(name, false);
  if (value == nullptr || value->is_null()) {
    return std::nullopt;
  }
  if (!value->is_number()) {
    WrongType(name, "a number");
    return std::nullopt;
  }
  boost::system::error_code ec;
  const double number = value->to_number<double>(ec);
  if (ec || !std::isfinite(number) || number < min || number > max) {
    FailField(name, "must be a number from " + boost::json::serialize(boost::json::value(min)) +
                        " to " + boost::json::serialize(boost::json::value(max)));
    return std::nullopt;
  }
  return number;
}

double JsonFields::Number(std::string_view name, double min, double max) {
  if (!error_.has_value() && object_.if_contains(name) == nullptr) {
    Find(name, true);
    return min;
  }
  return OptionalNumber(name, min, max).value_or(min);
}

std::vector<std::string> JsonFields::OptionalStringArray(std::string_view name, size_t max_items,
                                                         size_t max_bytes) {
  const boost::json::value* value = Find(name, false);
  std::vector<std::string> out;
  if (value == nullptr) {
    return out;
  }
  if (!value->is_array()) {
    WrongType(name, "an array of strings");
    return out;
  }
  const boost::json::array& array = value->get_array();
  if (array.size() > max_items) {
    FailField(name, "has more than " + std::to_string(max_items) + " items");
    return {};
  }
  for (const boost::json::value& item : array) {
    if (!item.is_string()) {
      WrongType(name, "an array of strings");
      return {};
    }
    const boost::json::string& text = item.get_string();
    if (text.empty() || text.size() > max_bytes || !IsPrintableText(text)) {
      FailField(name, "items must be 1 to " + std::to_string(max_bytes) + " printable bytes");
      return {};
    }
    out.emplace_back(text);
  }
  return out;
}

const boost::json::value* JsonFields::Value(std::string_view name, bool required) {
  return Find(name, required);
}

std::optional<ApiError> JsonFields::Finish() {
  if (error_.has_value()) {
    return error_;
  }
  for (const auto& field : object_) {
    if (std::find(known_.begin(), known_.end(), std::string_view(field.key())) == known_.end()) {
      return ApiError{400, "unknown_field",
                      what_ + ": unknown field '" + std::string(field.key()) + "'"};
    }
  }
  return std::nullopt;
}

}  // namespace aloft::server
