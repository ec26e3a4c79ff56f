#pragma once
// The Transport port's error table for a final HTTP status that is not 2xx (transport.h), in
// one place for every implementation (libcurl on the host, esp_http_client on the chip), so
// the agent sees the same codes whichever one it runs on.

#include "core/status.h"

namespace aloft::port {

// 401 kUnauthenticated, 403 kPermissionDenied, 404 kNotFound, 416 kOutOfRange; 408, 429 and
// 5xx kUnavailable "transport: server error"; other 4xx kInvalidArgument; anything else (1xx
// as a final answer, 3xx: redirects are not followed, the server is pinned) kUnavailable
// "transport: unexpected status". The context is the status.
Status TransportStatusForHttp(int http_status);

}  // namespace aloft::port
