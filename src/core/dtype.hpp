// Element types found in checkpoints and the exact conversions between the 16-bit floats and f32.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace vlmrt {

// The element types vlmrt reads from safetensors files (names as safetensors spells them).
enum class DType { F32, F16, BF16, I64, I32, U8, I8, Bool };

std::size_t dtype_size(DType dtype) noexcept;
std::string_view dtype_name(DType dtype) noexcept;  // "F32", "BF16", ...
// Parses a safetensors dtype name; nullopt for names vlmrt does not know.
std::optional<DType> dtype_from_name(std::string_view name) noexcept;

// bf16 is the top half of an f32. Rounding is to nearest, ties to even; NaN stays NaN (quiet),
// infinities and signed zeros are preserved.
std::uint16_t f32_to_bf16(float value) noexcept;
float bf16_to_f32(std::uint16_t bits) noexcept;

// IEEE 754 binary16. Rounding to nearest even, overflow to infinity, subnormals exact.
std::uint16_t f32_to_f16(float value) noexcept;
float f16_to_f32(std::uint16_t bits) noexcept;

// Bulk conversions (the sizes of `in` and `out` must match).
void bf16_to_f32(std::span<const std::uint16_t> in, std::span<float> out) noexcept;
void f16_to_f32(std::span<const std::uint16_t> in, std::span<float> out) noexcept;
void f32_to_bf16(std::span<const float> in, std::span<std::uint16_t> out) noexcept;
void f32_to_f16(std::span<const float> in, std::span<std::uint16_t> out) noexcept;

}  // namespace vlmrt
