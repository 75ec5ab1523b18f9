#include "core/dtype.hpp"

#include <bit>
#include <cassert>

namespace vlmrt {

namespace {
struct DTypeEntry {
  DType dtype;
  std::string_view name;
  std::size_t size;
};
constexpr DTypeEntry kDTypes[] = {
    {DType::F32, "F32", 4}, {DType::F16, "F16", 2},   {DType::BF16, "BF16", 2},
    {DType::I64, "I64", 8}, {DType::I32, "I32", 4},   {DType::U8, "U8", 1},
    {DType::I8, "I8", 1},   {DType::Bool, "BOOL", 1},
};
}  // namespace

std::size_t dtype_size(DType dtype) noexcept {
  for (const auto& entry : kDTypes)
    if (entry.dtype == dtype) return entry.size;
  return 0;
}

std::string_view dtype_name(DType dtype) noexcept {
  for (const auto& entry : kDTypes)
    if (entry.dtype == dtype) return entry.name;
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) noexcept {
  for (const auto& entry : kDTypes)
    if (entry.name == name) return entry.dtype;
  return std::nullopt;
}

std::uint16_t f32_to_bf16(float value) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) {
    // NaN: keep the sign and the top payload bits, force the quiet bit so it cannot become Inf.
    return static_cast<std::uint16_t>((bits >> 16) | 0x0040u);
  }
  const std::uint32_t lsb = (bits >> 16) & 1u;
  const std::uint32_t rounding_bias = 0x7fffu + lsb;
  return static_cast<std::uint16_t>((bits + rounding_bias) >> 16);
}

float bf16_to_f32(std::uint16_t bits) noexcept {
  return std::bit_cast<float>(static_cast<std::uint32_t>(bits) << 16);
}

std::uint16_t f32_to_f16(float value) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t abs_bits = bits & 0x7fffffffu;

  if (abs_bits > 0x7f800000u)
    return static_cast<std::uint16_t>(sign | 0x7e00u | ((abs_bits >> 13) & 0x1ffu));
  if (abs_bits >= 0x477ff000u)
    return static_cast<std::uint16_t>(sign | 0x7c00u);  // rounds to >= 65520: Inf

  const int exponent = static_cast<int>(abs_bits >> 23) - 127;
  if (exponent >= -14) {
    // Normal half: drop 13 mantissa bits with round-to-nearest-even; a carry into the exponent
    // is the correct result (it can reach at most 0x7bff here because of the Inf check above).
    const std::uint32_t rebased = abs_bits - (112u << 23);
    const std::uint32_t lsb = (rebased >> 13) & 1u;
    return static_cast<std::uint16_t>(sign | ((rebased + 0x0fffu + lsb) >> 13));
  }
  if (exponent < -25)
    return static_cast<std::uint16_t>(sign);  // below half of the smallest subnormal
  // Subnormal half: value = mantissa_with_implicit_one * 2^(exponent-23); the half's unit is 2^-24.
  const std::uint32_t mantissa = (abs_bits & 0x7fffffu) | 0x800000u;
  const int shift = -exponent - 1;  // 14..24 so that the result is in units of 2^-24
  const std::uint32_t truncated = mantissa >> shift;
  const std::uint32_t remainder = mantissa & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1);
  std::uint32_t rounded = truncated;
  if (remainder > halfway || (remainder == halfway && (truncated & 1u))) ++rounded;
  return static_cast<std::uint16_t>(sign | rounded);
}

float f16_to_f32(std::uint16_t half) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1fu;
  std::uint32_t mantissa = half & 0x3ffu;
  if (exponent == 0x1f) return std::bit_cast<float>(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0)
    return std::bit_cast<float>(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  if (mantissa == 0) return std::bit_cast<float>(sign);
  // Subnormal: normalise the mantissa.
  int e = -1;
  do {
    ++e;
    mantissa <<= 1;
  } while ((mantissa & 0x400u) == 0);
  return std::bit_cast<float>(sign | ((112u - static_cast<std::uint32_t>(e)) << 23) |
                              ((mantissa & 0x3ffu) << 13));
}

void bf16_to_f32(std::span<const std::uint16_t> in, std::span<float> out) noexcept {
  assert(in.size() == out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = bf16_to_f32(in[i]);
}

void f16_to_f32(std::span<const std::uint16_t> in, std::span<float> out) noexcept {
  assert(in.size() == out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = f16_to_f32(in[i]);
}

void f32_to_bf16(std::span<const float> in, std::span<std::uint16_t> out) noexcept {
  assert(in.size() == out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = f32_to_bf16(in[i]);
}

void f32_to_f16(std::span<const float> in, std::span<std::uint16_t> out) noexcept {
  assert(in.size() == out.size());
  for (std::size_t i = 0; i < in.size(); ++i) out[i] = f32_to_f16(in[i]);
}

}  // namespace vlmrt
