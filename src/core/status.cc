#include "core/status.h"

namespace aloft {

const char* CodeName(Status::Code code) {
  switch (code) {
    case Status::Code::kOk:
      return "ok";
    case Status::Code::kInvalidArgument:
      return "invalid_argument";
    case Status::Code::kDataLoss:
      return "data_loss";
    case Status::Code::kUnauthenticated:
      return "unauthenticated";
    case Status::Code::kPermissionDenied:
      return "permission_denied";
    case Status::Code::kOutOfRange:
      return "out_of_range";
    case Status::Code::kFailedPrecondition:
      return "failed_precondition";
    case Status::Code::kNotFound:
      return "not_found";
    case Status::Code::kAlreadyExists:
      return "already_exists";
    case Status::Code::kUnavailable:
      return "unavailable";
    case Status::Code::kDeadlineExceeded:
      return "deadline_exceeded";
    case Status::Code::kResourceExhausted:
      return "resource_exhausted";
    case Status::Code::kUnimplemented:
      return "unimplemented";
    case Status::Code::kAborted:
      return "aborted";
    case Status::Code::kInternal:
      return "internal";
  }
  return "unknown";  // only reachable through a cast of an out-of-range integer
}

}  // namespace aloft
