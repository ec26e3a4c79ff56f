#include "core/port/transport_status.h"

#include <cstdint>

namespace aloft::port {

Status TransportStatusForHttp(int http_status) {
  const auto code = static_cast<uint32_t>(http_status);
  if (http_status == 401) {
    return Unauthenticated("transport: unauthenticated (401)", code);
  }
  if (http_status == 403) {
    return PermissionDenied("transport: permission denied (403)", code);
  }
  if (http_status == 404) {
    return NotFound("transport: not found (404)", code);
  }
  if (http_status == 416) {
    return OutOfRange("transport: range not satisfiable (416)", code);
  }
  if (http_status == 408 || http_status == 429 || (http_status >= 500 && http_status <= 599)) {
    return Unavailable("transport: server error", code);
  }
  if (http_status >= 400 && http_status <= 499) {
    return InvalidArgument("transport: request refused (4xx)", code);
  }
  return Unavailable("transport: unexpected status", code);
}

}  // namespace aloft::port
