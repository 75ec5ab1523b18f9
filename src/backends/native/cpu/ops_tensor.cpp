// No FMA contraction: the rounding points are the spec (ops_math.hpp).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include "backends/native/cpu/ops_tensor.hpp"

#include <cmath>
#include <cstring>
#include <string>

#include "backends/native/cpu/ops_math.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

using detail::round_to;

void embedding(const void* table, DType dtype, std::size_t vocab, std::size_t hidden,
               std::span<const std::int32_t> ids, float* out, std::size_t out_stride) {
  if (dtype != DType::F32 && dtype != DType::BF16 && dtype != DType::F16) {
    throw Error(ErrorKind::Unsupported, "embedding: table dtype " + std::string(dtype_name(dtype)) +
                                            " is not supported (expected F32, BF16 or F16)");
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || static_cast<std::size_t>(ids[i]) >= vocab) {
      throw Error(ErrorKind::InvalidArgument, "embedding: token id " + std::to_string(ids[i]) +
                                                  " at position " + std::to_string(i) +
                                                  " is outside the vocabulary [0, " +
                                                  std::to_string(vocab) + ")");
    }
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    const std::size_t row = static_cast<std::size_t>(ids[i]);
    float* dst = out + i * out_stride;
    if (dtype == DType::F32) {
      std::memcpy(dst, static_cast<const float*>(table) + row * hidden, hidden * sizeof(float));
    } else {
      const auto* src = static_cast<const std::uint16_t*>(table) + row * hidden;
      if (dtype == DType::BF16) {
        bf16_to_f32({src, hidden}, {dst, hidden});
      } else {
        f16_to_f32({src, hidden}, {dst, hidden});
      }
    }
  }
}

void rope_inv_freq(double theta, std::size_t head_dim, float* inv_freq) {
  if (head_dim % 2 != 0) {
    throw Error(ErrorKind::InvalidArgument,
                "rope: head_dim " + std::to_string(head_dim) + " is odd (expected even)");
  }
  const float base = static_cast<float>(theta);
  const float dim = static_cast<float>(head_dim);
  for (std::size_t j = 0; j < head_dim / 2; ++j) {
    const float exponent = static_cast<float>(2 * j) / dim;
    inv_freq[j] = 1.0f / std::pow(base, exponent);
  }
}

void rope(float* x, std::size_t tokens, std::size_t heads, std::size_t head_dim,
          std::size_t token_stride, const std::int64_t* positions, const float* inv_freq,
          Precision precision, ThreadPool& pool) {
  if (head_dim % 2 != 0 || head_dim > kMaxRopeHeadDim) {
    throw Error(ErrorKind::InvalidArgument, "rope: head_dim " + std::to_string(head_dim) +
                                                " must be even and at most " +
                                                std::to_string(kMaxRopeHeadDim));
  }
  const std::size_t half = head_dim / 2;
  detail::parallel_for(
      pool, 0, tokens,
      [&](std::size_t begin, std::size_t end) {
        float cos_row[kMaxRopeHeadDim / 2];
        float sin_row[kMaxRopeHeadDim / 2];
        for (std::size_t t = begin; t < end; ++t) {
          // position_ids.float() @ inv_freq: one f32 product per frequency (§7.9).
          const float position = static_cast<float>(positions[t]);
          for (std::size_t j = 0; j < half; ++j) {
            const float angle = position * inv_freq[j];
            cos_row[j] = round_to(precision, std::cos(angle));
            sin_row[j] = round_to(precision, std::sin(angle));
          }
          for (std::size_t h = 0; h < heads; ++h) {
            float* lo = x + t * token_stride + h * head_dim;
            float* hi = lo + half;
            for (std::size_t j = 0; j < half; ++j) {
              const float a = lo[j];
              const float b = hi[j];
              const float new_lo =
                  round_to(precision, a * cos_row[j]) + round_to(precision, -b * sin_row[j]);
              const float new_hi =
                  round_to(precision, b * cos_row[j]) + round_to(precision, a * sin_row[j]);
              lo[j] = round_to(precision, new_lo);
              hi[j] = round_to(precision, new_hi);
            }
          }
        }
      },
      16);
}

