#pragma once
// X.509 certificates for aloft's own small PKI, made with OpenSSL's API: the server CA that
// devices pin (`aloft server init`), the server's TLS certificate with its host names and IP
// addresses, and device client certificates (CN = device id) — and the throwaway PKIs of the
// TLS tests. Keys are EC P-256; every certificate is v3 with basic constraints, key usage,
// subject and authority key identifiers, and a random 128-bit serial. Move-only; one thread at
// a time per object.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

typedef struct evp_pkey_st EVP_PKEY;
typedef struct x509_st X509;

namespace aloft::host {

enum class CertificateRole : uint8_t {
  kCa,      // CA:TRUE, keyCertSign + cRLSign
  kServer,  // CA:FALSE, digitalSignature, extendedKeyUsage serverAuth
  kClient,  // CA:FALSE, digitalSignature, extendedKeyUsage clientAuth
};

struct CertificateRequest {
  std::string common_name;
  std::string organization = "aloft";
  CertificateRole role = CertificateRole::kServer;
  // Names for the subjectAltName: IPv4/IPv6 literals become IP entries, anything else DNS.
  std::vector<std::string> alt_names;
  // Valid from `not_before` ago (clock skew) for `lifetime`.
  std::chrono::seconds not_before{3600};
  std::chrono::seconds lifetime{std::chrono::hours(24) * 825};
};

class X509Certificate {
 public:
  // A fresh P-256 key and its certificate, signed by `issuer` (self-signed when null).
  // kInvalidArgument "x509: common name is empty or too long" (1..64 bytes), "x509: bad alt
  // name"; kFailedPrecondition "x509: issuer is not a CA"; kInternal "x509: openssl failed"
  // (the OpenSSL error is logged).
  static Result<X509Certificate> Issue(const CertificateRequest& request,
                                       const X509Certificate* issuer);
  // A certificate and its private key from PEM (to issue with a CA kept in files).
  // kInvalidArgument "x509: cannot read the certificate PEM", "x509: cannot read the key PEM",
  // "x509: key does not match the certificate".
  static Result<X509Certificate> FromPem(std::string_view certificate_pem,
                                         std::string_view private_key_pem);

  X509Certificate(X509Certificate&& other) noexcept;
  X509Certificate& operator=(X509Certificate&& other) noexcept;
  X509Certificate(const X509Certificate&) = delete;
  X509Certificate& operator=(const X509Certificate&) = delete;
  ~X509Certificate();

  Result<std::string> CertificatePem() const;
  // PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted: store it with mode 0600.
  Result<std::string> PrivateKeyPem() const;
  bool is_ca() const { return role_ == CertificateRole::kCa; }

 private:
  X509Certificate(EVP_PKEY* key, X509* certificate, CertificateRole role)
      : key_(key), certificate_(certificate), role_(role) {}

  EVP_PKEY* key_ = nullptr;
  X509* certificate_ = nullptr;
  CertificateRole role_ = CertificateRole::kServer;
};

// True if `text` is an IPv4 or IPv6 address literal.
bool IsIpAddressLiteral(std::string_view text);

}  // namespace aloft::host
