#include "ports/host/x509_certificate.h"

#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "support/status_testing.h"

namespace aloft::host {
namespace {

X509* Parse(const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  return cert;
}

TEST(X509Certificate, ServerCertificate_ChainsToItsCa_AndNamesItsHosts) {
  CertificateRequest ca_request;
  ca_request.common_name = "test CA";
  ca_request.role = CertificateRole::kCa;
  X509Certificate ca = X509Certificate::Issue(ca_request, nullptr).value();
  CertificateRequest request;
  request.common_name = "fleet.example";
  request.alt_names = {"fleet.example", "10.0.0.1", "::1"};
  X509Certificate server = X509Certificate::Issue(request, &ca).value();

  X509* ca_cert = Parse(ca.CertificatePem().value());
  X509* leaf = Parse(server.CertificatePem().value());
  ASSERT_NE(ca_cert, nullptr);
  ASSERT_NE(leaf, nullptr);
  X509_STORE* store = X509_STORE_new();
  X509_STORE_add_cert(store, ca_cert);
  X509_STORE_CTX* context = X509_STORE_CTX_new();
  X509_STORE_CTX_init(context, store, leaf, nullptr);
  X509_STORE_CTX_set_purpose(context, X509_PURPOSE_SSL_SERVER);
  EXPECT_EQ(X509_verify_cert(context), 1);
  EXPECT_EQ(X509_check_host(leaf, "fleet.example", 0, 0, nullptr), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "10.0.0.1", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(leaf, "::1", 0), 1);
  EXPECT_NE(X509_check_host(leaf, "other.example", 0, 0, nullptr), 1);
  X509_STORE_CTX_free(context);
  X509_STORE_free(store);
  X509_free(ca_cert);
  X509_free(leaf);
}

TEST(X509Certificate, FromPem_RoundTrips_AndChecksTheKey) {
  CertificateRequest ca_request;
  ca_request.common_name = "test CA";
  ca_request.role = CertificateRole::kCa;
  X509Certificate ca = X509Certificate::Issue(ca_request, nullptr).value();
  X509Certificate other = X509Certificate::Issue(ca_request, nullptr).value();
  Result<X509Certificate> loaded =
      X509Certificate::FromPem(ca.CertificatePem().value(), ca.PrivateKeyPem().value());
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->is_ca());
  EXPECT_STATUS(
      X509Certificate::FromPem(ca.CertificatePem().value(), other.PrivateKeyPem().value()).status(),
      InvalidArgument("x509: key does not match the certificate"));
  EXPECT_STATUS(X509Certificate::FromPem("nope", "nope").status(),
                InvalidArgument("x509: cannot read the certificate PEM"));
}

TEST(X509Certificate, Refusals) {
  CertificateRequest request;
  request.common_name = "";
  EXPECT_STATUS(X509Certificate::Issue(request, nullptr).status(),
                InvalidArgument("x509: common name is empty or too long"));
  request.common_name = "ok";
  request.alt_names = {"bad name"};
  EXPECT_STATUS(X509Certificate::Issue(request, nullptr).status(),
                InvalidArgument("x509: bad alt name"));
  request.alt_names = {};
  X509Certificate leaf = X509Certificate::Issue(request, nullptr).value();
  EXPECT_STATUS(X509Certificate::Issue(request, &leaf).status(),
                FailedPrecondition("x509: issuer is not a CA"));
}

TEST(IsIpAddressLiteral, Table) {
  EXPECT_TRUE(IsIpAddressLiteral("127.0.0.1"));
  EXPECT_TRUE(IsIpAddressLiteral("::1"));
  EXPECT_FALSE(IsIpAddressLiteral("localhost"));
  EXPECT_FALSE(IsIpAddressLiteral("1.2.3"));
}

}  // namespace
}  // namespace aloft::host
