#include "ports/esp-idf/http_client_transport.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <optional>

#include "core/port/transport_status.h"
#include "esp_http_client.h"
#include "esp_timer.h"
#include "esp_tls_errors.h"
#include "mbedtls/x509.h"
#include "ports/esp-idf/content_range.h"

namespace aloft::espidf {
namespace {

constexpr const char* kUserAgent = "aloft-agent/1 (esp-idf)";
// esp_http_client's own buffers: the receive one holds the status line and each header line.
constexpr int kReceiveBufferSize = 2048;
constexpr int kSendBufferSize = 1024;

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) {
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i];
    char y = b[i];
    x = (x >= 'A' && x <= 'Z') ? static_cast<char>(x - 'A' + 'a') : x;
    y = (y >= 'A' && y <= 'Z') ? static_cast<char>(y - 'A' + 'a') : y;
    if (x != y) {
      return false;
    }
  }
  return true;
}

// What the event handler collects during one call.
struct Exchange {
  std::span<port::HeaderCapture> captures;
  std::array<char, 96> content_range{};
  size_t content_range_size = 0;
  bool content_range_seen = false;
};

void ResetCaptures(std::span<port::HeaderCapture> captures) {
  for (port::HeaderCapture& capture : captures) {
    capture.size = 0;
    capture.present = false;
    capture.truncated = false;
  }
}

// Called by esp_http_client for each response header (the last occurrence wins, as the port
// says, because each one overwrites the capture).
esp_err_t OnEvent(esp_http_client_event_t* event) {
  if (event->event_id != HTTP_EVENT_ON_HEADER || event->user_data == nullptr ||
      event->header_key == nullptr || event->header_value == nullptr) {
    return ESP_OK;
  }
  Exchange& x = *static_cast<Exchange*>(event->user_data);
  const std::string_view name(event->header_key);
  const std::string_view value(event->header_value);
  for (port::HeaderCapture& capture : x.captures) {
    if (!EqualsIgnoreCase(name, capture.name)) {
      continue;
    }
    const size_t n = std::min(value.size(), capture.value.size());
    std::copy_n(value.data(), n, capture.value.data());
    capture.size = n;
    capture.truncated = n < value.size();
    capture.present = true;
  }
  if (EqualsIgnoreCase(name, "Content-Range")) {
    x.content_range_size = std::min(value.size(), x.content_range.size());
    std::copy_n(value.data(), x.content_range_size, x.content_range.data());
    x.content_range_seen = true;
  }
  return ESP_OK;
}

// The client of one call, cleaned up on every path.
class Client {
 public:
  Client() = default;
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  ~Client() {
    if (handle_ != nullptr) {
      esp_http_client_cleanup(handle_);
    }
  }
  void reset(esp_http_client_handle_t handle) { handle_ = handle; }
  esp_http_client_handle_t get() const { return handle_; }

 private:
  esp_http_client_handle_t handle_ = nullptr;
};

// Why esp_http_client_open failed, from what esp-tls recorded.
Status ConnectionFailure(esp_http_client_handle_t client, esp_err_t err) {
  int tls_code = 0;
  int tls_flags = 0;
  const esp_err_t tls = esp_http_client_get_and_clear_last_tls_error(client, &tls_code, &tls_flags);
  if ((tls_flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) != 0) {
    return Unavailable(port::kUntrustedServerReason);
  }
  if ((tls_flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) != 0) {
    return Unavailable(kWrongHostReason);
  }
  if (tls == ESP_ERR_ESP_TLS_CONNECTION_TIMEOUT || err == ESP_ERR_HTTP_EAGAIN) {
    return Unavailable("transport: timed out");
  }
  if (tls_flags != 0 || tls == ESP_ERR_MBEDTLS_SSL_HANDSHAKE_FAILED) {
    return Unavailable("transport: TLS handshake failed");
  }
  return Unavailable("transport: connection failed");
}

const Status kTimedOut = Unavailable("transport: timed out");
const Status kConnectionLost = Unavailable("transport: connection lost");

// Reads the status line and headers; returns the HTTP status.
Result<int> FetchHeaders(esp_http_client_handle_t client) {
  const int64_t fetched = esp_http_client_fetch_headers(client);
  if (fetched == -ESP_ERR_HTTP_EAGAIN) {
    return kTimedOut;
  }
  const int status = esp_http_client_get_status_code(client);
  if (fetched < 0 || status < 100) {
    return kConnectionLost;
  }
  return status;
}

uint64_t NowMs() { return static_cast<uint64_t>(esp_timer_get_time()) / 1000; }

