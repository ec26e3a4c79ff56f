// `aloft server init|device-cert`: the data directory of aloftd (server/data_dir.h) — create
// one with its CA, server certificate, device master key, admin token, database and config;
// issue a device's client certificate with the data directory's CA.

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/io.h"
#include "ports/host/x509_certificate.h"
#include "server/data_dir.h"
#include "server/store/records.h"

namespace aloft::cli {
namespace {

struct InitOptions {
  std::string data_dir;
  std::vector<std::string> hostnames;
  std::string listen = "127.0.0.1:8443";
};

int RunInit(const InitOptions& options) {
  server::InitOptions init;
  init.data_dir = options.data_dir;
  init.hostnames = options.hostnames;
  init.listen = options.listen;
  Result<server::InitResult> result = server::InitDataDir(init);
  if (!result.ok()) {
    return ReportFailure(options.data_dir, result.status());
  }
  std::printf(
      "%s: new aloftd data directory\n"
      "  ca.pem             the CA devices pin (fingerprint sha256:%s)\n"
      "  server.pem         TLS certificate for %s\n"
      "  admin.token        admin token (mode 0600; stored hashed in aloft.db)\n"
      "  device-master.key  derives each device's freshness secret (mode 0600)\n"
      "  aloftd.conf        listen %s, database sqlite:aloft.db\n"
      "start it with: aloftd --data %s\n",
      options.data_dir.c_str(), result->ca_fingerprint.c_str(),
      options.hostnames.empty() ? "localhost, 127.0.0.1" : [&] {
        std::string names;
        for (const std::string& name : options.hostnames) {
          names += (names.empty() ? "" : ", ") + name;
        }
        return names;
      }().c_str(),
      options.listen.c_str(), options.data_dir.c_str());
  return kExitOk;
}

struct DeviceCertOptions {
  std::string data_dir;
  std::string id;
  std::string certificate_out;
  std::string key_out;
};

std::optional<std::string> ReadText(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    ReportError("cannot read " + path);
    return std::nullopt;
  }
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

int RunDeviceCert(const DeviceCertOptions& options) {
  if (!server::IsValidDeviceId(options.id)) {
    return ReportError("--id " + options.id + ": a device id is 1 to 64 of A-Z a-z 0-9 . _ -",
                       kExitUsage);
  }
  const std::filesystem::path dir(options.data_dir);
  const std::optional<std::string> ca_pem = ReadText((dir / server::kCaCertificateFile).string());
  const std::optional<std::string> ca_key = ReadText((dir / server::kCaKeyFile).string());
  if (!ca_pem || !ca_key) {
    return kExitFailure;
  }
  Result<host::X509Certificate> ca = host::X509Certificate::FromPem(*ca_pem, *ca_key);
  if (!ca.ok()) {
    return ReportFailure((dir / server::kCaCertificateFile).string(), ca.status());
  }
  host::CertificateRequest request;
  request.common_name = options.id;
  request.role = host::CertificateRole::kClient;
  request.lifetime = std::chrono::hours(24) * 3650;
  Result<host::X509Certificate> device = host::X509Certificate::Issue(request, &*ca);
  if (!device.ok()) {
    return ReportFailure(options.id, device.status());
  }
  Result<std::string> certificate = device->CertificatePem();
  Result<std::string> key = device->PrivateKeyPem();
  if (!certificate.ok() || !key.ok()) {
    return ReportFailure(options.id, certificate.ok() ? key.status() : certificate.status());
  }
  if (!WriteFileOrReport(options.certificate_out, AsBytes(*certificate)) ||
      !WriteFileOrReport(options.key_out, AsBytes(*key), 0600)) {
    return kExitFailure;
  }
  std::printf("%s: client certificate for device %s (key %s, mode 0600)\n",
              options.certificate_out.c_str(), options.id.c_str(), options.key_out.c_str());
  return kExitOk;
}

}  // namespace

void AddServerCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group = app.add_subcommand("server", "The update server's data directory");
  group->require_subcommand(1);

  auto init = std::make_shared<InitOptions>();
  CLI::App* init_cmd = group->add_subcommand(
      "init",
      "Create a data directory for aloftd: CA, server certificate, device master key, admin "
      "token, database and config (refuses an existing non-empty directory)");
  init_cmd->add_option("--data", init->data_dir, "The directory to create")->required();
  init_cmd
      ->add_option("--hostname", init->hostnames,
                   "Host name or IP address for the server certificate (repeatable; "
                   "default localhost and 127.0.0.1)")
      ->allow_extra_args(false);
  init_cmd->add_option("--listen", init->listen, "ADDRESS:PORT written to aloftd.conf")
      ->capture_default_str();
  init_cmd->callback([init, &result] { result.exit_code = RunInit(*init); });

  auto cert = std::make_shared<DeviceCertOptions>();
  CLI::App* cert_cmd = group->add_subcommand(
      "device-cert",
      "Issue a client certificate (CN = device id) with the data directory's CA, for devices "
      "that authenticate with a certificate instead of a token");
  cert_cmd->add_option("--data", cert->data_dir, "The data directory (holds ca.pem, ca.key)")
      ->required();
  cert_cmd->add_option("--id", cert->id, "Device id")->required();
  cert_cmd->add_option("--cert-out", cert->certificate_out, "Where to write the certificate")
      ->required();
  cert_cmd->add_option("--key-out", cert->key_out, "Where to write its private key (0600)")
      ->required();
  cert_cmd->callback([cert, &result] { result.exit_code = RunDeviceCert(*cert); });
}

}  // namespace aloft::cli