void pixel_shuffle(const float* x, std::size_t n, std::size_t grid, std::size_t channels,
                   std::size_t scale, float* out) {
  if (scale == 0 || grid % scale != 0) {
    throw Error(ErrorKind::InvalidArgument, "pixel_shuffle: grid " + std::to_string(grid) +
                                                " is not a multiple of scale " +
                                                std::to_string(scale));
  }
  const std::size_t out_grid = grid / scale;
  const std::size_t row_bytes = scale * channels * sizeof(float);  // wr = 0..s-1 are contiguous
  for (std::size_t image = 0; image < n; ++image) {
    const float* src = x + image * grid * grid * channels;
    float* dst = out + image * grid * grid * channels;
    for (std::size_t hq = 0; hq < out_grid; ++hq) {
      for (std::size_t wq = 0; wq < out_grid; ++wq) {
        float* token = dst + (hq * out_grid + wq) * scale * scale * channels;
        for (std::size_t hr = 0; hr < scale; ++hr) {
          const float* block = src + ((hq * scale + hr) * grid + wq * scale) * channels;
          std::memcpy(token + hr * scale * channels, block, row_bytes);
        }
      }
    }
  }
}

std::size_t patch_embed_scratch_size(std::size_t image_size, std::size_t patch) {
  if (patch == 0) return 0;
  const std::size_t per_side = image_size / patch;
  return per_side * per_side * 3 * patch * patch;
}

void patch_embed(const float* pixels, std::size_t image_size, std::size_t patch,
                 const WeightMatrix& weight, const float* bias, float* out, float* im2col,
                 Precision precision, ThreadPool& pool) {
  const std::size_t per_side = patch == 0 ? 0 : image_size / patch;
  const std::size_t columns = 3 * patch * patch;
  if (per_side == 0 || weight.in_features != static_cast<std::int64_t>(columns)) {
    throw Error(ErrorKind::InvalidArgument,
                "patch_embed: image " + std::to_string(image_size) + " with patch " +
                    std::to_string(patch) + " needs a weight with in_features " +
                    std::to_string(columns) + ", got " + std::to_string(weight.in_features));
  }
  const std::size_t patches = per_side * per_side;
  const std::size_t plane = image_size * image_size;
  // im2col row for patch (py, px): [c][ky][kx], the flattening order of the [D, 3, p, p] kernel.
  detail::parallel_for(pool, 0, patches, [&](std::size_t begin, std::size_t end) {
    for (std::size_t index = begin; index < end; ++index) {
      const std::size_t py = index / per_side;
      const std::size_t px = index % per_side;
      float* row = im2col + index * columns;
      for (std::size_t c = 0; c < 3; ++c) {
        for (std::size_t ky = 0; ky < patch; ++ky) {
          const float* src = pixels + c * plane + (py * patch + ky) * image_size + px * patch;
          float* dst = row + (c * patch + ky) * patch;
          for (std::size_t kx = 0; kx < patch; ++kx) dst[kx] = round_to(precision, src[kx]);
        }
      }
    }
  });
  const auto out_features = static_cast<std::size_t>(weight.out_features);
  // Bf16 pixels are exact in bf16, so the GEMM may take its bf16 dot-product path.
  const LinearOptions options{precision == Precision::Bf16 ? LinearPrecision::Bf16Activations
                                                           : LinearPrecision::Exact};
  linear(im2col, static_cast<std::int64_t>(patches), static_cast<std::int64_t>(columns), weight,
         bias, out, weight.out_features, pool, options);
  round_to_precision(out, patches * out_features, precision);
}

}  // namespace vlmrt::native
