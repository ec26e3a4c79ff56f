#include "ports/host/curl_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <optional>

#include "core/port/transport_status.h"
#include "core/text.h"
#include "ports/host/pinned_tls.h"

namespace aloft::host {
namespace {

using Clock = std::chrono::steady_clock;

bool StartsWithIgnoreCase(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) {
    return false;
  }
  for (size_t i = 0; i < prefix.size(); ++i) {
    const char a = static_cast<char>(std::tolower(static_cast<unsigned char>(text[i])));
    const char b = static_cast<char>(std::tolower(static_cast<unsigned char>(prefix[i])));
    if (a != b) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) {
    text.remove_prefix(1);
  }
  while (!text.empty() && (text.back() == '\r' || text.back() == '\n' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.remove_suffix(1);
  }
  return text;
}

uint32_t Saturate32(uint64_t value) {
  return static_cast<uint32_t>(std::min<uint64_t>(value, std::numeric_limits<uint32_t>::max()));
}

// "bytes FIRST-LAST/TOTAL" (TOTAL may be "*"). nullopt if malformed.
struct ContentRange {
  uint64_t first = 0;
  uint64_t total = 0;  // 0: unknown
};
std::optional<ContentRange> ParseContentRange(std::string_view value) {
  if (!StartsWithIgnoreCase(value, "bytes ")) {
    return std::nullopt;
  }
  value.remove_prefix(6);
  const size_t dash = value.find('-');
  const size_t slash = value.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) {
    return std::nullopt;
  }
  std::optional<uint64_t> first = core::ParseDecimal(value.substr(0, dash));
  std::optional<uint64_t> last = core::ParseDecimal(value.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *last < *first) {
    return std::nullopt;
  }
  const std::string_view total_text = value.substr(slash + 1);
  ContentRange range{*first, 0};
  if (total_text != "*") {
    std::optional<uint64_t> total = core::ParseDecimal(total_text);
    if (!total || *total <= *last) {
      return std::nullopt;
    }
    range.total = *total;
  }
  return range;
}

}  // namespace

namespace internal {

// One request in flight: what the callbacks need and what they found.
struct CurlExchange {
  enum class Kind { kPost, kGet };
  Kind kind = Kind::kPost;
  std::string url;
  std::string_view body;
  uint32_t range_start = 0;
  uint32_t timeout_ms = 0;

  // POST
  ByteSpan response;
  size_t response_size = 0;
  bool response_overflow = false;
  std::span<port::HeaderCapture> captures;

  // GET
  port::ResponseSink* sink = nullptr;
  Status sink_status;  // a sink's refusal, returned unchanged
  bool started = false;

  // Both.
  long status = 0;  // of the response whose headers are being read
  std::optional<uint64_t> content_length;
  std::optional<ContentRange> content_range;
  bool malformed = false;
  std::string error_body;  // the start of a non-2xx body, for last_error
  uint64_t body_bytes = 0;

  // Stall detection (GET): the last time any byte moved, and whether we gave up waiting.
  Clock::time_point last_activity;
  curl_off_t last_received = 0;
  bool stalled = false;

  bool success_status() const { return status >= 200 && status <= 299; }
};

}  // namespace internal

