#pragma once
// HttpsServer: HTTP/1.1 over TLS 1.2/1.3 (OpenSSL 3) for aloftd. It accepts connections,
// parses requests (Boost.Beast's parser), hands each complete request to a Router and writes the
// HttpResponse back, with keep-alive, limits, timeouts, optional client certificates, graceful
// stop and an access-log hook. It has no routes of its own: even /healthz exists only if the
// Router has it. Beast and Asio stay inside https_server.cc; this header is plain C++.
//
// Threads: `io_threads` threads, each running its own event loop (epoll); a connection stays
// on one thread for its life. Handlers run on the connection's I/O thread, since a check-in
// handler costs less than handing it to another thread would; with handler_threads > 0 they
// run on a pool of that size instead (for handlers that wait on a remote database).
//
// TLS runs on the socket itself (OpenSSL's fd BIO): every byte is encrypted once from the
// buffer it is in and written by OpenSSL straight to the socket. File bodies are read with
// pread into one per-response buffer and SSL_write-n from it, never loaded whole.
//
// Lifetime: construct, Start, then Stop (or destroy, which stops with no grace). The Router is
// moved in and lives as long as the server. Start ignores SIGPIPE process-wide (OpenSSL writes
// to sockets with write(2), and a peer that has gone must not kill the process).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "server/http/router.h"

namespace aloft::server {

// One line of the access log, passed to HttpsServerOptions::access_log after a response has
// been written (or has failed). The views live only during the call. Requests that could not
// be parsed have an empty method and path.
struct AccessLogEntry {
  std::string_view method;
  std::string_view path;  // without the query string (it may carry secrets)
  int status = 0;
  uint64_t body_bytes = 0;  // body bytes handed to TLS; 0 for HEAD, 304, or a failed write
  std::chrono::microseconds duration{0};  // from the request's first byte to its last response byte
  std::string_view remote_address;
  std::optional<std::string_view> client_cn;
  bool completed = true;  // false if the connection failed before the whole response was sent
};
// Called on an I/O thread, possibly from several threads at once: must be thread-safe and fast.
using AccessLogHook = std::function<void(const AccessLogEntry&)>;
// Chooses the body limit of one request from its method and raw target, as soon as the request
// line has arrived (so uploads can be allowed more than API calls). Called on an I/O thread:
// thread-safe and fast.
using BodyLimitHook = std::function<uint64_t(std::string_view method, std::string_view target)>;

struct HttpsServerOptions {
  std::string listen_address = "127.0.0.1";  // an IPv4 or IPv6 literal
  uint16_t port = 8443;                      // 0: an ephemeral port, see HttpsServer::port()
  std::string certificate_chain_path;        // PEM: the server certificate, then intermediates
  std::string private_key_path;              // PEM
  // PEM CA certificates; if set, clients may present a certificate. One that verifies against
  // these CAs is reported as HttpRequest::client_cn; one that does not fails the handshake;
  // none at all is fine. Empty: no client certificates are requested.
  std::string client_ca_path;

  int io_threads = 1;
  int handler_threads = 0;  // 0: handlers run on the I/O threads

  uint32_t max_header_bytes = 16 * 1024;  // request line + fields; over it → 431
  uint64_t max_body_bytes = 1 << 20;      // over it → 413, before the body is read
  BodyLimitHook body_limit;               // optional: a per-request limit instead of the above
  // Limits the TLS handshake, receiving one request once its first byte has arrived, and any
  // pause in sending a response (a client that stops reading). On expiry the connection closes.
  std::chrono::milliseconds request_timeout{30'000};
  // How long a keep-alive connection may wait for its next request.
  std::chrono::milliseconds idle_timeout{60'000};
  // Connections beyond this are accepted and closed at once.
  size_t max_connections = 10'000;
  // Size of the buffer a file body is read into and encrypted from, held only while a file is
  // being sent. 32 KiB measured as fast as 64 and 256 KiB (two TLS records per pread), with
  // half the memory per downloading connection.
  size_t file_chunk_bytes = 32 * 1024;

  AccessLogHook access_log;  // optional
};

class HttpsServer {
 public:
  HttpsServer(HttpsServerOptions options, Router router);
  HttpsServer(const HttpsServer&) = delete;
  HttpsServer& operator=(const HttpsServer&) = delete;
  // Stops with no grace period if still running.
  ~HttpsServer();

  // Loads the certificates, binds, listens and starts the threads. Errors (details are logged
  // with ALOFT_LOG_ERROR, naming the path or address):
  //   kInvalidArgument "https: bad options" (io_threads < 1, handler_threads < 0, a zero limit,
  //     no certificate or key path), "https: bad listen address",
  //     "https: cannot load certificate chain", "https: cannot load private key",
  //     "https: private key does not match certificate", "https: cannot load client CA";
  //   kUnavailable "https: cannot listen" with errno as context (port in use, no permission);
  //   kFailedPrecondition "https: already started".
  Status Start();

  // The bound port (the ephemeral one if options.port was 0). REQUIRES: Start succeeded.
  uint16_t port() const;

  // Graceful stop: stops accepting at once, closes idle keep-alive connections, lets requests
  // in flight (being received, handled or sent) finish with "Connection: close", and returns
  // when every connection is closed or `grace` has passed; then closes whatever is left and
  // joins the threads. A running handler cannot be interrupted: Stop waits for it to return.
  // Thread-safe and idempotent; call it from any thread except the server's own (a signal-
  // waiting thread is the intended caller).
  void Stop(std::chrono::milliseconds grace);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace aloft::server
