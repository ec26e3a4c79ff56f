#include "ports/host/x509_certificate.h"

#include <arpa/inet.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <utility>

#include "core/log.h"

namespace aloft::host {
namespace {

Status OpensslFailure(const char* what) {
  char text[256] = "no OpenSSL error";
  if (unsigned long code = ERR_get_error(); code != 0) {
    ERR_error_string_n(code, text, sizeof(text));
  }
  ERR_clear_error();
  ALOFT_LOG_ERROR("x509: %s: %s", what, text);
  return Internal("x509: openssl failed");
}

bool AddExtension(X509* certificate, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, certificate, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value.c_str());
  if (extension == nullptr) {
    return false;
  }
  const bool ok = X509_add_ext(certificate, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok;
}

bool IsDnsNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '*';
}

Result<std::string> ToPem(int (*write)(BIO*, void*), void* object) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr || write(bio, object) != 1) {
    BIO_free(bio);
    return OpensslFailure("PEM write");
  }
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(size));
  BIO_free(bio);
  return pem;
}

}  // namespace

bool IsIpAddressLiteral(std::string_view text) {
  const std::string copy(text);
  unsigned char buffer[16];
  return inet_pton(AF_INET, copy.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, copy.c_str(), buffer) == 1;
}

Result<X509Certificate> X509Certificate::Issue(const CertificateRequest& request,
                                               const X509Certificate* issuer) {
  if (request.common_name.empty() || request.common_name.size() > 64) {
    return InvalidArgument("x509: common name is empty or too long");
  }
  if (issuer != nullptr && !issuer->is_ca()) {
    return FailedPrecondition("x509: issuer is not a CA");
  }
  std::string alt_names;
  for (const std::string& name : request.alt_names) {
    const bool ip = IsIpAddressLiteral(name);
    if (!ip && (name.empty() || name.size() > 253 ||
                !std::all_of(name.begin(), name.end(), IsDnsNameChar))) {
      return InvalidArgument("x509: bad alt name");
    }
    // Appended piece by piece: GCC 12's -Wrestrict misfires on `literal + std::string` at -O3.
    if (!alt_names.empty()) {
      alt_names += ',';
    }
    alt_names += ip ? "IP:" : "DNS:";
    alt_names += name;
  }

  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* certificate = X509_new();
  X509Certificate out(key, certificate, request.role);  // frees both on every return below
  if (key == nullptr || certificate == nullptr) {
    return OpensslFailure("key or certificate allocation");
  }
  unsigned char serial_bytes[16];
  if (RAND_bytes(serial_bytes, sizeof(serial_bytes)) != 1) {
    return OpensslFailure("serial");
  }
  serial_bytes[0] &= 0x7F;  // a positive INTEGER
  BIGNUM* serial = BN_bin2bn(serial_bytes, sizeof(serial_bytes), nullptr);
  const bool serial_ok = serial != nullptr &&
                         BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(certificate)) != nullptr;
  BN_free(serial);
  if (!serial_ok) {
    return OpensslFailure("serial");
  }
  X509_set_version(certificate, 2);
  X509_gmtime_adj(X509_getm_notBefore(certificate), -static_cast<long>(request.not_before.count()));
  X509_gmtime_adj(X509_getm_notAfter(certificate), static_cast<long>(request.lifetime.count()));
  X509_set_pubkey(certificate, key);
  X509_NAME* name = X509_get_subject_name(certificate);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(request.organization.c_str()),
                             -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(request.common_name.c_str()),
                             -1, -1, 0);
  X509* issuer_certificate = issuer != nullptr ? issuer->certificate_ : certificate;
  EVP_PKEY* issuer_key = issuer != nullptr ? issuer->key_ : key;
  X509_set_issuer_name(certificate, X509_get_subject_name(issuer_certificate));

  const bool is_ca = request.role == CertificateRole::kCa;
  bool ok =
      AddExtension(certificate, issuer_certificate, NID_basic_constraints,
                   is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
      AddExtension(certificate, issuer_certificate, NID_key_usage,
                   is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
      AddExtension(certificate, issuer_certificate, NID_subject_key_identifier, "hash") &&
      AddExtension(certificate, issuer_certificate, NID_authority_key_identifier, "keyid:always");
  if (ok && request.role == CertificateRole::kServer) {
    ok = AddExtension(certificate, issuer_certificate, NID_ext_key_usage, "serverAuth");
  }
  if (ok && request.role == CertificateRole::kClient) {
    ok = AddExtension(certificate, issuer_certificate, NID_ext_key_usage, "clientAuth");
  }
  if (ok && !alt_names.empty()) {
    ok = AddExtension(certificate, issuer_certificate, NID_subject_alt_name, alt_names);
  }
  if (!ok) {
    return OpensslFailure("extensions");
  }
  if (X509_sign(certificate, issuer_key, EVP_sha256()) == 0) {
    return OpensslFailure("signing");
  }
  return out;
}

Result<X509Certificate> X509Certificate::FromPem(std::string_view certificate_pem,
                                                 std::string_view private_key_pem) {
  BIO* cert_bio = BIO_new_mem_buf(certificate_pem.data(), static_cast<int>(certificate_pem.size()));
  X509* certificate = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
  BIO_free(cert_bio);
  BIO* key_bio = BIO_new_mem_buf(private_key_pem.data(), static_cast<int>(private_key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
  BIO_free(key_bio);
  ERR_clear_error();
  const bool ca = certificate != nullptr && X509_check_ca(certificate) != 0;
  X509Certificate out(key, certificate, ca ? CertificateRole::kCa : CertificateRole::kServer);
  if (certificate == nullptr) {
    return InvalidArgument("x509: cannot read the certificate PEM");
  }
  if (key == nullptr) {
    return InvalidArgument("x509: cannot read the key PEM");
  }
  if (X509_check_private_key(certificate, key) != 1) {
    ERR_clear_error();
    return InvalidArgument("x509: key does not match the certificate");
  }
  return out;
}

X509Certificate::X509Certificate(X509Certificate&& other) noexcept
    : key_(std::exchange(other.key_, nullptr)),
      certificate_(std::exchange(other.certificate_, nullptr)),
      role_(other.role_) {}

X509Certificate& X509Certificate::operator=(X509Certificate&& other) noexcept {
  if (this != &other) {
    EVP_PKEY_free(key_);
    X509_free(certificate_);
    key_ = std::exchange(other.key_, nullptr);
    certificate_ = std::exchange(other.certificate_, nullptr);
    role_ = other.role_;
  }
  return *this;
}

X509Certificate::~X509Certificate() {
  EVP_PKEY_free(key_);
  X509_free(certificate_);
}

Result<std::string> X509Certificate::CertificatePem() const {
  return ToPem(
      [](BIO* bio, void* object) { return PEM_write_bio_X509(bio, static_cast<X509*>(object)); },
      certificate_);
}

Result<std::string> X509Certificate::PrivateKeyPem() const {
  return ToPem(
      [](BIO* bio, void* object) {
        return PEM_write_bio_PrivateKey(bio, static_cast<EVP_PKEY*>(object), nullptr, nullptr, 0,
                                        nullptr, nullptr);
      },
      key_);
}

}  // namespace aloft::host
