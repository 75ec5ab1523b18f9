// Building safetensors files byte by byte for the reader/checkpoint tests, and checking errors.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "vlmrt/errors.hpp"

namespace vlmrt::testing {

inline std::vector<std::byte> to_bytes(std::string_view text) {
  const auto* p = reinterpret_cast<const std::byte*>(text.data());
  return {p, p + text.size()};
}

// [u64 LE header length][header][data_size bytes of 0, 1, 2, ...]; `length` overrides the
// recorded header length (to build lying files).
inline std::vector<std::byte> safetensors_bytes(std::string_view header, std::size_t data_size = 0,
                                                std::optional<std::uint64_t> length = {}) {
  std::vector<std::byte> out;
  const std::uint64_t n = length.value_or(header.size());
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<std::byte>((n >> (8 * i)) & 0xffu));
  const auto text = to_bytes(header);
  out.insert(out.end(), text.begin(), text.end());
  for (std::size_t i = 0; i < data_size; ++i) out.push_back(static_cast<std::byte>(i & 0xffu));
  return out;
}

inline void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}
inline void write_file(const std::filesystem::path& path, std::string_view text) {
  write_file(path, to_bytes(text));
}

// Runs `action`, expecting a vlmrt::Error of `kind` whose message contains every `part`.
inline void expect_error(const std::function<void()>& action, ErrorKind kind,
                         std::initializer_list<std::string_view> parts) {
  try {
    action();
    ADD_FAILURE() << "expected a " << to_string(kind) << " error, got none";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), kind) << "message: " << e.what();
    for (const auto part : parts)
      EXPECT_NE(std::string_view(e.what()).find(part), std::string_view::npos)
          << "message '" << e.what() << "' lacks '" << part << "'";
  }
}

}  // namespace vlmrt::testing
