#pragma once
// The HTTP request and response as API handlers see them: plain values with no Beast or Asio in
// sight, so handlers compile fast and are tested without sockets. The server (https_server.h)
// parses the wire into an HttpRequest and writes an HttpResponse back; the router (router.h)
// picks the Handler. Not thread-safe: each value belongs to one request at a time.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/fwd.hpp>

#include "core/result.h"

namespace aloft::server {

// An owned file descriptor, closed by the destructor. Move-only.
class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  // Gives up ownership without closing.
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// Header fields in arrival order. Names keep their case as given but every lookup ignores
// ASCII case, as HTTP field names are case-insensitive. Repeated fields are kept separately.
class HttpHeaders {
 public:
  using Field = std::pair<std::string, std::string>;

  void Add(std::string name, std::string value);
  // Replaces every field of that name with one.
  void Set(std::string name, std::string value);
  // Removes every field of that name.
  void Remove(std::string_view name);
  // Removes every field (the storage is kept for the next request).
  void Clear() { fields_.clear(); }
  // Room for `count` fields without reallocating (a hot handler that knows its answer's fields).
  void Reserve(size_t count) { fields_.reserve(count); }
  // The value of the first field of that name, or nullptr. The pointer lives as long as this
  // object is not modified.
  const std::string* Find(std::string_view name) const;
  bool Contains(std::string_view name) const { return Find(name) != nullptr; }

  size_t size() const { return fields_.size(); }
  bool empty() const { return fields_.empty(); }
  std::vector<Field>::const_iterator begin() const { return fields_.begin(); }
  std::vector<Field>::const_iterator end() const { return fields_.end(); }

 private:
  std::vector<Field> fields_;
};

// Name/value pairs (decoded query parameters or path parameters), in order.
using Params = std::vector<std::pair<std::string, std::string>>;

// A complete request; the body has been received whole (within the server's body limit).
struct HttpRequest {
  std::string method;  // as sent, case-sensitive ("GET", "POST")
  std::string target;  // the raw request-target ("/a/b?x=1")
  std::string path;    // target before '?', not percent-decoded (the router decodes parameters)
  Params query;        // decoded (application/x-www-form-urlencoded: '+' is a space)
  Params path_params;  // filled by Router::Dispatch from the route pattern, decoded
  HttpHeaders headers;
  std::string body;
  std::string remote_address;  // the peer's IP address ("127.0.0.1", "::1")
  uint16_t remote_port = 0;
  // Subject CN of the client certificate, present only if the client presented one and it
  // verified against the server's client CA.
  std::optional<std::string> client_cn;

  const std::string* Header(std::string_view name) const { return headers.Find(name); }
  // Back to a default-constructed request, keeping the strings' and vectors' storage, so a
  // keep-alive connection reuses one request object (fewer allocations per request). A new
  // member must be reset here too.
  void Clear();
  // The first query parameter of that name, or nullptr.
  const std::string* Query(std::string_view name) const;
  // The path parameter of that name ("{sha256}" → "sha256"), or nullptr.
  const std::string* PathParam(std::string_view name) const;
};

// A byte range of a file to send as the body. The server reads it with pread while sending and
// never loads it whole. Give either an open descriptor (the response owns it; the handler may
// have used it to fstat the file, so the bytes sent are those of the file it checked) or a path
// the server opens when it writes the response.
struct FileBody {
  UniqueFd fd;
  std::string path;     // used only if fd is not valid
  uint64_t offset = 0;  // first byte to send
  uint64_t length = 0;  // bytes to send: the Content-Length
  uint64_t total_size = 0;
};

// What a handler answers. The server sets Content-Length (from the body), Date and Connection
// itself; a handler's own fields of those names are ignored. For HEAD the server sends the
// headers (with the body's Content-Length) and no body. Move-only when it carries a file.
struct HttpResponse {
  int status = 200;
  HttpHeaders headers;
  std::variant<std::string, FileBody> body;

  const std::string* string_body() const { return std::get_if<std::string>(&body); }
  const FileBody* file_body() const { return std::get_if<FileBody>(&body); }
};

// A request handler. Synchronous: it runs on one of the server's I/O threads (or on its handler
// pool when HttpsServerOptions::handler_threads > 0), so it must not block for long. Handlers
// may run concurrently with each other and must be thread-safe.
using Handler = std::function<HttpResponse(const HttpRequest&)>;

// `status` with Content-Type application/json and the serialized value as body.
HttpResponse JsonResponse(int status, const boost::json::value& value);
// `status` with the body {"error": {"code": code, "message": message}}. Bytes of `message` that
// are not valid UTF-8 (a quoted path, say) become U+FFFD, so the body is always valid JSON.
HttpResponse JsonError(int status, std::string_view code, std::string_view message);

// ASCII case-insensitive equality, for field names and tokens.
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

// Percent-decodes `text`; with `plus_is_space` (query strings) '+' becomes ' '.
// kInvalidArgument "http: bad percent-encoding" on '%' not followed by two hex digits.
Result<std::string> PercentDecode(std::string_view text, bool plus_is_space);

// Splits a query string ("a=1&b=x%20y&flag") into decoded pairs; a name without '=' gets an
// empty value; empty pieces ("a=1&&b=2") are skipped. Fails as PercentDecode does.
Result<Params> ParseQuery(std::string_view query);

}  // namespace aloft::server
