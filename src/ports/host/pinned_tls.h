#pragma once
// What every aloft HTTPS client on the host shares about libcurl: the process-wide
// curl_global_init, done once, and the TLS setup of an easy handle — the one CA given as PEM
// text is the only trust anchor (CURLOPT_CAINFO_BLOB; the operating system's store is never
// consulted), https only, TLS 1.2 or newer, the peer's chain and host name both verified, an
// optional client certificate — plus the reading of a certificate failure after a transfer, so
// "the server's certificate does not chain to the pinned CA" is told apart from "it does not
// name this host". Used by CurlTransport (the device agent's transport) and meant for the admin
// client (https_client.h) too. Thread-safe: plain functions over the caller's handle.

#include <curl/curl.h>

#include <string>

#include "core/status.h"

namespace aloft::host {

// curl_global_init(CURL_GLOBAL_DEFAULT) the first time it is called in the process (it is not
// thread-safe on every build, so never call it directly); later calls return the first result.
// kInternal "curl: global initialization failed".
Status CurlGlobalInitOnce();

struct PinnedTlsOptions {
  std::string ca_pem;                   // the pinned CA certificate(s), PEM text
  std::string client_certificate_path;  // optional client certificate (PEM) ...
  std::string client_key_path;          // ... and its key
};

// True if `pem` holds at least one PEM certificate block.
bool LooksLikePemCertificate(const std::string& pem);

// Applies the TLS options to `easy` (after a curl_easy_reset, before each transfer). The CA
// bytes are copied into the handle (CURL_BLOB_COPY), so `options` need not outlive the call.
void ApplyPinnedTls(CURL* easy, const PinnedTlsOptions& options);

enum class CertificateFailure {
  kNone,         // the transfer did not fail on the server's certificate
  kUntrustedCa,  // its chain does not lead to the pinned CA (or is expired, malformed...)
  kWrongHost,    // it chains to the pinned CA but does not name the host in the URL
};

// Classifies a failed transfer's CURLcode (60 = CURLE_PEER_FAILED_VERIFICATION) by libcurl's
// error text (CURLOPT_ERRORBUFFER): libcurl checks the host name itself, after OpenSSL verified
// the chain, and says "SSL: no alternative certificate subject name matches target host name"
// or "... does not match target host name"; anything else that fails verification (unknown
// issuer, expired, self-signed) is a chain that does not lead to the pinned CA. The handle's
// CURLINFO_SSL_VERIFYRESULT cannot tell them apart: it is not updated on a host-name failure.
CertificateFailure ClassifyCertificateFailure(CURLcode code, const char* error_text);

}  // namespace aloft::host
