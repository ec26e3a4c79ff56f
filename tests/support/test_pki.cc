#include "support/test_pki.h"

#include <cstdio>
#include <fstream>

#include "ports/host/x509_certificate.h"

namespace aloft::testing {
namespace {

using host::CertificateRequest;
using host::CertificateRole;
using host::X509Certificate;

std::optional<X509Certificate> Issue(const std::string& cn, CertificateRole role,
                                     const X509Certificate* issuer,
                                     std::vector<std::string> alt_names = {}) {
  CertificateRequest request;
  request.common_name = cn;
  request.organization = "aloft tests";
  request.role = role;
  request.alt_names = std::move(alt_names);
  request.lifetime = std::chrono::hours(24);
  Result<X509Certificate> issued = X509Certificate::Issue(request, issuer);
  if (!issued.ok()) {
    std::fprintf(stderr, "test_pki: issuing %s failed: %s\n", cn.c_str(), issued.status().reason());
    return std::nullopt;
  }
  return std::move(issued).value();
}

bool WriteText(const std::filesystem::path& path, const Result<std::string>& text) {
  if (!text.ok()) {
    std::fprintf(stderr, "test_pki: PEM for %s failed\n", path.c_str());
    return false;
  }
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << *text;
  return static_cast<bool>(file);
}

bool WriteCert(const std::filesystem::path& path, const X509Certificate& certificate) {
  return WriteText(path, certificate.CertificatePem());
}

bool WriteKey(const std::filesystem::path& path, const X509Certificate& certificate) {
  return WriteText(path, certificate.PrivateKeyPem());
}

}  // namespace

std::optional<TestPki> MakeTestPki(const std::filesystem::path& dir, const std::string& client_cn) {
  std::optional<X509Certificate> ca = Issue("aloft test server CA", CertificateRole::kCa, nullptr);
  std::optional<X509Certificate> client_ca =
      Issue("aloft test device CA", CertificateRole::kCa, nullptr);
  std::optional<X509Certificate> other_ca =
      Issue("aloft test unrelated CA", CertificateRole::kCa, nullptr);
  if (!ca || !client_ca || !other_ca) {
    return std::nullopt;
  }
  std::optional<X509Certificate> server =
      Issue("localhost", CertificateRole::kServer, &*ca, {"127.0.0.1", "::1", "localhost"});
  std::optional<X509Certificate> client = Issue(client_cn, CertificateRole::kClient, &*client_ca);
  std::optional<X509Certificate> rogue = Issue(client_cn, CertificateRole::kClient, &*other_ca);
  if (!server || !client || !rogue) {
    return std::nullopt;
  }
  TestPki pki;
  pki.ca_cert = dir / "ca.pem";
  pki.server_cert = dir / "server.pem";
  pki.server_key = dir / "server.key";
  pki.client_ca_cert = dir / "client-ca.pem";
  pki.client_cert = dir / "client.pem";
  pki.client_key = dir / "client.key";
  pki.other_ca_cert = dir / "other-ca.pem";
  pki.rogue_client_cert = dir / "rogue.pem";
  pki.rogue_client_key = dir / "rogue.key";
  const bool ok = WriteCert(pki.ca_cert, *ca) && WriteCert(pki.server_cert, *server) &&
                  WriteKey(pki.server_key, *server) && WriteCert(pki.client_ca_cert, *client_ca) &&
                  WriteCert(pki.client_cert, *client) && WriteKey(pki.client_key, *client) &&
                  WriteCert(pki.other_ca_cert, *other_ca) &&
                  WriteCert(pki.rogue_client_cert, *rogue) &&
                  WriteKey(pki.rogue_client_key, *rogue);
  if (!ok) {
    return std::nullopt;
  }
  return pki;
}

}  // namespace aloft::testing
