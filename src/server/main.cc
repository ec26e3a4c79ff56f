// aloftd: the update server. Reads DATA/aloftd.conf, applies the command-line overrides,
// starts (migrating the database and registering the data dir's admin token), then waits for
// SIGTERM or SIGINT and shuts down gracefully: stop accepting, finish requests in flight,
// flush buffered check-ins, close the database. CLI11 lives only in this file; this is the one
// place its exceptions are caught. docs/server.md describes running it.
//
//   aloftd --data DIR [--listen 127.0.0.1:8443] [--db sqlite|postgresql://...]
//          [--log-format text|json] [--log-level info] [--access-log]

#include <signal.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "server/aloftd.h"
#include "server/data_dir.h"
#include "server/log.h"
#include "server/server_config.h"

namespace {

using aloft::server::LogLevel;

struct Flags {
  std::string data_dir;
  std::string listen;
  std::string db;
  std::string log_format;
  std::string log_level;
  bool access_log = false;
};

int Run(const Flags& flags) {
  namespace server = aloft::server;
  const std::filesystem::path data_dir(flags.data_dir);
  std::ifstream file(data_dir / server::kConfigFile, std::ios::binary);
  server::ServerConfig config;
  if (file) {
    std::ostringstream text;
    text << file.rdbuf();
    server::ApiResult<server::ServerConfig> parsed = server::ParseServerConfig(text.str());
    if (!parsed.ok()) {
      std::fprintf(stderr, "aloftd: %s: %s\n", (data_dir / server::kConfigFile).c_str(),
                   parsed.error().message.c_str());
      return 1;
    }
    config = *parsed;
  } else if (!std::filesystem::is_directory(data_dir)) {
    std::fprintf(stderr,
                 "aloftd: %s: no such data directory (create one with `aloft server init`)\n",
                 flags.data_dir.c_str());
    return 1;
  }
  if (!flags.listen.empty()) {
    config.listen = flags.listen;
  }
  if (!flags.db.empty()) {
    config.db = flags.db;
  }
  if (!flags.log_format.empty()) {
    config.log_format = flags.log_format;
  }
  if (!flags.log_level.empty()) {
    config.log_level = flags.log_level;
  }
  config.access_log = config.access_log || flags.access_log;
  if (!server::ParseListenAddress(config.listen).ok()) {
    std::fprintf(stderr, "aloftd: --listen %s: must be ADDRESS:PORT\n", config.listen.c_str());
    return 2;
  }
  const auto format = server::ParseLogFormat(config.log_format);
  const auto level = server::ParseLogLevel(config.log_level);
  if (!format.ok() || !level.ok()) {
    std::fprintf(stderr, "aloftd: log format must be text or json, level error|warn|info|debug\n");
    return 2;
  }
  const std::string log_file = config.log_file.empty() ? "" : (data_dir / config.log_file).string();
  if (!server::ConfigureLog(*format, *level, log_file).ok()) {
    return 1;
  }

  // Block the stop signals in every thread the server starts; this thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  server::AloftdOptions options;
  options.data_dir = data_dir;
  options.config = config;
  aloft::Result<std::unique_ptr<server::Aloftd>> started = server::Aloftd::Start(options);
  if (!started.ok()) {
    std::fprintf(stderr, "aloftd: cannot start: %s\n", started.status().reason());
    server::ShutdownLog();
    return 1;
  }
  std::unique_ptr<server::Aloftd> aloftd = std::move(started).value();
  // For scripts and tests: the port actually bound (useful with :0).
  std::printf("aloftd listening on port %u\n", static_cast<unsigned>(aloftd->port()));
  std::fflush(stdout);

  int signal = 0;
  sigwait(&stop_signals, &signal);
  server::Log(LogLevel::kInfo, "stopping", {{"signal", signal == SIGTERM ? "SIGTERM" : "SIGINT"}});
  const aloft::Status stopped = aloftd->Stop(std::chrono::milliseconds(config.shutdown_grace_ms));
  aloftd.reset();
  server::ShutdownLog();
  return stopped.ok() ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("aloftd: the aloft update server (HTTPS API for devices and admins)", "aloftd");
  Flags flags;
  app.add_option("--data", flags.data_dir, "Data directory (from `aloft server init`)")->required();
  app.add_option("--listen", flags.listen, "ADDRESS:PORT to listen on (default 127.0.0.1:8443)");
  app.add_option("--db", flags.db,
                 "Database: sqlite (DATA/aloft.db), sqlite:PATH, postgresql://... or a conninfo");
  app.add_option("--log-format", flags.log_format, "Log lines: text (key=value) or json");
  app.add_option("--log-level", flags.log_level, "error, warn, info or debug");
  app.add_flag("--access-log", flags.access_log, "Log one line per request");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    (void)app.exit(error);
    return 2;
  }
  return Run(flags);
}
