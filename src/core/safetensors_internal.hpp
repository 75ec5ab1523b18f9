// Helpers shared by the safetensors reader, writer and checkpoint code (not a public interface).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vlmrt::safetensors_detail {

// 'name' for messages, cut at 120 bytes (on a UTF-8 boundary) so a hostile header cannot make
// an error message megabytes long.
std::string quote(std::string_view name);

// "[3,2]" (the safetensors spelling).
std::string shape_string(std::span<const std::int64_t> shape);

// Product of the dims when every dim is >= 0 and the product fits in int64; nullopt otherwise.
std::optional<std::uint64_t> checked_element_count(std::span<const std::int64_t> shape) noexcept;

// a * b, or nullopt when it does not fit in 64 bits.
std::optional<std::uint64_t> checked_mul(std::uint64_t a, std::uint64_t b) noexcept;

}  // namespace vlmrt::safetensors_detail
