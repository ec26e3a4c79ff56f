#include "server/data_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/log.h"
#include "core/try.h"
#include "ports/host/x509_certificate.h"
#include "server/server_config.h"

namespace aloft::server {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

Result<std::string> ReadSmallFile(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return NotFound("data dir: cannot read file");
  }
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string TrimRight(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ' ||
                           text.back() == '\t')) {
    text.pop_back();
  }
  return text;
}

Result<InitResult> Populate(const InitOptions& options) {
  const std::filesystem::path& dir = options.data_dir;
  std::vector<std::string> names = options.hostnames;
  if (names.empty()) {
    names = {"localhost", "127.0.0.1"};
  }
  host::CertificateRequest ca_request;
  ca_request.common_name = "aloft server CA";
  ca_request.role = host::CertificateRole::kCa;
  ca_request.lifetime = std::chrono::hours(24) * 3650;
  ALOFT_TRY_ASSIGN(host::X509Certificate ca, host::X509Certificate::Issue(ca_request, nullptr));
  host::CertificateRequest server_request;
  server_request.common_name = names.front().substr(0, 64);
  server_request.role = host::CertificateRole::kServer;
  server_request.alt_names = names;
  server_request.lifetime = std::chrono::hours(24) * 825;
  ALOFT_TRY_ASSIGN(host::X509Certificate server, host::X509Certificate::Issue(server_request, &ca));

  ALOFT_TRY_ASSIGN(const std::string ca_pem, ca.CertificatePem());
  ALOFT_TRY_ASSIGN(const std::string ca_key, ca.PrivateKeyPem());
  ALOFT_TRY_ASSIGN(const std::string server_pem, server.CertificatePem());
  ALOFT_TRY_ASSIGN(const std::string server_key, server.PrivateKeyPem());
  ALOFT_TRY_ASSIGN(const MasterKey master_key, GenerateMasterKey());
  ALOFT_TRY_ASSIGN(const std::string token, GenerateToken());

  ALOFT_TRY(WriteFileAtomically(dir / kCaCertificateFile, ca_pem, 0644));
  ALOFT_TRY(WriteFileAtomically(dir / kCaKeyFile, ca_key, 0600));
  // The chain the server presents: its certificate, then the CA (clients that pin the CA
  // need only the leaf, but a chain is what TLS expects).
  ALOFT_TRY(WriteFileAtomically(dir / kServerCertificateFile, server_pem + ca_pem, 0644));
  ALOFT_TRY(WriteFileAtomically(dir / kServerKeyFile, server_key, 0600));
  ALOFT_TRY(WriteFileAtomically(dir / kMasterKeyFile, HexEncode(master_key) + "\n", 0600));
  ALOFT_TRY(WriteFileAtomically(dir / kAdminTokenFile, token + "\n", 0600));
  ALOFT_TRY(WriteFileAtomically(dir / kConfigFile, DefaultServerConfigJson(options.listen), 0644));

  std::error_code ec;
  std::filesystem::create_directory(dir / kArtifactDirectory, ec);
  if (ec) {
    return Unavailable("server init: cannot write");
  }
  {
    ALOFT_TRY_ASSIGN(std::unique_ptr<Store> store,
                     OpenStore("sqlite:" + (dir / kDatabaseFile).string()));
    ALOFT_TRY(EnsureAdminToken(*store, token, NowMs()));
  }
  return InitResult{token, Sha256Hex(AsBytes(ca_pem))};
}

}  // namespace

Status WriteFileAtomically(const std::filesystem::path& path, std::string_view text, int mode) {
  const std::filesystem::path temp = path.string() + ".tmp";
  // Created with its final mode, so a secret is never readable by others, not even briefly.
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    ALOFT_LOG_ERROR("data dir: cannot create %s: %s", temp.c_str(), std::strerror(errno));
    return Unavailable("data dir: cannot write");
  }
  size_t written = 0;
  bool ok = ::fchmod(fd, static_cast<mode_t>(mode)) == 0;  // the umask may have narrowed it
  while (ok && written < text.size()) {
    const ssize_t n = ::write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    ok = n > 0;
    written += ok ? static_cast<size_t>(n) : 0;
  }
  ok = ok && ::fsync(fd) == 0;
  ok = (::close(fd) == 0) && ok;
  ok = ok && ::rename(temp.c_str(), path.c_str()) == 0;
  if (!ok) {
    ALOFT_LOG_ERROR("data dir: cannot write %s: %s", path.c_str(), std::strerror(errno));
    ::unlink(temp.c_str());
    return Unavailable("data dir: cannot write");
  }
  return OkStatus();
}

Result<InitResult> InitDataDir(const InitOptions& options) {
  const std::filesystem::path& dir = options.data_dir;
  std::error_code ec;
  bool created = false;
  if (std::filesystem::exists(dir, ec)) {
    if (!std::filesystem::is_directory(dir, ec) || !std::filesystem::is_empty(dir, ec)) {
      return AlreadyExists("server init: the data directory exists and is not empty");
    }
  } else {
    if (dir.has_parent_path()) {
      std::filesystem::create_directories(dir.parent_path(), ec);
    }
    if (::mkdir(dir.c_str(), 0700) != 0) {
      ALOFT_LOG_ERROR("server init: cannot create %s: %s", dir.c_str(), std::strerror(errno));
      return Unavailable("server init: cannot write");
    }
    created = true;
  }
  ::chmod(dir.c_str(), 0700);
  Result<InitResult> result = Populate(options);
  if (!result.ok()) {
    // Leave nothing half-made: an operator re-runs init on the same path.
    if (created) {
      std::filesystem::remove_all(dir, ec);
    } else {
      for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        std::filesystem::remove_all(entry.path(), ec);
      }
    }
  }
  return result;
}

Result<MasterKey> ReadMasterKey(const std::filesystem::path& data_dir) {
  Result<std::string> text = ReadSmallFile(data_dir / kMasterKeyFile);
  if (!text.ok()) {
    return NotFound("data dir: cannot read device-master.key");
  }
  const std::string hex = TrimRight(*text);
  const std::optional<std::string> bytes = HexDecode(hex);
  if (hex.size() != 2 * kMasterKeyBytes || !bytes.has_value()) {
    return DataLoss("data dir: device-master.key is not 64 hex digits");
  }
  MasterKey key{};
  for (size_t i = 0; i < key.size(); ++i) {
    key[i] = static_cast<std::byte>((*bytes)[i]);
  }
  return key;
}

Result<std::string> ReadAdminToken(const std::filesystem::path& data_dir) {
  Result<std::string> text = ReadSmallFile(data_dir / kAdminTokenFile);
  if (!text.ok()) {
    return NotFound("data dir: cannot read admin.token");
  }
  std::string token = TrimRight(*text);
  if (!IsWellFormedToken(token)) {
    return DataLoss("data dir: admin.token is not a token");
  }
  return token;
}

Status EnsureAdminToken(Store& store, const std::string& token, int64_t now_ms) {
  const std::string hash = TokenHash(token);
  Result<AdminToken> found = store.FindAdminTokenByHash(hash);
  if (found.ok()) {
    return OkStatus();
  }
  if (found.status().code() != Status::Code::kNotFound) {
    return found.status();
  }
  Result<int64_t> added = store.AddAdminToken("admin", hash, now_ms);
  // Another server starting against the same database may have added it first.
  if (!added.ok() && added.status().code() != Status::Code::kAlreadyExists) {
    return added.status();
  }
  return OkStatus();
}

}  // namespace aloft::server
