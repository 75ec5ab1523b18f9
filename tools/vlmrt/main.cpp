// vlmrt — command-line front end. Each subcommand lives in its own cmd_*.cpp.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>

#include "command.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::cli {

std::vector<Command>& command_registry() {
  static std::vector<Command> commands;
  return commands;
}

}  // namespace vlmrt::cli

namespace {

void print_usage(std::FILE* out) {
  auto commands = vlmrt::cli::command_registry();
  std::sort(commands.begin(), commands.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  std::fprintf(out,
               "vlmrt — run vision-language models (PaliGemma, SmolVLM, SmolVLM2) from C++\n\n"
               "usage: vlmrt <command> [options]\n\ncommands:\n");
  for (const auto& command : commands)
    std::fprintf(out, "  %-12s %s\n", command.name.c_str(), command.summary.c_str());
  std::fprintf(out, "\n`vlmrt <command> --help` explains a command's options, with examples.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0 ||
      std::strcmp(argv[1], "help") == 0) {
    print_usage(stdout);
    return argc < 2 ? 2 : 0;
  }
  if (std::strcmp(argv[1], "--version") == 0) {
    std::printf("vlmrt %s\n", VLMRT_VERSION);
    return 0;
  }
  const auto& commands = vlmrt::cli::command_registry();
  const auto it = std::find_if(commands.begin(), commands.end(),
                               [&](const auto& c) { return c.name == argv[1]; });
  if (it == commands.end()) {
    std::fprintf(stderr, "vlmrt: unknown command '%s'\n\n", argv[1]);
    print_usage(stderr);
    return 2;
  }
  std::string program = std::string("vlmrt ") + argv[1];
  argv[1] = program.data();
  try {
    return it->run(argc - 1, argv + 1);
  } catch (const vlmrt::Error& e) {
    std::fprintf(stderr, "vlmrt %s: error (%s): %s\n", it->name.c_str(),
                 std::string(vlmrt::to_string(e.kind())).c_str(), e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vlmrt %s: internal error: %s\n", it->name.c_str(), e.what());
    return 1;
  }
}
