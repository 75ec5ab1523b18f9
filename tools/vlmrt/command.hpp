// The CLI's subcommands register themselves here; main.cpp dispatches on the first argument.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace vlmrt::cli {

struct Command {
  std::string name;
  std::string summary;  // one line for `vlmrt --help`
  // Receives argv with argv[0] = "vlmrt <name>"; returns the process exit code.
  std::function<int(int argc, char** argv)> run;
};

std::vector<Command>& command_registry();

struct RegisterCommand {
  explicit RegisterCommand(Command command) { command_registry().push_back(std::move(command)); }
};

}  // namespace vlmrt::cli