// Post: gives the next step what is left of the exchange's budget.
Status SpendBudget(esp_http_client_handle_t client, uint64_t deadline_ms) {
  const uint64_t now = NowMs();
  if (now >= deadline_ms) {
    return kTimedOut;
  }
  esp_http_client_set_timeout_ms(client, static_cast<int>(deadline_ms - now));
  return OkStatus();
}

}  // namespace

Status HttpClientTransport::Init(const HttpClientTransportConfig& config) {
  std::string_view url = config.base_url;
  if (!url.starts_with("https://")) {
    return InvalidArgument("transport: base url must start with https://");
  }
  if (url.ends_with("/")) {
    url.remove_suffix(1);
  }
  if (url.size() > kMaxBaseUrlSize) {
    return InvalidArgument("transport: base url too long");
  }
  if (config.ca_pem == nullptr ||
      std::strstr(config.ca_pem, "-----BEGIN CERTIFICATE-----") == nullptr) {
    return InvalidArgument("transport: no CA certificate");
  }
  if (config.bearer_token.size() > kMaxTokenSize) {
    return InvalidArgument("transport: bearer token too long");
  }
  std::copy(url.begin(), url.end(), base_url_.begin());
  base_url_[url.size()] = '\0';
  base_url_size_ = url.size();
  authorization_[0] = '\0';
  if (!config.bearer_token.empty()) {
    std::snprintf(authorization_.data(), authorization_.size(), "Bearer %.*s",
                  static_cast<int>(config.bearer_token.size()), config.bearer_token.data());
  }
  ca_pem_ = config.ca_pem;
  return OkStatus();
}

namespace {

// Makes the client of one call: the URL (base + path), the pinned CA, the event handler that
// fills `exchange`, and the headers every request carries.
Status MakeClient(std::string_view base_url, std::string_view path, const char* ca_pem,
                  const char* authorization, esp_http_client_method_t method, uint32_t timeout_ms,
                  Exchange& exchange, Client& client) {
  if (path.empty() || path.front() != '/') {
    return InvalidArgument("transport: path must start with '/'");
  }
  std::array<char, 400> url{};
  if (base_url.size() + path.size() >= url.size()) {
    return InvalidArgument("transport: url too long");
  }
  std::copy(base_url.begin(), base_url.end(), url.begin());
  std::copy(path.begin(), path.end(), url.begin() + static_cast<ptrdiff_t>(base_url.size()));

  esp_http_client_config_t config = {};
  config.url = url.data();
  config.cert_pem = ca_pem;
  config.method = method;
  config.timeout_ms = static_cast<int>(std::max<uint32_t>(timeout_ms, 1));
  config.disable_auto_redirect = true;
  config.event_handler = OnEvent;
  config.user_data = &exchange;
  config.buffer_size = kReceiveBufferSize;
  config.buffer_size_tx = kSendBufferSize;
  config.user_agent = kUserAgent;
  client.reset(esp_http_client_init(&config));
  if (client.get() == nullptr) {
    return ResourceExhausted("transport: cannot create the http client");
  }
  if (authorization[0] != '\0' &&
      esp_http_client_set_header(client.get(), "Authorization", authorization) != ESP_OK) {
    return ResourceExhausted("transport: cannot create the http client");
  }
  if (esp_http_client_set_header(client.get(), "Accept-Encoding", "identity") != ESP_OK) {
    return ResourceExhausted("transport: cannot create the http client");
  }
  return OkStatus();
}

}  // namespace

