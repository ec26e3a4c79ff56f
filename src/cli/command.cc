#include "cli/command.h"

#include <cstdio>

namespace aloft::cli {

int ExitCodeFor(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return kExitOk;
    case Status::Code::kAborted:
      return kExitPowerCut;
    case Status::Code::kInvalidArgument:
    case Status::Code::kDataLoss:
    case Status::Code::kUnauthenticated:
    case Status::Code::kPermissionDenied:
    case Status::Code::kOutOfRange:
    case Status::Code::kFailedPrecondition:
    case Status::Code::kNotFound:
    case Status::Code::kAlreadyExists:
    case Status::Code::kUnavailable:
    case Status::Code::kDeadlineExceeded:
    case Status::Code::kResourceExhausted:
    case Status::Code::kUnimplemented:
    case Status::Code::kInternal:
      return kExitFailure;
  }
  return kExitFailure;
}

int ReportFailure(std::string_view subject, const Status& status) {
  std::fprintf(stderr, "aloft: %.*s: %s", static_cast<int>(subject.size()), subject.data(),
               status.reason());
  if (status.has_context()) {
    std::fprintf(stderr, " (at %u)", status.context());
  }
  std::fputc('\n', stderr);
  return ExitCodeFor(status);
}

int ReportError(std::string_view message, int exit_code) {
  std::fprintf(stderr, "aloft: %.*s\n", static_cast<int>(message.size()), message.data());
  return exit_code;
}

std::string Hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof text, "0x%x", value);
  return text;
}

}  // namespace aloft::cli
