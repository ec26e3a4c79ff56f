// `aloft fleet sim`: many emulated devices against a real update server (emulator/fleet.h).
//
//   aloft fleet sim --server URL --ca CA.pem --token ADMIN_TOKEN --devices N --initial VERSION
//                   [--concurrency C] [--faults reset=P,stall=P,truncate=P,corrupt=P]
//                   [--until-idle] [--json] [--project P --chip C] [--id-prefix sim]
//                   [--check-interval SECONDS] [--timeout SECONDS] [--seed S] [--proxy]
//
// It registers the devices with the admin token, flashes each with the published release
// VERSION and lets them check in and update until --until-idle finds nothing left to do (every
// device up to date, or offered nothing: a halted rollout offers nothing), --timeout passes, or
// SIGINT/SIGTERM. A live progress line goes to stderr; the summary to stdout (--json: an
// object with devices, versions, updated, rolled_back, failed, bricked, bytes_downloaded,
// duration_s, p50_update_s, p99_update_s, and more). Exit codes: 0 done; 1 a device bricked or
// failed, --until-idle not reached before --timeout, or the setup failed (the server refused,
// no such release); 2 usage.

#include <aloft_backend/log.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <boost/json.hpp>
#include <csignal>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.h"
#include "cli/io.h"
#include "cli/json_output.h"
#include "emulator/fleet.h"

