#include "ports/host/https_client.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <mutex>

namespace aloft::host {
namespace {

struct Transfer {
  HttpsReply* reply = nullptr;
  const std::function<bool(ConstByteSpan)>* sink = nullptr;
  bool sink_refused = false;
};

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  if (transfer->sink != nullptr) {
    // Only a successful answer's body is firmware; an error body is kept for the message.
    if (transfer->reply->status / 100 == 2) {
      if (!(*transfer->sink)(ConstByteSpan(reinterpret_cast<const std::byte*>(data), bytes))) {
        transfer->sink_refused = true;
        return 0;  // libcurl aborts the transfer
      }
      return bytes;
    }
  }
  transfer->reply->body.append(data, bytes);
  return bytes;
}

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  const size_t bytes = size * count;
  std::string_view line(data, bytes);
  if (line.starts_with("HTTP/")) {
    // A new response (after a redirect or 100 Continue): start over.
    transfer->reply->headers.clear();
    const size_t space = line.find(' ');
    if (space != std::string_view::npos) {
      transfer->reply->status =
          std::strtol(std::string(line.substr(space + 1, 3)).c_str(), nullptr, 10);
    }
    return bytes;
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return bytes;
  }
  std::string name(line.substr(0, colon));
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
    value.remove_prefix(1);
  }
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' ')) {
    value.remove_suffix(1);
  }
  transfer->reply->headers.emplace_back(std::move(name), std::string(value));
  return bytes;
}

Status StatusForCurl(CURLcode code) {
  switch (code) {
    case CURLE_PEER_FAILED_VERIFICATION:
      return Unauthenticated("https: the server's certificate does not chain to the pinned CA");
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
      return Unavailable("https: cannot connect");
    case CURLE_SSL_CONNECT_ERROR:
      return Unavailable("https: TLS handshake failed");
    case CURLE_OPERATION_TIMEDOUT:
      return DeadlineExceeded("https: timed out");
    default:
      return Unavailable("https: transfer failed");
  }
}

}  // namespace

const std::string* HttpsReply::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) {
      return &value;
    }
  }
  return nullptr;
}

struct HttpsClient::Impl {
  HttpsClientOptions options;
  CURL* easy = nullptr;
  ~Impl() { curl_easy_cleanup(easy); }
};

Result<HttpsClient> HttpsClient::Create(HttpsClientOptions options) {
  if (!options.base_url.starts_with("https://")) {
    return InvalidArgument("https: base url must start with https://");
  }
  if (options.ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
    return InvalidArgument("https: no CA certificate");
  }
  while (options.base_url.ends_with("/")) {
    options.base_url.pop_back();
  }
  // curl_global_init is not thread-safe on every build; once per process is its contract.
  static std::once_flag once;
  static CURLcode global = CURLE_OK;
  std::call_once(once, [] { global = curl_global_init(CURL_GLOBAL_DEFAULT); });
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->easy = global == CURLE_OK ? curl_easy_init() : nullptr;
  if (impl->easy == nullptr) {
    return Internal("https: cannot initialize libcurl");
  }
  return HttpsClient(std::move(impl));
}

HttpsClient::HttpsClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpsClient::HttpsClient(HttpsClient&&) noexcept = default;
HttpsClient& HttpsClient::operator=(HttpsClient&&) noexcept = default;
HttpsClient::~HttpsClient() = default;

Result<HttpsReply> HttpsClient::Send(std::string_view method, std::string_view path,
                                     std::string_view body,
                                     const std::vector<std::string>& headers) {
  return Perform(method, path, body, headers, nullptr);
}

Result<HttpsReply> HttpsClient::Download(std::string_view path, uint64_t offset,
                                         const std::function<bool(ConstByteSpan)>& sink) {
  std::vector<std::string> headers;
  if (offset > 0) {
    headers.push_back("Range: bytes=" + std::to_string(offset) + "-");
  }
  return Perform("GET", path, {}, headers, &sink);
}

Result<HttpsReply> HttpsClient::Perform(std::string_view method, std::string_view path,
                                        std::string_view body,
                                        const std::vector<std::string>& headers,
                                        const std::function<bool(ConstByteSpan)>* sink) {
  CURL* easy = impl_->easy;
  const HttpsClientOptions& options = impl_->options;
  // Reset clears the options but keeps the connection cache, so the next request reuses the
  // TLS connection.
  curl_easy_reset(easy);
  const std::string url = options.base_url + std::string(path);
  char error_text[CURL_ERROR_SIZE] = "";
  curl_blob ca{const_cast<char*>(options.ca_pem.data()), options.ca_pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, error_text);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
  curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);  // the pinned CA only
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, CURL_SSLVERSION_TLSv1_2);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, static_cast<long>(options.timeout.count()));
  if (!options.client_certificate_path.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, options.client_certificate_path.c_str());
    curl_easy_setopt(easy, CURLOPT_SSLKEY, options.client_key_path.c_str());
  }
  const std::string method_text(method);
  if (method == "HEAD") {
    curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  } else if (method == "GET") {
    curl_easy_setopt(easy, CURLOPT_HTTPGET, 1L);
  } else {
    curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method_text.c_str());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_slist* list = nullptr;
  std::string authorization;
  if (!options.bearer_token.empty()) {
    authorization = "Authorization: Bearer " + options.bearer_token;
    list = curl_slist_append(list, authorization.c_str());
  }
  // A body is sent at once: no "Expect: 100-continue" round trip.
  list = curl_slist_append(list, "Expect:");
  for (const std::string& header : headers) {
    list = curl_slist_append(list, header.c_str());
  }
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, list);

  HttpsReply reply;
  Transfer transfer{&reply, sink, false};
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, &transfer);
  const CURLcode code = curl_easy_perform(easy);
  curl_slist_free_all(list);
  if (code != CURLE_OK) {
    last_error_ = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
    if (transfer.sink_refused) {
      return Aborted("https: download aborted by the sink");
    }
    if (code == CURLE_PEER_FAILED_VERIFICATION &&
        last_error_.find("does not match") != std::string::npos) {
      return Unauthenticated("https: the server's certificate does not name this host");
    }
    return StatusForCurl(code);
  }
  last_error_.clear();
  curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

}  // namespace aloft::host