namespace {

using Exchange = internal::CurlExchange;

void ResetResponse(Exchange& x) {
  x.content_length.reset();
  x.content_range.reset();
  x.malformed = false;
  for (port::HeaderCapture& capture : x.captures) {
    capture.size = 0;
    capture.present = false;
    capture.truncated = false;
  }
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  Exchange& x = *static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  const std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    // A new response (an interim 1xx, then the final one): start over.
    ResetResponse(x);
    const size_t space = line.find(' ');
    x.status = 0;
    if (space != std::string_view::npos && line.size() >= space + 4) {
      x.status = static_cast<long>(core::ParseDecimal(line.substr(space + 1, 3)).value_or(0));
    }
    return bytes;
  }
  const std::string_view trimmed = Trim(line);
  if (trimmed.empty()) {
    // End of a header block. The sink learns of a 2xx answer before its first body byte.
    if (x.kind == Exchange::Kind::kGet && x.success_status() && !x.started) {
      x.started = true;
      uint32_t first = 0;
      uint32_t total = 0;
      if (x.status == 206) {
        if (!x.content_range) {
          x.malformed = true;
          return 0;  // aborts the transfer
        }
        first = Saturate32(x.content_range->first);
        total = Saturate32(x.content_range->total);
      } else if (x.content_length) {
        total = Saturate32(*x.content_length);
      }
      x.sink_status = x.sink->OnStart(static_cast<uint16_t>(x.status), first, total);
      if (!x.sink_status.ok()) {
        return 0;
      }
    }
    return bytes;
  }
  const size_t colon = trimmed.find(':');
  if (colon == std::string_view::npos) {
    return bytes;
  }
  const std::string_view name = Trim(trimmed.substr(0, colon));
  const std::string_view value = Trim(trimmed.substr(colon + 1));
  if (name.size() == 14 && StartsWithIgnoreCase(name, "content-length")) {
    x.content_length = core::ParseDecimal(value);
  } else if (name.size() == 13 && StartsWithIgnoreCase(name, "content-range")) {
    x.content_range = ParseContentRange(value);
  }
  for (port::HeaderCapture& capture : x.captures) {
    if (capture.name.size() == name.size() && StartsWithIgnoreCase(name, capture.name)) {
      // The last occurrence wins.
      capture.present = true;
      capture.size = std::min(capture.value.size(), value.size());
      capture.truncated = capture.size < value.size();
      std::copy_n(value.begin(), capture.size, capture.value.begin());
    }
  }
  return bytes;
}

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  Exchange& x = *static_cast<Exchange*>(user);
  const size_t bytes = size * count;
  if (!x.success_status()) {
    // An error page: keep its start for people, never hand it to the caller.
    const size_t keep = std::min<size_t>(bytes, 256 - std::min<size_t>(256, x.error_body.size()));
    x.error_body.append(data, keep);
    return bytes;
  }
  if (x.kind == Exchange::Kind::kPost) {
    if (bytes > x.response.size() - x.response_size) {
      x.response_overflow = true;
      return 0;
    }
    std::memcpy(x.response.data() + x.response_size, data, bytes);
    x.response_size += bytes;
    x.body_bytes += bytes;
    return bytes;
  }
  x.body_bytes += bytes;
  x.sink_status = x.sink->OnData(ConstByteSpan(reinterpret_cast<const std::byte*>(data), bytes));
  return x.sink_status.ok() ? bytes : 0;
}

// Called by libcurl often during a transfer and about once a second while it waits.
int OnProgress(void* user, curl_off_t, curl_off_t received, curl_off_t, curl_off_t sent) {
  Exchange& x = *static_cast<Exchange*>(user);
  const Clock::time_point now = Clock::now();
  const curl_off_t moved = received + sent;
  if (moved != x.last_received) {
    x.last_received = moved;
    x.last_activity = now;
    return 0;
  }
  if (now - x.last_activity > std::chrono::milliseconds(x.timeout_ms)) {
    x.stalled = true;
    return 1;  // aborts the transfer
  }
  return 0;
}

Status StatusForCurl(CURLcode code, CertificateFailure certificate) {
  switch (certificate) {
    case CertificateFailure::kUntrustedCa:
      return Unavailable(port::kUntrustedServerReason);
    case CertificateFailure::kWrongHost:
      return Unavailable(kWrongHostReason);
    case CertificateFailure::kNone:
      break;
  }
  switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
      return Unavailable("transport: timed out");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
      return Unavailable("transport: connection failed");
    case CURLE_SSL_CONNECT_ERROR:
      return Unavailable("transport: TLS handshake failed");
    case CURLE_PARTIAL_FILE:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_BAD_CONTENT_ENCODING:
      return Unavailable("transport: connection lost");
    default:
      return Unavailable("transport: connection failed");
  }
}

}  // namespace

Result<std::unique_ptr<CurlTransport>> CurlTransport::Create(CurlTransportOptions options) {
  if (!options.base_url.starts_with("https://")) {
    return InvalidArgument("transport: base url must start with https://");
  }
  if (!LooksLikePemCertificate(options.ca_pem)) {
    return InvalidArgument("transport: no CA certificate");
  }
  while (options.base_url.ends_with("/")) {
    options.base_url.pop_back();
  }
  if (Status status = CurlGlobalInitOnce(); !status.ok()) {
    return status;
  }
  return std::unique_ptr<CurlTransport>(new CurlTransport(std::move(options)));
}

CurlTransport::CurlTransport(CurlTransportOptions options) : options_(std::move(options)) {}

CurlTransport::~CurlTransport() { CloseConnection(); }

void CurlTransport::CloseConnection() {
  if (easy_ != nullptr) {
    curl_easy_cleanup(easy_);
    easy_ = nullptr;
  }
}

Result<port::PostResult> CurlTransport::Post(std::string_view path, std::string_view json_body,
                                             ByteSpan response_body,
                                             std::span<port::HeaderCapture> headers,
                                             uint32_t timeout_ms) {
  internal::CurlExchange x;
  x.kind = Exchange::Kind::kPost;
  x.body = json_body;
  x.response = response_body;
  x.captures = headers;
  x.timeout_ms = timeout_ms;
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("transport: path must start with '/'");
  }
  x.url = options_.base_url + std::string(path);
  if (Status status = Perform(x); !status.ok()) {
    return status;
  }
  return port::PostResult{static_cast<uint16_t>(x.status), x.response_size};
}

