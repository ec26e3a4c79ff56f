// `aloft flash ...`: placeholder registration; the command group is being built.

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace aloft::cli {

void AddFlashCommands(CLI::App& app, CommandResult& /*result*/) {
  app.add_subcommand("flash", "(not implemented yet)")->require_subcommand(1);
}

}  // namespace aloft::cli
