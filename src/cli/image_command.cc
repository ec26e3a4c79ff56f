// `aloft image ...`: placeholder registration; the command group is being built.

#include <CLI/CLI.hpp>

#include "cli/command.h"

namespace aloft::cli {

void AddImageCommands(CLI::App& app, CommandResult& /*result*/) {
  app.add_subcommand("image", "(not implemented yet)")->require_subcommand(1);
}

}  // namespace aloft::cli
