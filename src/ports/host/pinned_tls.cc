#include "ports/host/pinned_tls.h"

#include <mutex>
#include <string_view>

namespace aloft::host {

Status CurlGlobalInitOnce() {
  static std::once_flag once;
  static CURLcode result = CURLE_OK;
  std::call_once(once, [] { result = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (result != CURLE_OK) {
    return Internal("curl: global initialization failed");
  }
  return OkStatus();
}

bool LooksLikePemCertificate(const std::string& pem) {
  return pem.find("-----BEGIN CERTIFICATE-----") != std::string::npos;
}

void ApplyPinnedTls(CURL* easy, const PinnedTlsOptions& options) {
  curl_blob ca{const_cast<char*>(options.ca_pem.data()), options.ca_pem.size(), CURL_BLOB_COPY};
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "https");
  curl_easy_setopt(easy, CURLOPT_CAINFO_BLOB, &ca);
  // No file or directory of CAs besides the blob: libcurl's built-in defaults would add the
  // operating system's store.
  curl_easy_setopt(easy, CURLOPT_CAINFO, nullptr);
  curl_easy_setopt(easy, CURLOPT_CAPATH, nullptr);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
  curl_easy_setopt(easy, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
  if (!options.client_certificate_path.empty()) {
    curl_easy_setopt(easy, CURLOPT_SSLCERT, options.client_certificate_path.c_str());
    curl_easy_setopt(easy, CURLOPT_SSLKEY, options.client_key_path.c_str());
  }
}

CertificateFailure ClassifyCertificateFailure(CURLcode code, const char* error_text) {
  if (code != CURLE_PEER_FAILED_VERIFICATION) {
    return CertificateFailure::kNone;
  }
  const std::string_view text = error_text == nullptr ? "" : error_text;
  if (text.find("target host name") != std::string_view::npos ||
      text.find("does not match") != std::string_view::npos) {
    return CertificateFailure::kWrongHost;
  }
  return CertificateFailure::kUntrustedCa;
}

}  // namespace aloft::host
