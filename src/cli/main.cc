// The `aloft` command: builds the command tree from the groups and runs it. CLI11 throws on
// usage errors; this is the one adapter that catches them (exit 2) so no exception crosses
// into our code.

#include <CLI/CLI.hpp>

#include "cli/command.h"

int main(int argc, char** argv) {
  CLI::App app("aloft: secure over-the-air updates for ESP32 fleets", "aloft");
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Print help for every command");

  aloft::cli::CommandResult result;
  aloft::cli::AddPartitionCommands(app, result);
  aloft::cli::AddImageCommands(app, result);
  aloft::cli::AddFlashCommands(app, result);
  aloft::cli::AddDeviceCommands(app, result);
  aloft::cli::AddKeyCommands(app, result);
  aloft::cli::AddSignCommands(app, result);
  aloft::cli::AddReleaseCommands(app, result);
  aloft::cli::AddServerCommands(app, result);
  aloft::cli::AddRolloutCommands(app, result);
  aloft::cli::AddDevicesCommands(app, result);
  aloft::cli::AddFleetCommands(app, result);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& help) {
    return app.exit(help);
  } catch (const CLI::CallForAllHelp& help) {
    return app.exit(help);
  } catch (const CLI::ParseError& error) {
    (void)app.exit(error);
    return aloft::cli::kExitUsage;
  }
  return result.exit_code;
}
