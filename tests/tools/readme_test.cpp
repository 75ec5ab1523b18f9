// The README's quick start works from a checkout: every `./vlmrt ...` command of its first `sh`
// block runs (with this build's CLI, from the repository root) and, when the block is followed by
// a `text` block, prints those lines. (The quick start's other command, scripts/test, is what CI
// runs.)
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace vlmrt {
namespace {

struct QuickStart {
  std::vector<std::string> commands;  // the `./vlmrt ...` lines
  std::vector<std::string> expected;  // the lines of the `text` block after them, if any
};

// The fenced block that follows `marker` (e.g. "```sh") after `from`; empty when there is none.
std::vector<std::string> fenced_block(const std::string& text, std::size_t& from,
                                      const std::string& marker) {
  std::vector<std::string> lines;
  const std::size_t open = text.find(marker + "\n", from);
  if (open == std::string::npos) return lines;
  const std::size_t close = text.find("\n```", open);
  std::istringstream body(text.substr(open + marker.size() + 1, close - open - marker.size()));
  for (std::string line; std::getline(body, line);) lines.push_back(line);
  from = close + 4;
  return lines;
}

QuickStart quick_start() {
  std::ifstream in(testing::source_dir() / "README.md");
  std::stringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  QuickStart out;
  std::size_t at = text.find("## Quick start");
  if (at == std::string::npos) return out;
  for (const std::string& line : fenced_block(text, at, "```sh"))
    if (line.rfind("./vlmrt ", 0) == 0) out.commands.push_back(line.substr(8));
  // A result block belongs to the commands only if nothing but blank lines separates them.
  const std::size_t after = text.find_first_not_of("\n ", at);
  if (after != std::string::npos && text.compare(after, 7, "```text") == 0)
    for (const std::string& line : fenced_block(text, at, "```text"))
      if (!line.empty()) out.expected.push_back(line);
  return out;
}

TEST(Readme, QuickStartCommandsRunFromTheCheckout) {
  const QuickStart readme = quick_start();
  ASSERT_FALSE(readme.commands.empty()) << "no ./vlmrt command in the README's quick start";
  std::string output;
  for (const std::string& args : readme.commands) {
    std::string out;
    const int status = testing::run_command(
        "cd " + testing::shell_quote(testing::source_dir().string()) + " && " +
            testing::shell_quote(testing::cli_path().string()) + " " + args + " 2>&1",
        &out);
    EXPECT_EQ(status, 0) << "./vlmrt " << args << "\n" << out;
    output += out;
  }
  for (const std::string& line : readme.expected)
    EXPECT_NE(output.find(line), std::string::npos)
        << "the README promises\n  " << line << "\nbut the commands printed\n"
        << output;
}

}  // namespace
}  // namespace vlmrt
