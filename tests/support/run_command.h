#pragma once
// Runs a program (the built `aloft`, a script) as a child process and captures its exit code,
// stdout and stderr, for end-to-end tests of the command line.

#include <string>
#include <vector>

namespace aloft::testing {

struct CommandOutput {
  int exit_code = -1;  // -1 if the process did not exit normally
  std::string out;
  std::string err;
};

// Runs `argv` (argv[0] is the program path) with stdin from /dev/null.
CommandOutput RunCommand(const std::vector<std::string>& argv);

#ifdef ALOFT_CLI_PATH
// Runs the `aloft` binary under test with the given arguments.
inline CommandOutput RunAloft(std::vector<std::string> args) {
  args.insert(args.begin(), ALOFT_CLI_PATH);
  return RunCommand(args);
}
#endif

}  // namespace aloft::testing
