#pragma once
// CurlTransport: port::Transport (core/port/transport.h) on libcurl, for the emulated devices
// (`aloft device run`, the fleet simulator) and the host side of tests. It is built with
// everything the port says belongs to an implementation: the server's base URL, the one CA it
// pins (PEM text in memory, never the operating system's store: pinned_tls.h), the device's
// bearer token (or a client certificate). Requests name only a path.
//
// Timeouts, per call as the port specifies: Post's `timeout_ms` bounds the whole exchange; Get's
// bounds connecting (TCP and TLS) and then every wait for more bytes (a transfer that stays
// silent that long fails with "transport: timed out", one that keeps moving may take as long as
// it needs). libcurl checks a silent transfer about once a second, so a stall is noticed between
// timeout_ms and timeout_ms + 1 s.
//
// Errors: exactly the port's table. In particular a server whose certificate does not chain to
// the pinned CA (libcurl error 60) is kUnavailable port::kUntrustedServerReason, and one whose
// certificate chains but names another host is kUnavailable "transport: server certificate does
// not name this host"; last_error() then holds libcurl's own words for people.
//
// One connection is kept alive between calls unless `reuse_connection` is false (then every
// call opens and closes its own, as a device that sleeps between check-ins would).
// Not thread-safe: one call at a time (one object per device and thread).

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/bytes.h"
#include "core/port/transport.h"
#include "core/result.h"
#include "core/status.h"

typedef void CURL;

namespace aloft::host {

namespace internal {
struct CurlExchange;  // one request in flight (curl_transport.cc)
}  // namespace internal

inline constexpr const char* kWrongHostReason =
    "transport: server certificate does not name this host";

struct CurlTransportOptions {
  std::string base_url;                 // "https://host:port"; a trailing '/' is dropped
  std::string ca_pem;                   // the pinned CA certificate(s), PEM text
  std::string bearer_token;             // "Authorization: Bearer ..." when not empty
  std::string client_certificate_path;  // optional device certificate (PEM) ...
  std::string client_key_path;          // ... and its key
  bool reuse_connection = true;
  std::string user_agent = "aloft-agent/1";
};

// What the transport has done since it was created.
struct CurlTransportCounters {
  uint64_t requests = 0;
  uint64_t connections = 0;     // new connections opened (TCP + TLS handshakes)
  uint64_t bytes_received = 0;  // response bodies delivered (sink or buffer), 2xx only
  uint64_t failures = 0;        // calls that returned an error
};

class CurlTransport final : public port::Transport {
 public:
  // kInvalidArgument "transport: base url must start with https://", "transport: no CA
  // certificate" (no PEM certificate in ca_pem); kInternal "curl: global initialization
  // failed", "transport: cannot create a curl handle".
  static Result<std::unique_ptr<CurlTransport>> Create(CurlTransportOptions options);
  ~CurlTransport() override;

  Result<port::PostResult> Post(std::string_view path, std::string_view json_body,
                                ByteSpan response_body, std::span<port::HeaderCapture> headers,
                                uint32_t timeout_ms) override;
  Status Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink,
             uint32_t timeout_ms) override;

  // libcurl's message for the last failed call ("SSL certificate problem: unable to get local
  // issuer certificate"), or the HTTP status line's code; empty after a success.
  const std::string& last_error() const { return last_error_; }
  const CurlTransportCounters& counters() const { return counters_; }
  const std::string& base_url() const { return options_.base_url; }

  // Closes the connection kept alive, if any (the next call opens a new one) and frees its TLS
  // state: a device going to sleep.
  void CloseConnection();

 private:
  explicit CurlTransport(CurlTransportOptions options);
  Status Perform(internal::CurlExchange& exchange);

  CurlTransportOptions options_;
  CURL* easy_ = nullptr;  // created on first use, kept for the connection cache
  std::string last_error_;
  CurlTransportCounters counters_;
};

}  // namespace aloft::host
