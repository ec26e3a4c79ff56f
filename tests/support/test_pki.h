#pragma once
// A throwaway PKI for TLS tests: EC P-256 CAs and leaf certificates made with the OpenSSL API
// and written as PEM files into a directory the test owns (see TempDir). Valid from an hour ago
// for a day; every certificate is v3 with key identifiers, as a real CA would issue them.

#include <filesystem>
#include <optional>
#include <string>

namespace aloft::testing {

struct TestPki {
  std::filesystem::path ca_cert;      // the server CA that clients pin
  std::filesystem::path server_cert;  // CN=localhost, SAN 127.0.0.1, ::1, localhost
  std::filesystem::path server_key;
  std::filesystem::path client_ca_cert;  // the CA that signs device certificates
  std::filesystem::path client_cert;     // CN=<client_cn>, clientAuth, signed by client_ca
  std::filesystem::path client_key;
  std::filesystem::path other_ca_cert;      // an unrelated CA: a wrong pin
  std::filesystem::path rogue_client_cert;  // CN=<client_cn>, signed by the unrelated CA
  std::filesystem::path rogue_client_key;
};

// Generates all of the above into `dir`; nullopt (with the OpenSSL error on stderr) on failure.
std::optional<TestPki> MakeTestPki(const std::filesystem::path& dir,
                                   const std::string& client_cn = "device-42");

}  // namespace aloft::testing
