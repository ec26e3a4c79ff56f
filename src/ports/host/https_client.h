#pragma once
// HttpsClient: HTTPS requests to aloftd with a pinned CA, over libcurl. The CA is given as PEM
// text and is the only trust anchor (never the operating system's store); the host name is
// checked against the server certificate. One client keeps one connection alive between
// requests. Used by the admin CLI and, later, by the device agent's host transport.
// Not thread-safe: one client per thread.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/bytes.h"
#include "core/result.h"

namespace aloft::host {

struct HttpsClientOptions {
  std::string base_url;                 // "https://host:port", no trailing slash needed
  std::string ca_pem;                   // the pinned CA certificate(s), PEM text
  std::string bearer_token;             // sent as "Authorization: Bearer ..." when not empty
  std::string client_certificate_path;  // optional device certificate (PEM) ...
  std::string client_key_path;          // ... and its key
  std::chrono::milliseconds connect_timeout{10'000};
  std::chrono::milliseconds timeout{120'000};  // a whole request, download included
};

struct HttpsReply {
  long status = 0;
  std::string body;                                          // empty when streamed to a sink
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case

  // The first header of that (lower-case) name, or nullptr.
  const std::string* Header(std::string_view name) const;
};

class HttpsClient {
 public:
  // kInvalidArgument "https: base url must start with https://", "https: no CA certificate";
  // kInternal "https: cannot initialize libcurl".
  static Result<HttpsClient> Create(HttpsClientOptions options);

  HttpsClient(HttpsClient&&) noexcept;
  HttpsClient& operator=(HttpsClient&&) noexcept;
  ~HttpsClient();

  // One request; `path` is appended to the base URL; `headers` are "Name: value" lines. Any
  // HTTP status is a reply (the caller judges it). Transport failures:
  //   kUnauthenticated "https: the server's certificate does not chain to the pinned CA"
  //   kUnauthenticated "https: the server's certificate does not name this host"
  //   kUnavailable     "https: cannot connect" / "https: TLS handshake failed" /
  //                    "https: transfer failed"
  //   kDeadlineExceeded "https: timed out"
  // last_error() then holds libcurl's own message, for people.
  Result<HttpsReply> Send(std::string_view method, std::string_view path,
                          std::string_view body = {}, const std::vector<std::string>& headers = {});

  // GET streamed into `sink` (return false to abort: the call then fails with kAborted
  // "https: download aborted by the sink"), from byte `offset` (a Range request when > 0).
  // The reply's body stays empty. Errors as Send.
  Result<HttpsReply> Download(std::string_view path, uint64_t offset,
                              const std::function<bool(ConstByteSpan)>& sink);

  const std::string& last_error() const { return last_error_; }

 private:
  struct Impl;
  explicit HttpsClient(std::unique_ptr<Impl> impl);
  Result<HttpsReply> Perform(std::string_view method, std::string_view path, std::string_view body,
                             const std::vector<std::string>& headers,
                             const std::function<bool(ConstByteSpan)>* sink);

  std::unique_ptr<Impl> impl_;
  std::string last_error_;
};

}  // namespace aloft::host
