#include "support/test_pki.h"

#include <cstdio>
#include <memory>
#include <vector>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace aloft::testing {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

struct Issued {
  Key key;
  Cert cert;
};

bool Fail(const char* what) {
  std::fprintf(stderr, "test_pki: %s failed\n", what);
  ERR_print_errors_fp(stderr);
  return false;
}

bool AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX context;
  X509V3_set_ctx_nodb(&context);
  X509V3_set_ctx(&context, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &context, nid, value);
  if (extension == nullptr) {
    return Fail("X509V3_EXT_conf_nid");
  }
  bool ok = X509_add_ext(cert, extension, -1) == 1;
  X509_EXTENSION_free(extension);
  return ok || Fail("X509_add_ext");
}

// A certificate for a fresh P-256 key; self-signed when `issuer` is null.
std::optional<Issued> Issue(const std::string& cn, bool is_ca, const Issued* issuer,
                            const std::vector<std::pair<int, std::string>>& extensions,
                            long serial) {
  Issued out;
  out.key.reset(EVP_EC_gen("P-256"));
  out.cert.reset(X509_new());
  if (!out.key || !out.cert) {
    Fail("key or certificate allocation");
    return std::nullopt;
  }
  X509* cert = out.cert.get();
  X509_set_version(cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert), 24 * 3600);
  X509_set_pubkey(cert, out.key.get());
  X509_NAME* name = X509_get_subject_name(cert);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("aloft tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : cert;
  EVP_PKEY* issuer_key = issuer ? issuer->key.get() : out.key.get();
  X509_set_issuer_name(cert, X509_get_subject_name(issuer_cert));

  bool ok = AddExtension(cert, issuer_cert, NID_basic_constraints,
                         is_ca ? "critical,CA:TRUE" : "critical,CA:FALSE") &&
            AddExtension(cert, issuer_cert, NID_key_usage,
                         is_ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature") &&
            AddExtension(cert, issuer_cert, NID_subject_key_identifier, "hash") &&
            AddExtension(cert, issuer_cert, NID_authority_key_identifier, "keyid:always");
  for (const auto& [nid, value] : extensions) {
    ok = ok && AddExtension(cert, issuer_cert, nid, value.c_str());
  }
  if (!ok || X509_sign(cert, issuer_key, EVP_sha256()) == 0) {
    Fail("certificate signing");
    return std::nullopt;
  }
  return out;
}

bool WriteCert(const std::filesystem::path& path, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return Fail("fopen");
  }
  bool ok = PEM_write_X509(file, cert) == 1;
  std::fclose(file);
  return ok || Fail("PEM_write_X509");
}

bool WriteKey(const std::filesystem::path& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) {
    return Fail("fopen");
  }
  bool ok = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(file);
  return ok || Fail("PEM_write_PrivateKey");
}

}  // namespace

std::optional<TestPki> MakeTestPki(const std::filesystem::path& dir, const std::string& client_cn) {
  std::optional<Issued> ca = Issue("aloft test server CA", true, nullptr, {}, 1);
  std::optional<Issued> client_ca = Issue("aloft test device CA", true, nullptr, {}, 2);
  std::optional<Issued> other_ca = Issue("aloft test unrelated CA", true, nullptr, {}, 3);
  if (!ca || !client_ca || !other_ca) {
    return std::nullopt;
  }
  std::optional<Issued> server = Issue("localhost", false, &*ca,
                                       {{NID_subject_alt_name, "IP:127.0.0.1,IP:::1,DNS:localhost"},
                                        {NID_ext_key_usage, "serverAuth"}},
                                       10);
  std::optional<Issued> client =
      Issue(client_cn, false, &*client_ca, {{NID_ext_key_usage, "clientAuth"}}, 11);
  std::optional<Issued> rogue =
      Issue(client_cn, false, &*other_ca, {{NID_ext_key_usage, "clientAuth"}}, 12);
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
  bool ok = WriteCert(pki.ca_cert, ca->cert.get()) &&
            WriteCert(pki.server_cert, server->cert.get()) &&
            WriteKey(pki.server_key, server->key.get()) &&
            WriteCert(pki.client_ca_cert, client_ca->cert.get()) &&
            WriteCert(pki.client_cert, client->cert.get()) &&
            WriteKey(pki.client_key, client->key.get()) &&
            WriteCert(pki.other_ca_cert, other_ca->cert.get()) &&
            WriteCert(pki.rogue_client_cert, rogue->cert.get()) &&
            WriteKey(pki.rogue_client_key, rogue->key.get());
  if (!ok) {
    return std::nullopt;
  }
  return pki;
}

}  // namespace aloft::testing