Result<port::PostResult> HttpClientTransport::Post(std::string_view path,
                                                   std::string_view json_body,
                                                   ByteSpan response_body,
                                                   std::span<port::HeaderCapture> headers,
                                                   uint32_t timeout_ms) {
  ResetCaptures(headers);
  const uint64_t deadline_ms = NowMs() + timeout_ms;
  Exchange exchange;
  exchange.captures = headers;
  Client client;
  if (Status status =
          MakeClient({base_url_.data(), base_url_size_}, path, ca_pem_, authorization_.data(),
                     HTTP_METHOD_POST, timeout_ms, exchange, client);
      !status.ok()) {
    return status;
  }
  esp_http_client_handle_t c = client.get();
  if (esp_http_client_set_header(c, "Content-Type", "application/json") != ESP_OK) {
    return ResourceExhausted("transport: cannot create the http client");
  }
  const int body_size = static_cast<int>(json_body.size());
  if (const esp_err_t err = esp_http_client_open(c, body_size); err != ESP_OK) {
    return ConnectionFailure(c, err);
  }
  if (Status status = SpendBudget(c, deadline_ms); !status.ok()) {
    return status;
  }
  if (esp_http_client_write(c, json_body.data(), body_size) != body_size) {
    return kConnectionLost;
  }
  if (Status status = SpendBudget(c, deadline_ms); !status.ok()) {
    return status;
  }
  const Result<int> http_status = FetchHeaders(c);
  if (!http_status.ok()) {
    ResetCaptures(headers);
    return http_status.status();
  }
  if (*http_status < 200 || *http_status > 299) {
    ResetCaptures(headers);  // captures are filled on success only
    return port::TransportStatusForHttp(*http_status);
  }
  const int64_t announced = esp_http_client_get_content_length(c);
  if (announced > static_cast<int64_t>(response_body.size())) {
    ResetCaptures(headers);
    return ResourceExhausted("transport: response body larger than the buffer",
                             static_cast<uint32_t>(response_body.size()));
  }
  char* out = reinterpret_cast<char*>(response_body.data());
  size_t received = 0;
  for (;;) {
    if (Status status = SpendBudget(c, deadline_ms); !status.ok()) {
      ResetCaptures(headers);
      return status;
    }
    char probe = 0;
    const bool full = received == response_body.size();
    const int n = full ? esp_http_client_read(c, &probe, 1)
                       : esp_http_client_read(c, out + received,
                                              static_cast<int>(response_body.size() - received));
    if (n == -ESP_ERR_HTTP_EAGAIN) {
      ResetCaptures(headers);
      return kTimedOut;
    }
    if (n < 0) {
      ResetCaptures(headers);
      return kConnectionLost;
    }
    if (n == 0) {
      break;
    }
    if (full) {
      ResetCaptures(headers);
      return ResourceExhausted("transport: response body larger than the buffer",
                               static_cast<uint32_t>(response_body.size()));
    }
    received += static_cast<size_t>(n);
  }
  if (!esp_http_client_is_complete_data_received(c)) {
    ResetCaptures(headers);
    return kConnectionLost;
  }
  return port::PostResult{static_cast<uint16_t>(*http_status), received};
}

Status HttpClientTransport::Get(std::string_view path, uint32_t range_start,
                                port::ResponseSink& sink, uint32_t timeout_ms) {
  Exchange exchange;
  Client client;
  if (Status status =
          MakeClient({base_url_.data(), base_url_size_}, path, ca_pem_, authorization_.data(),
                     HTTP_METHOD_GET, timeout_ms, exchange, client);
      !status.ok()) {
    return status;
  }
  esp_http_client_handle_t c = client.get();
  if (range_start > 0) {
    char range[32];
    std::snprintf(range, sizeof(range), "bytes=%lu-", static_cast<unsigned long>(range_start));
    if (esp_http_client_set_header(c, "Range", range) != ESP_OK) {
      return ResourceExhausted("transport: cannot create the http client");
    }
  }
  if (const esp_err_t err = esp_http_client_open(c, 0); err != ESP_OK) {
    return ConnectionFailure(c, err);
  }
  const Result<int> http_status = FetchHeaders(c);
  if (!http_status.ok()) {
    return http_status.status();
  }
  if (*http_status < 200 || *http_status > 299) {
    return port::TransportStatusForHttp(*http_status);
  }
  uint32_t first_byte = 0;
  uint32_t total_size = 0;
  if (*http_status == 206) {
    const std::optional<ContentRange> range =
        exchange.content_range_seen
            ? ParseContentRange({exchange.content_range.data(), exchange.content_range_size})
            : std::nullopt;
    if (!range) {
      return Unavailable("transport: malformed Content-Range");
    }
    first_byte = range->first;
    total_size = range->total;
  } else {
    const int64_t length = esp_http_client_get_content_length(c);
    total_size = length > 0 && length <= UINT32_MAX ? static_cast<uint32_t>(length) : 0;
  }
  if (Status status = sink.OnStart(static_cast<uint16_t>(*http_status), first_byte, total_size);
      !status.ok()) {
    return status;
  }
  for (;;) {
    const int n = esp_http_client_read(c, chunk_.data(), static_cast<int>(chunk_.size()));
    if (n == -ESP_ERR_HTTP_EAGAIN) {
      return kTimedOut;
    }
    if (n < 0) {
      return kConnectionLost;
    }
    if (n == 0) {
      break;
    }
    const ConstByteSpan chunk(reinterpret_cast<const std::byte*>(chunk_.data()),
                              static_cast<size_t>(n));
    if (Status status = sink.OnData(chunk); !status.ok()) {
      return status;  // the sink's refusal, unchanged; the client is cleaned up on return
    }
  }
  if (!esp_http_client_is_complete_data_received(c)) {
    return kConnectionLost;
  }
  return OkStatus();
}

}  // namespace aloft::espidf
