#pragma once
// The data directory of aloftd: its layout, `aloft server init` (creating one), and reading the
// secrets it holds. Layout:
//   ca.pem             the CA devices pin (and that signs device client certificates)
//   ca.key             its private key (0600)
//   server.pem         the server's TLS certificate (SANs: the given host names and IPs)
//   server.key         its private key (0600)
//   device-master.key  64 hex digits: derives every device's freshness secret (0600)
//   admin.token        the first admin token (0600); only its SHA-256 is in the database
//   aloft.db           the SQLite database (unless aloftd.conf names PostgreSQL)
//   aloftd.conf        configuration (JSON, server_config.h)
//   artifacts/         firmware files by SHA-256 (artifact_store.h)
// Secrets are written with mode 0600 from the start (O_CREAT with the mode, never chmod
// afterwards), each atomically (temporary file, fsync, rename).

#include <filesystem>
#include <string>
#include <vector>

#include "core/result.h"
#include "server/credentials.h"
#include "server/store/store.h"

namespace aloft::server {

inline constexpr const char* kCaCertificateFile = "ca.pem";
inline constexpr const char* kCaKeyFile = "ca.key";
inline constexpr const char* kServerCertificateFile = "server.pem";
inline constexpr const char* kServerKeyFile = "server.key";
inline constexpr const char* kMasterKeyFile = "device-master.key";
inline constexpr const char* kAdminTokenFile = "admin.token";
inline constexpr const char* kDatabaseFile = "aloft.db";
inline constexpr const char* kConfigFile = "aloftd.conf";
inline constexpr const char* kArtifactDirectory = "artifacts";

struct InitOptions {
  std::filesystem::path data_dir;
  // Host names and IP addresses the server certificate names (SANs). Empty: localhost and
  // 127.0.0.1.
  std::vector<std::string> hostnames;
  std::string listen = "127.0.0.1:8443";  // written to aloftd.conf
};

struct InitResult {
  std::string admin_token;     // also in DATA/admin.token
  std::string ca_fingerprint;  // SHA-256 of ca.pem's text, hex (to show the operator)
};

// Creates a data directory. kAlreadyExists "server init: the data directory exists and is not
// empty"; kInvalidArgument "x509: bad alt name" (a host name that is neither a DNS name nor an
// IP); kUnavailable "server init: cannot write" (details logged); the store's errors. On
// failure, whatever it created is removed again.
Result<InitResult> InitDataDir(const InitOptions& options);

// DATA/device-master.key. kNotFound "data dir: cannot read device-master.key";
// kDataLoss "data dir: device-master.key is not 64 hex digits".
Result<MasterKey> ReadMasterKey(const std::filesystem::path& data_dir);
// DATA/admin.token (trailing whitespace ignored). kNotFound "data dir: cannot read
// admin.token"; kDataLoss "data dir: admin.token is not a token".
Result<std::string> ReadAdminToken(const std::filesystem::path& data_dir);
// Makes sure the store knows `token` (hashed) as an admin token named "admin": so a fresh
// PostgreSQL database accepts the data dir's token. Store errors as they come.
Status EnsureAdminToken(Store& store, const std::string& token, int64_t now_ms);

// Writes `text` to `path` atomically with `mode` (a temporary in the same directory created
// with that mode, fsync, rename). kUnavailable "data dir: cannot write" (details logged).
Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text, int mode);

}  // namespace aloft::server
