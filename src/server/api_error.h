#pragma once
// ApiError: what an API handler answers when it refuses a request — an HTTP status, a short
// machine-readable code and a message for people, sent as {"error": {"code", "message"}}
// (http_types.h JsonError). ApiResult<T> is a value or an ApiError, for the steps of a handler
// that need a dynamic message (which field, which value) that a Status's literal reason cannot
// carry. StatusToApiError is the one table from Status codes to HTTP statuses.

#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "core/status.h"
#include "server/http/http_types.h"

namespace aloft::server {

struct ApiError {
  int status = 400;
  std::string code;
  std::string message;

  HttpResponse ToResponse() const;
};

// 400 "bad_request" with `message`.
ApiError BadRequest(std::string message);

// The HTTP status for a Status code: kInvalidArgument, kOutOfRange 400; kUnauthenticated 422
// (a signature that does not verify is a bad document, not a bad login); kPermissionDenied 422;
// kNotFound 404; kAlreadyExists, kFailedPrecondition 409; kResourceExhausted 507;
// kUnavailable, kDeadlineExceeded 503; anything else 500. `code` names the error
// ("invalid_release"; empty: the code's name, e.g. "not_found", "unavailable"), the message is
// the Status's reason, plus its context if any.
ApiError StatusToApiError(const Status& status, std::string_view code = {});

template <typename T>
class ApiResult {
 public:
  ApiResult(T value) : value_(std::move(value)) {}         // NOLINT: implicit on purpose
  ApiResult(ApiError error) : value_(std::move(error)) {}  // NOLINT

  bool ok() const { return value_.index() == 0; }
  T& value() { return std::get<0>(value_); }
  const T& value() const { return std::get<0>(value_); }
  T* operator->() { return &value(); }
  T& operator*() { return value(); }
  const ApiError& error() const { return std::get<1>(value_); }

 private:
  std::variant<T, ApiError> value_;
};

}  // namespace aloft::server
