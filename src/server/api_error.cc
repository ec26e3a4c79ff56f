#include "server/api_error.h"

namespace aloft::server {

HttpResponse ApiError::ToResponse() const {
  HttpResponse response = JsonError(status, code, message);
  if (status == 401) {
    response.headers.Set("WWW-Authenticate", "Bearer realm=\"aloft\"");
  }
  return response;
}

ApiError BadRequest(std::string message) { return {400, "bad_request", std::move(message)}; }

ApiError StatusToApiError(const Status& status, std::string_view code) {
  int http_status = 500;
  switch (status.code()) {
    case Status::Code::kInvalidArgument:
    case Status::Code::kOutOfRange:
    case Status::Code::kDataLoss:
      http_status = 400;
      break;
    case Status::Code::kUnauthenticated:
    case Status::Code::kPermissionDenied:
      http_status = 422;
      break;
    case Status::Code::kNotFound:
      http_status = 404;
      break;
    case Status::Code::kAlreadyExists:
    case Status::Code::kFailedPrecondition:
      http_status = 409;
      break;
    case Status::Code::kResourceExhausted:
      http_status = 507;
      break;
    case Status::Code::kUnavailable:
    case Status::Code::kDeadlineExceeded:
      http_status = 503;
      break;
    case Status::Code::kOk:
    case Status::Code::kUnimplemented:
    case Status::Code::kAborted:
    case Status::Code::kInternal:
      http_status = 500;
      break;
  }
  std::string message = status.reason();
  if (status.has_context()) {
    message += " (" + std::to_string(status.context()) + ")";
  }
  return {http_status, code.empty() ? std::string(CodeName(status.code())) : std::string(code),
          std::move(message)};
}

}  // namespace aloft::server