namespace aloft::cli {
namespace {

std::atomic<bool> g_stop{false};

extern "C" void OnFleetStopSignal(int) { g_stop = true; }

struct SimArgs {
  std::string server;
  std::string ca;
  std::string token;
  uint32_t devices = 0;
  std::string initial;
  uint32_t concurrency = 16;
  std::string faults;
  bool until_idle = false;
  bool json = false;
  std::string project;
  std::string chip;
  std::string id_prefix = "sim";
  double check_interval_s = 5;
  double timeout_s = 0;
  uint64_t seed = 1;
  bool proxy = false;
};

std::string Mib(uint64_t bytes) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return text;
}

void PrintProgress(const emulator::FleetProgress& p, bool tty) {
  static double last_line = -10;
  if (!tty && p.elapsed_s - last_line < 2) {
    return;  // a log file gets a line every 2 s, not a flood
  }
  last_line = p.elapsed_s;
  std::fprintf(stderr,
               "%s[%6.1fs] %u devices: %u idle, %u downloading, %u updated, %u rolled back, %u "
               "failed, %u bricked; %llu check-ins, %s, %llu faults%s",
               tty ? "\r" : "", p.elapsed_s, p.devices, p.settled, p.downloading, p.updated,
               p.rolled_back, p.failed, p.bricked, static_cast<unsigned long long>(p.checkins),
               Mib(p.bytes_downloaded).c_str(), static_cast<unsigned long long>(p.faults),
               tty ? "\033[K" : "\n");
  std::fflush(stderr);
}

boost::json::object SummaryJson(const emulator::FleetSummary& s) {
  boost::json::object versions;
  for (const auto& [version, count] : s.versions) {
    versions[version] = count;
  }
  boost::json::object json{{"devices", s.devices},
                           {"versions", std::move(versions)},
                           {"updated", s.updated},
                           {"rolled_back", s.rolled_back},
                           {"failed", s.failed},
                           {"bricked", s.bricked},
                           {"bytes_downloaded", s.bytes_downloaded},
                           {"duration_s", s.duration_s},
                           {"p50_update_s", s.p50_update_s},
                           {"p99_update_s", s.p99_update_s},
                           {"refused", s.refused},
                           {"idle", s.idle},
                           {"checkins", s.checkins},
                           {"initial", s.initial_version},
                           {"project", s.project},
                           {"chip", s.chip},
                           {"image_size", s.image_size},
                           {"agent_bytes", s.agent_bytes},
                           {"peak_rss_bytes", s.peak_rss_bytes}};
  if (s.proxy.has_value()) {
    boost::json::object faults;
    for (size_t kind = 1; kind < emulator::kFaultKindCount; ++kind) {
      faults[emulator::FaultKindName(static_cast<emulator::FaultKind>(kind))] =
          s.proxy->injected[kind];
    }
    json["proxy"] = boost::json::object{{"connections", s.proxy->connections},
                                        {"bytes_to_server", s.proxy->bytes_to_server},
                                        {"bytes_to_client", s.proxy->bytes_to_client},
                                        {"faults", std::move(faults)}};
  } else {
    json["proxy"] = nullptr;
  }
  return json;
}

void PrintSummaryText(const emulator::FleetSummary& s) {
  std::printf("fleet: %u devices (%s, %s), initially %s, %.1f s%s\n", s.devices, s.project.c_str(),
              s.chip.c_str(), s.initial_version.c_str(), s.duration_s, s.idle ? ", all idle" : "");
  std::printf("versions:");
  for (const auto& [version, count] : s.versions) {
    std::printf(" %s x%u", version.c_str(), count);
  }
  std::printf("\nupdated %u, rolled back %u, failed %u, bricked %u\n", s.updated, s.rolled_back,
              s.failed, s.bricked);
  std::printf(
      "downloaded %s (%.1f KiB per device, image %u bytes); update time p50 %.2f s, p99 "
      "%.2f s\n",
      Mib(s.bytes_downloaded).c_str(),
      s.devices == 0 ? 0.0 : static_cast<double>(s.bytes_downloaded) / 1024 / s.devices,
      s.image_size, s.p50_update_s, s.p99_update_s);
  if (s.proxy.has_value()) {
    std::printf(
        "faults injected: %llu (reset %llu, stall %llu, truncate %llu, corrupt %llu) over "
        "%llu connections\n",
        static_cast<unsigned long long>(s.proxy->faults()),
        static_cast<unsigned long long>(s.proxy->injected[1]),
        static_cast<unsigned long long>(s.proxy->injected[2]),
        static_cast<unsigned long long>(s.proxy->injected[3]),
        static_cast<unsigned long long>(s.proxy->injected[4]),
        static_cast<unsigned long long>(s.proxy->connections));
  }
}

int RunSim(const SimArgs& args) {
  Result<emulator::FaultSpec> faults = emulator::ParseFaultSpec(args.faults);
  if (!faults.ok()) {
    return ReportError("--faults " + args.faults + ": " + faults.status().reason(), kExitUsage);
  }
  std::optional<std::vector<std::byte>> ca = ReadFileOrReport(args.ca);
  if (!ca.has_value()) {
    return kExitFailure;
  }
  emulator::FleetOptions options;
  options.server_url = args.server;
  options.ca_pem.assign(reinterpret_cast<const char*>(ca->data()), ca->size());
  options.admin_token = args.token;
  while (!options.admin_token.empty() &&
         (options.admin_token.back() == '\n' || options.admin_token.back() == '\r')) {
    options.admin_token.pop_back();
  }
  options.devices = args.devices;
  options.initial_version = args.initial;
  options.project = args.project;
  options.chip = args.chip;
  options.concurrency = args.concurrency;
  options.faults = *faults;
  options.always_proxy = args.proxy;
  options.seed = args.seed;
  options.id_prefix = args.id_prefix;
  options.until_idle = args.until_idle;
  options.timeout_ms = static_cast<uint32_t>(args.timeout_s * 1000);
  options.check_interval_ms = static_cast<uint32_t>(args.check_interval_s * 1000);

  aloft_backend_set_log_level(-1);  // a thousand agents' logs would drown the progress line
  const bool tty = isatty(STDERR_FILENO) != 0;
  std::fprintf(stderr, "fleet: registering %u devices on %s and flashing them with %s...\n",
               args.devices, args.server.c_str(), args.initial.c_str());
  std::string error;
  Result<std::unique_ptr<emulator::Fleet>> fleet = emulator::Fleet::Prepare(options, &error);
  if (!fleet.ok()) {
    if (error.find("does not chain") != std::string::npos) {
      return ReportError(args.server + ": the server's certificate does not chain to " + args.ca);
    }
    return ReportError(error);
  }
  g_stop = false;
  std::signal(SIGINT, OnFleetStopSignal);
  std::signal(SIGTERM, OnFleetStopSignal);
  const emulator::FleetSummary summary =
      (*fleet)->Run(g_stop, [tty](const emulator::FleetProgress& p) { PrintProgress(p, tty); });
  if (tty) {
    std::fputc('\n', stderr);
  }
  if (args.json) {
    PrintJson(SummaryJson(summary));
  } else {
    PrintSummaryText(summary);
  }
  std::fflush(stdout);
  if (summary.bricked > 0 || summary.failed > 0) {
    return ReportError("fleet: " + std::to_string(summary.bricked) + " device(s) bricked, " +
                       std::to_string(summary.failed) + " failed");
  }
  if (args.until_idle && !summary.idle && !g_stop) {
    return ReportError("fleet: --timeout passed before every device was idle");
  }
  return kExitOk;
}

}  // namespace

