// Shared by the decode_*_test.cpp files: the Pillow-made corpus of make_decode_corpus.py.
#pragma once

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "test_support.hpp"

namespace vlmrt::decode_testing {

inline std::vector<std::uint8_t> read_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Generated once per build tree (see tests/support/test_support.hpp).
inline const std::filesystem::path& corpus_dir() {
  static const std::filesystem::path dir = testing::generated_data(
      "decode_corpus", testing::source_dir() / "tests/image/make_decode_corpus.py");
  return dir;
}

inline std::vector<std::uint8_t> corpus_file(const std::string& relative) {
  return read_bytes(corpus_dir() / "files" / relative);
}

}  // namespace vlmrt::decode_testing