Status CurlTransport::Get(std::string_view path, uint32_t range_start, port::ResponseSink& sink,
                          uint32_t timeout_ms) {
  internal::CurlExchange x;
  x.kind = Exchange::Kind::kGet;
  x.range_start = range_start;
  x.sink = &sink;
  x.timeout_ms = timeout_ms;
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("transport: path must start with '/'");
  }
  x.url = options_.base_url + std::string(path);
  return Perform(x);
}

Status CurlTransport::Perform(internal::CurlExchange& x) {
  ++counters_.requests;
  if (easy_ == nullptr) {
    easy_ = curl_easy_init();
    if (easy_ == nullptr) {
      ++counters_.failures;
      return Internal("transport: cannot create a curl handle");
    }
  }
  // Reset clears the options but keeps the connection cache, so a kept connection is reused.
  curl_easy_reset(easy_);
  char error_text[CURL_ERROR_SIZE] = "";
  curl_easy_setopt(easy_, CURLOPT_URL, x.url.c_str());
  curl_easy_setopt(easy_, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(easy_, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy_, CURLOPT_USERAGENT, options_.user_agent.c_str());
  ApplyPinnedTls(easy_, PinnedTlsOptions{options_.ca_pem, options_.client_certificate_path,
                                         options_.client_key_path});
  if (!options_.reuse_connection) {
    curl_easy_setopt(easy_, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(easy_, CURLOPT_FRESH_CONNECT, 1L);
  }
  const long timeout = static_cast<long>(std::max<uint32_t>(x.timeout_ms, 1));
  curl_easy_setopt(easy_, CURLOPT_CONNECTTIMEOUT_MS, timeout);

  curl_slist* list = nullptr;
  std::string authorization;
  if (!options_.bearer_token.empty()) {
    authorization = "Authorization: Bearer " + options_.bearer_token;
    list = curl_slist_append(list, authorization.c_str());
  }
  std::string range;
  if (x.kind == Exchange::Kind::kPost) {
    // The whole exchange is bounded; the body goes at once, without a 100-continue round trip.
    curl_easy_setopt(easy_, CURLOPT_TIMEOUT_MS, timeout);
    curl_easy_setopt(easy_, CURLOPT_POST, 1L);
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDS, x.body.data());
    curl_easy_setopt(easy_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(x.body.size()));
    list = curl_slist_append(list, "Content-Type: application/json");
    list = curl_slist_append(list, "Expect:");
  } else {
    curl_easy_setopt(easy_, CURLOPT_HTTPGET, 1L);
    if (x.range_start > 0) {
      range = "Range: bytes=" + std::to_string(x.range_start) + "-";
      list = curl_slist_append(list, range.c_str());
    }
    // A stall, not the length of the transfer, is what times a download out.
    x.last_activity = Clock::now();
    curl_easy_setopt(easy_, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(easy_, CURLOPT_XFERINFOFUNCTION, OnProgress);
    curl_easy_setopt(easy_, CURLOPT_XFERINFODATA, &x);
  }
  list = curl_slist_append(list, "Accept-Encoding: identity");
  curl_easy_setopt(easy_, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(easy_, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy_, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(easy_, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy_, CURLOPT_WRITEDATA, &x);

  const CURLcode code = curl_easy_perform(easy_);
  curl_slist_free_all(list);
  long connects = 0;
  curl_easy_getinfo(easy_, CURLINFO_NUM_CONNECTS, &connects);
  counters_.connections += static_cast<uint64_t>(connects);
  counters_.bytes_received += x.body_bytes;

  Status status;
  if (code != CURLE_OK) {
    last_error_ = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
    if (!x.sink_status.ok()) {
      status = x.sink_status;  // the sink's refusal, unchanged
    } else if (x.response_overflow) {
      status = ResourceExhausted("transport: response body larger than the buffer",
                                 static_cast<uint32_t>(x.response.size()));
    } else if (x.malformed) {
      status = Unavailable("transport: malformed Content-Range");
    } else if (x.stalled) {
      status = Unavailable("transport: timed out");
      last_error_ = "no data for " + std::to_string(x.timeout_ms) + " ms";
    } else {
      status = StatusForCurl(code, ClassifyCertificateFailure(code, error_text));
    }
  } else if (!x.success_status()) {
    status = port::TransportStatusForHttp(static_cast<int>(x.status));
    last_error_ = "HTTP " + std::to_string(x.status);
    if (!x.error_body.empty()) {
      last_error_ += ": " + x.error_body;
    }
  } else if (x.kind == Exchange::Kind::kGet && x.content_length &&
             x.body_bytes < *x.content_length) {
    // libcurl reports a short body as CURLE_PARTIAL_FILE; this guards the case it does not.
    status = Unavailable("transport: connection lost");
    last_error_ = "body ended early";
  } else {
    last_error_.clear();
  }
  if (!status.ok()) {
    ++counters_.failures;
  }
  if (!options_.reuse_connection) {
    CloseConnection();
  }
  return status;
}

}  // namespace aloft::host