void AddFleetCommands(CLI::App& app, CommandResult& result) {
  CLI::App* group = app.add_subcommand("fleet", "Many emulated devices against an update server");
  group->require_subcommand(1);
  auto args = std::make_shared<SimArgs>();
  CLI::App* sim = group->add_subcommand(
      "sim",
      "Register N emulated devices, flash them with a published release, and let them check in "
      "and update (real TLS, the real agent and boot logic; optional network faults)");
  sim->add_option("--server", args->server, "Server URL (https://host:port)")->required();
  sim->add_option("--ca", args->ca, "CA certificate the devices pin (DATA/ca.pem)")->required();
  sim->add_option("--token", args->token, "Admin token (DATA/admin.token), to register devices")
      ->required();
  sim->add_option("--devices", args->devices, "How many devices")
      ->required()
      ->check(CLI::Range(1u, 100000u));
  sim->add_option("--initial", args->initial,
                  "The published release every device starts on (its project and chip are the "
                  "fleet's)")
      ->required();
  sim->add_option("--concurrency", args->concurrency,
                  "Worker threads: devices talking to the server at once (default 16)")
      ->check(CLI::Range(1u, 1024u));
  sim->add_option("--faults", args->faults,
                  "Per-connection fault probabilities, e.g. reset=0.05,stall=0.01,truncate=0.05,"
                  "corrupt=0.05 (a fault-injecting proxy on loopback)");
  sim->add_flag("--until-idle", args->until_idle,
                "Stop once no device has anything left to do (all up to date, or the rollout "
                "halted)");
  sim->add_flag("--json", args->json, "Print the summary as JSON");
  sim->add_option("--project", args->project, "The release's project, if VERSION is ambiguous");
  sim->add_option("--chip", args->chip, "The release's chip, if VERSION is ambiguous");
  sim->add_option("--id-prefix", args->id_prefix, "Device ids are PREFIX-0001, ... (default sim)");
  sim->add_option("--check-interval", args->check_interval_s,
                  "Seconds between a device's check-ins (default 5; 20% jitter)")
      ->check(CLI::Range(0.1, 86400.0));
  sim->add_option("--timeout", args->timeout_s, "Stop after this many seconds (default: never)")
      ->check(CLI::Range(0.0, 1e6));
  sim->add_option("--seed", args->seed, "Seed of the faults and the devices' randomness");
  sim->add_flag("--proxy", args->proxy,
                "Route through the proxy even without faults (the summary then counts the "
                "bytes on the wire)");
  sim->callback([args, &result] { result.exit_code = RunSim(*args); });
}

}  // namespace aloft::cli
