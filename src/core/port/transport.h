#pragma once
// HTTPS to the update server, as the device agent needs it: POST a small JSON body and get the
// answer into a caller buffer (plus selected response headers), and GET a (partial) resource,
// its body streamed to a caller sink chunk by chunk. Implementations: host libcurl
// (src/ports/host), ESP-IDF esp_http_client; tests use a scripted fake.
//
// An implementation is configured when it is built, never through this interface: the server's
// base URL (requests name only a path, "/api/v1/check"), the one CA it pins (not the system
// store: the tutorial's `cert_pem`), and the device's credentials (an `Authorization: Bearer`
// token, or a client certificate), so secrets never pass through the agent. Paths are
// origin-relative and start with '/'.
//
// Errors map from what went wrong, so the agent can react by code alone. Every error that comes
// from an HTTP status carries that status as its context (Status::context()):
//   kUnavailable        transient: DNS, connect, reset, TLS handshake, timeout, a body cut short,
//                       5xx, 408 and 429 (context: the status, when there was one). Reasons:
//                       "transport: server certificate does not chain to the pinned CA" — kept
//                       distinct (kUntrustedServerReason) so a wrong CA is reported plainly;
//                       "transport: server certificate does not name this host";
//                       "transport: timed out"; "transport: connection failed"; "transport:
//                       TLS handshake failed"; "transport: connection lost"; "transport:
//                       server error"; "transport: unexpected status" (1xx/3xx as a final
//                       answer; context: the status).
//   kUnauthenticated    401 "transport: unauthenticated (401)"
//   kPermissionDenied   403 "transport: permission denied (403)"
//   kNotFound           404 "transport: not found (404)"
//   kOutOfRange         416 "transport: range not satisfiable (416)"
//   kInvalidArgument    any other 4xx "transport: request refused (4xx)"; also a path that does
//                       not start with '/' (no context)
//   kResourceExhausted  POST: the answer is larger than the caller's buffer
//                       "transport: response body larger than the buffer" (context: buffer size)
//   anything a GET sink returns, unchanged (the transfer is abandoned at once)
// Only 2xx answers reach the caller's buffer or sink.
//
// Not thread-safe: one call at a time per object. Blocking: each call returns when the exchange
// is over or has failed; it never retries on its own (the agent owns retries and back-off).

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::port {

inline constexpr const char* kUntrustedServerReason =
    "transport: server certificate does not chain to the pinned CA";

// A response header the caller wants back from a POST. The transport fills `value` (cut at
// value.size() bytes, which sets `truncated`) and `size`, and sets `present` when the header
// came (case-insensitive name match; the last occurrence wins).
struct HeaderCapture {
  std::string_view name;
  std::span<char> value;
  size_t size = 0;
  bool present = false;
  bool truncated = false;

  std::string_view text() const { return {value.data(), size}; }
};

struct PostResult {
  uint16_t http_status = 0;  // 2xx
  size_t body_size = 0;      // bytes of the answer now at the start of the caller's buffer
};

// Receives a GET body. The transport calls OnStart once, when a 2xx status and its headers
// arrived, then OnData for each chunk in order (chunks may have any size from 1 byte). A
// non-OK return from either abandons the transfer: Get returns that Status unchanged.
class ResponseSink {
 public:
  ResponseSink() = default;
  ResponseSink(const ResponseSink&) = delete;
  ResponseSink& operator=(const ResponseSink&) = delete;
  virtual ~ResponseSink() = default;

  // `first_byte`: the resource offset of the first body byte: 0 for a 200, the Content-Range
  // start for a 206. `total_size`: the resource's full size when the server said it
  // (Content-Length of a 200, the "/N" of a 206's Content-Range), else 0.
  virtual Status OnStart(uint16_t http_status, uint32_t first_byte, uint32_t total_size) = 0;
  virtual Status OnData(ConstByteSpan chunk) = 0;
};

class Transport {
 public:
  Transport() = default;
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;
  virtual ~Transport() = default;

  // POSTs `json_body` (Content-Type: application/json) to `path` and places the answer's body at
  // the start of `response_body`. Each capture in `headers` is filled from the answer's headers
  // (on success only). `timeout_ms` bounds the whole exchange, connection and TLS included.
  // Errors: as in the file comment. REQUIRES: every span outlives the call.
  virtual Result<PostResult> Post(std::string_view path, std::string_view json_body,
                                  ByteSpan response_body, std::span<HeaderCapture> headers,
                                  uint32_t timeout_ms) = 0;

  // GETs `path`; with `range_start` > 0 asks for the bytes from there to the end
  // (`Range: bytes=N-`). A server may ignore the range and answer 200 from byte 0: the sink
  // learns which from OnStart. `timeout_ms` bounds connecting and each wait for more data (a
  // stalled transfer fails with kUnavailable "transport: timed out"), not the whole transfer,
  // which may take as long as it keeps moving. A body that ends before its announced length is
  // kUnavailable "transport: connection lost". Returns OK when the whole body was delivered and
  // the sink accepted every chunk. Errors: as in the file comment.
  // REQUIRES: `sink` outlives the call.
  virtual Status Get(std::string_view path, uint32_t range_start, ResponseSink& sink,
                     uint32_t timeout_ms) = 0;
};

}  // namespace aloft::port
