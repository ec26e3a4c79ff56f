// `aloft key gen|public|digest`: release keys for Secure Boot v2 signatures and manifests,
// compatible with espsecure (generate-signing-key, extract-public-key, digest-sbv2-public-key);
// `aloft key register`: register a project's release key on aloftd.

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

#include "cli/command.h"
#include "cli/io.h"
#include "cli/release_key_io.h"
#include "cli/server_client.h"
#include "ports/host/release_key.h"

namespace aloft::cli {
namespace {

// Writes a new file with mode 0600, refusing to replace an existing one (O_EXCL), so a key is
// never overwritten by accident. A partial file is removed on failure.
bool WriteNewSecretFile(const std::string& path, const std::string& text) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      ReportError(path + ": already exists; refusing to overwrite a key file");
    } else {
      ReportError("cannot write " + path + ": " + std::strerror(errno));
    }
    return false;
  }
  size_t written = 0;
  while (written < text.size()) {
    const ssize_t n = write(fd, text.data() + written, text.size() - written);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      const int saved = errno;
      close(fd);
      unlink(path.c_str());
      ReportError("cannot write " + path + ": " + std::strerror(saved));
      return false;
    }
    written += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    const int saved = errno;
    unlink(path.c_str());
    ReportError("cannot write " + path + ": " + std::strerror(saved));
    return false;
  }
  return true;
}

struct GenOptions {
  std::string type;
  std::string output;
};

int RunGen(const GenOptions& options) {
  const core::SignatureScheme scheme = options.type == "rsa-3072" ? core::SignatureScheme::kRsa3072
                                       : options.type == "ecdsa-p384"
                                           ? core::SignatureScheme::kEcdsaP384
                                           : core::SignatureScheme::kEcdsaP256;
  if (access(options.output.c_str(), F_OK) == 0) {
    return ReportError(options.output + ": already exists; refusing to overwrite a key file");
  }
  Result<host::ReleaseKey> key = host::ReleaseKey::Generate(scheme);
  if (!key.ok()) {
    return ReportFailure(options.type, key.status());
  }
  Result<std::string> pem = key->PrivatePem();
  if (!pem.ok()) {
    return ReportFailure(options.output, pem.status());
  }
  if (!WriteNewSecretFile(options.output, *pem)) {
    return kExitFailure;
  }
  std::printf("%s: new %s private key, key digest %s\n", options.output.c_str(),
              options.type.c_str(), DigestHex(key->key_digest()).c_str());
  return kExitOk;
}

struct PublicOptions {
  std::string input;
  std::string output;
};

int RunPublic(const PublicOptions& options) {
  std::optional<host::ReleaseKey> key = LoadReleaseKeyOrReport(options.input);
  if (!key.has_value()) {
    return kExitFailure;
  }
  Result<std::string> pem = key->PublicPem();
  if (!pem.ok()) {
    return ReportFailure(options.input, pem.status());
  }
  if (!WriteFileOrReport(options.output, AsBytes(*pem))) {
    return kExitFailure;
  }
  std::printf("%s: %s public key of %s\n", options.output.c_str(), core::SchemeName(key->scheme()),
              options.input.c_str());
  return kExitOk;
}

struct DigestOptions {
  std::string input;
  std::string output;
};

int RunDigest(const DigestOptions& options) {
  std::optional<host::ReleaseKey> key = LoadReleaseKeyOrReport(options.input);
  if (!key.has_value()) {
    return kExitFailure;
  }
  if (!options.output.empty() && !WriteFileOrReport(options.output, key->key_digest())) {
    return kExitFailure;
  }
  std::printf("%s\n", DigestHex(key->key_digest()).c_str());
  return kExitOk;
}

struct RegisterOptions {
  ServerOptions server;
  std::string project;
  std::string input;
};

int RunRegister(const RegisterOptions& options) {
  std::optional<host::ReleaseKey> key = LoadReleaseKeyOrReport(options.input);
  if (!key.has_value()) {
    return kExitFailure;
  }
  // Only the public half ever leaves this machine, whichever half the file holds.
  Result<std::string> pem = key->PublicPem();
  if (!pem.ok()) {
    return ReportFailure(options.input, pem.status());
  }
  std::optional<host::HttpsClient> client = ConnectOrReport(options.server);
  if (!client.has_value()) {
    return kExitFailure;
  }
  const std::string body = boost::json::serialize(boost::json::object{{"public_pem", *pem}});
  std::optional<boost::json::value> registered =
      CallOrReport(*client, options.server, "POST",
                   "/api/v1/projects/" + UrlEncode(options.project) + "/keys", body);
  if (!registered.has_value()) {
    return kExitFailure;
  }
  std::printf("%s: registered for project %s, key digest %s\n", options.input.c_str(),
              options.project.c_str(), DigestHex(key->key_digest()).c_str());
  return kExitOk;
}

}  // namespace

void AddKeyCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group =
      app.add_subcommand("key", "Release keys (Secure Boot v2, espsecure-compatible)");
  group->require_subcommand(1);

  auto gen = std::make_shared<GenOptions>();
  CLI::App* gen_cmd = group->add_subcommand(
      "gen", "Generate a private key in the PEM format espsecure writes (mode 0600)");
  gen_cmd->add_option("--type", gen->type, "Key type")
      ->required()
      ->check(CLI::IsMember({"ecdsa-p256", "ecdsa-p384", "rsa-3072"}));
  gen_cmd->add_option("-o,--output", gen->output, "Where to write the key (must not exist)")
      ->required();
  gen_cmd->callback([gen, &result] { result.exit_code = RunGen(*gen); });

  auto pub = std::make_shared<PublicOptions>();
  CLI::App* pub_cmd = group->add_subcommand(
      "public", "Write the public key (SubjectPublicKeyInfo PEM) of a private key");
  pub_cmd->add_option("key", pub->input, "Private (or public) key PEM")->required();
  pub_cmd->add_option("-o,--output", pub->output, "Where to write the public key")->required();
  pub_cmd->callback([pub, &result] { result.exit_code = RunPublic(*pub); });

  auto digest = std::make_shared<DigestOptions>();
  CLI::App* digest_cmd = group->add_subcommand(
      "digest",
      "Print the key's SHA-256 digest as a device stores it in eFuse (espsecure "
      "digest-sbv2-public-key)");
  digest_cmd->add_option("key", digest->input, "Private or public key PEM")->required();
  digest_cmd->add_option("-o,--output", digest->output,
                         "Also write the 32 raw digest bytes to this file, as espsecure does");
  digest_cmd->callback([digest, &result] { result.exit_code = RunDigest(*digest); });

  auto reg = std::make_shared<RegisterOptions>();
  CLI::App* reg_cmd = group->add_subcommand(
      "register",
      "Register a release public key for a project on aloftd (releases of the project must be "
      "signed by a registered key); a private key file is reduced to its public half first");
  AddServerOptions(*reg_cmd, reg->server);
  reg_cmd->add_option("--project", reg->project, "The project the key signs for")->required();
  reg_cmd->add_option("key", reg->input, "Public (or private) key PEM")->required();
  reg_cmd->callback([reg, &result] { result.exit_code = RunRegister(*reg); });
}

}  // namespace aloft::cli
