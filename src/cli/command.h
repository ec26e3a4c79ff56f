#pragma once
// What every command group shares: the exit-code table, error printing, and the hook each
// group uses to register its subcommands. Command groups live one per file
// (partition_command.cc, image_command.cc, ...), each exporting one Add...Commands function.
//
// Exit codes (docs/cli.md): 0 success; 1 invalid input or a failed check; 2 usage error;
// 3 the emulated power was cut (aloft device install --cut-power-at).

#include <string>
#include <string_view>

#include "core/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace aloft::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitPowerCut = 3;

// The one Status::Code -> exit code table.
int ExitCodeFor(const Status& status);

// Set by a subcommand's callback; returned by main. CLI11 callbacks cannot return a value,
// and our code does not throw, so the result travels through this object.
struct CommandResult {
  int exit_code = kExitOk;
};

// Prints "aloft: SUBJECT: REASON [(context N)]" to stderr and returns ExitCodeFor(status).
// SUBJECT names the input (a path, a partition, a row).
int ReportFailure(std::string_view subject, const Status& status);
// Prints "aloft: MESSAGE" to stderr and returns `exit_code`.
int ReportError(std::string_view message, int exit_code = kExitFailure);

// Hex with 0x prefix, lower case ("0x9000").
std::string Hex(uint32_t value);

void AddPartitionCommands(CLI::App& app, CommandResult& result);
void AddImageCommands(CLI::App& app, CommandResult& result);
void AddFlashCommands(CLI::App& app, CommandResult& result);
void AddDeviceCommands(CLI::App& app, CommandResult& result);
void AddKeyCommands(CLI::App& app, CommandResult& result);
void AddSignCommands(CLI::App& app, CommandResult& result);
void AddReleaseCommands(CLI::App& app, CommandResult& result);
void AddServerCommands(CLI::App& app, CommandResult& result);
void AddRolloutCommands(CLI::App& app, CommandResult& result);
void AddDevicesCommands(CLI::App& app, CommandResult& result);
void AddFleetCommands(CLI::App& app, CommandResult& result);
// `aloft image verify`: added to the `image` group by AddImageCommands.
void AddImageVerifyCommand(CLI::App& image_group, CommandResult& result);
// `aloft image make-test` (image_make_test_command.cc): added to the `image` group too.
void AddImageMakeTestCommand(CLI::App& image_group, CommandResult& result);
// `aloft device run` (device_run_command.cc): added to the `device` group by AddDeviceCommands.
void AddDeviceRunCommand(CLI::App& device_group, CommandResult& result);

}  // namespace aloft::cli
