#include "test_support.hpp"

#include "vlmrt/errors.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <stdexcept>

namespace vlmrt::testing {

namespace fs = std::filesystem;

fs::path source_dir() {
  return VLMRT_SOURCE_DIR;
}
fs::path shared_data_dir() {
  return VLMRT_SHARED_DATA_DIR;
}
fs::path cli_path() {
  return VLMRT_CLI_PATH;
}
fs::path binary_dir() {
  return VLMRT_BINARY_DIR;
}
fs::path cmake_command() {
  return VLMRT_CMAKE_COMMAND;
}
std::string python() {
  return VLMRT_PYTHON;
}
fs::path sample_model(const std::string& name) {
  return source_dir() / "samples" / "models" / name;
}
fs::path config_fixture(const std::string& name) {
  return source_dir() / "tests" / "fixtures" / "configs" / name;
}

fs::path scratch_dir(const std::string& name) {
  const fs::path dir =
      fs::path(VLMRT_BINARY_DIR) / "test_scratch" / (name + "." + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

ImageRgb8 noise_image(int width, int height, std::uint32_t seed) {
  std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * height * 3);
  std::uint32_t state = seed;
  for (auto& p : pixels) {
    state = state * 1664525u + 1013904223u;
    p = static_cast<std::uint8_t>(state >> 24);
  }
  return ImageRgb8(width, height, std::move(pixels));
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return std::string(to_string(e.kind())) + ": " + e.what();
  }
  return "no error";
}

std::string shell_quote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) {
    if (c == '\'')
      quoted += "'\\''";
    else
      quoted += c;
  }
  return quoted + "'";
}

int run_command(const std::string& command, std::string* output) {
  FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
  if (!pipe) throw std::runtime_error("cannot run: " + command);
  std::array<char, 4096> buffer{};
  std::string text;
  std::size_t n = 0;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) text.append(buffer.data(), n);
  const int status = ::pclose(pipe);
  if (output) *output = std::move(text);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

std::string file_digest(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return std::to_string(std::hash<std::string>{}(content.str()));
}

fs::path generated_data(const std::string& name, const fs::path& script, const std::string& args) {
  const fs::path root = fs::path(VLMRT_BINARY_DIR) / "test_data";
  fs::create_directories(root);
  const fs::path target = root / name;
  const std::string stamp = file_digest(script) + " " + args;

  const int lock = ::open((root / (name + ".lock")).c_str(), O_CREAT | O_RDWR, 0644);
  if (lock < 0) throw std::runtime_error("cannot create lock for " + name);
  ::flock(lock, LOCK_EX);
  struct Unlock {
    int fd;
    ~Unlock() {
      ::flock(fd, LOCK_UN);
      ::close(fd);
    }
  } unlock{lock};

  std::ifstream stamp_in(target / ".stamp");
  std::string existing((std::istreambuf_iterator<char>(stamp_in)),
                       std::istreambuf_iterator<char>());
  if (existing == stamp) return target;

  const fs::path temp = root / (name + ".tmp");
  fs::remove_all(temp);
  fs::create_directories(temp);
  std::string output;
  const std::string command = python() + " " + shell_quote(script.string()) + " --out " +
                              shell_quote(temp.string()) + " " + args;
  if (run_command(command, &output) != 0)
    throw std::runtime_error("generator failed: " + command + "\n" + output);
  std::ofstream(temp / ".stamp") << stamp;
  fs::remove_all(target);
  fs::rename(temp, target);
  return target;
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return INFINITY;
  float worst = 0.0f;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const float diff = std::fabs(a[i] - b[i]);
    if (!(diff <= worst)) worst = diff;  // NaN wins
  }
  return worst;
}

}  // namespace vlmrt::testing
