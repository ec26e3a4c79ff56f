#pragma once
// HttpClientTransport: the Transport port (core/port/transport.h) on ESP-IDF's esp_http_client,
// pinned to one CA (`cert_pem`, the tutorial's embedded server certificate authority), with the
// device's bearer token. One esp_http_client per call (init, open, ..., cleanup): a device
// checks in rarely, so a fresh TLS session each time costs little and keeps no socket open.
//
// ESP-IDF calls, and how their results map onto the port's codes:
//   esp_http_client_init (url, cert_pem, timeout_ms, event_handler, no auto-redirect),
//   esp_http_client_set_header (Authorization, Content-Type, Range, Accept-Encoding)
//       NULL handle → kResourceExhausted "transport: cannot create the http client"
//   esp_http_client_open       connection and TLS; on failure esp_http_client_get_and_clear_
//       last_tls_error says why: X.509 verify flag NOT_TRUSTED → kUnavailable
//       port::kUntrustedServerReason (the certificate does not chain to the pinned CA);
//       CN_MISMATCH → kUnavailable kWrongHostReason; other verify flags or
//       ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED → kUnavailable "transport: TLS handshake failed";
//       ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT or ESP_ERR_HTTP_EAGAIN → kUnavailable "transport:
//       timed out"; anything else (DNS, refused, no route) → kUnavailable "transport:
//       connection failed"
//   esp_http_client_write      the POST body; short → kUnavailable "transport: connection lost"
//   esp_http_client_fetch_headers  -ESP_ERR_HTTP_EAGAIN → "transport: timed out"; no status
//       line → "transport: connection lost". Response headers arrive as HTTP_EVENT_ON_HEADER
//       events: the caller's HeaderCaptures and Content-Range are filled from them.
//   esp_http_client_get_status_code   not 2xx → the port's table (401, 403, 404, 416, 408/429/
//       5xx, other 4xx; 1xx/3xx → kUnavailable "transport: unexpected status"), context: status
//   esp_http_client_read       the body in 4 KiB chunks: -ESP_ERR_HTTP_EAGAIN → "transport:
//       timed out"; another error, or an end before esp_http_client_is_complete_data_received
//       → "transport: connection lost". A 206 without a valid Content-Range → kUnavailable
//       "transport: malformed Content-Range".
//   esp_http_client_set_timeout_ms   Post: the rest of the budget before each step, so
//       timeout_ms bounds the whole exchange; Get: timeout_ms for connecting and for every wait
//       for data (esp_http_client's own per-read timeout), not for the whole download.
//   esp_http_client_cleanup    always.
//
// esp_http_client allocates its own buffers (2 KiB receive, 1 KiB send); ours are members.
// Not thread-safe: one call at a time, as the port says.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "core/bytes.h"
#include "core/port/transport.h"
#include "core/result.h"
#include "core/status.h"

namespace aloft::espidf {

inline constexpr const char* kWrongHostReason =
    "transport: server certificate does not name this host";

struct HttpClientTransportConfig {
  std::string_view base_url;      // "https://host[:port]"; a trailing '/' is dropped
  const char* ca_pem = nullptr;   // NUL-terminated PEM; must outlive the transport
  std::string_view bearer_token;  // "Authorization: Bearer ..." when not empty
};

class HttpClientTransport final : public port::Transport {
 public:
  // Copies the URL and token. kInvalidArgument "transport: base url must start with https://",
  // "transport: no CA certificate" (no PEM certificate in ca_pem), "transport: base url too
  // long", "transport: bearer token too long".
  Status Init(const HttpClientTransportConfig& config);

  Result<port::PostResult> Post(std::string_view path, std::string_view json_body,
                                ByteSpan response_body, std::span<port::HeaderCapture> headers,
                                uint32_t timeout_ms) override;
  Status Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink,
             uint32_t timeout_ms) override;

 private:
  static constexpr size_t kMaxBaseUrlSize = 200;
  // "/api/v1/artifacts/<64 hex>" and friends: the agent's paths are at most 160 bytes.
  static constexpr size_t kMaxUrlSize = kMaxBaseUrlSize + 192;
  static constexpr size_t kMaxTokenSize = 256;
  static constexpr size_t kChunkSize = 4096;

  std::array<char, kMaxBaseUrlSize + 1> base_url_{};
  size_t base_url_size_ = 0;
  std::array<char, kMaxTokenSize + 8> authorization_{};  // "Bearer <token>\0", or empty
  const char* ca_pem_ = nullptr;
  std::array<char, kChunkSize> chunk_{};
};

}  // namespace aloft::espidf
