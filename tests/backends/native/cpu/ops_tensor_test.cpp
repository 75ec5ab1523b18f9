// Embedding gather, RoPE, pixel shuffle and patch embedding vs naive references (the pixel
// shuffle against the literal view/permute sequence of MODELS.md §3.4, the patch embedding
// against a direct convolution).
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off", "no-trapping-math")
#endif

#include "backends/native/cpu/ops_tensor.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops_test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {
namespace {

using ops_testing::random_vector;
using ops_testing::ref_round;

ThreadPool& pool() {
  static ThreadPool instance(3);
  return instance;
}

// ---- Embedding ----

TEST(Embedding, GathersRowsExactlyFromEveryTableDtype) {
  const std::size_t vocab = 50, hidden = 24;
  const auto table = random_vector(vocab * hidden, 30, 1.0f, Precision::Bf16);
  std::vector<std::uint16_t> bf16(table.size()), f16(table.size());
  for (std::size_t i = 0; i < table.size(); ++i) {
    bf16[i] = f32_to_bf16(table[i]);
    f16[i] = f32_to_f16(table[i]);
  }
  const std::vector<std::int32_t> ids = {0, 49, 7, 7, 13};
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    const void* data = dtype == DType::F32    ? static_cast<const void*>(table.data())
                       : dtype == DType::BF16 ? static_cast<const void*>(bf16.data())
                                              : static_cast<const void*>(f16.data());
    std::vector<float> out(ids.size() * (hidden + 3), -1.0f);
    embedding(data, dtype, vocab, hidden, ids, out.data(), hidden + 3);
    for (std::size_t i = 0; i < ids.size(); ++i)
      for (std::size_t c = 0; c < hidden; ++c) {
        const float want = table[ids[i] * hidden + c];
        EXPECT_EQ(out[i * (hidden + 3) + c],
                  dtype == DType::F16 ? f16_to_f32(f32_to_f16(want)) : want);
      }
  }
}

TEST(Embedding, RejectsOutOfRangeIdsBeforeWritingAndUnknownDtypes) {
  const std::vector<float> table(10 * 4, 1.0f);
  std::vector<float> out(3 * 4, -5.0f);
  for (std::vector<std::int32_t> ids : {std::vector<std::int32_t>{1, 10}, {-1}, {2, 3, 99}}) {
    try {
      embedding(table.data(), DType::F32, 10, 4, ids, out.data(), 4);
      FAIL() << "expected an error";
    } catch (const Error& error) {
      EXPECT_EQ(error.kind(), ErrorKind::InvalidArgument);
      EXPECT_NE(std::string(error.what()).find("outside the vocabulary"), std::string::npos);
    }
    for (float v : out) EXPECT_EQ(v, -5.0f);
  }
  const std::vector<std::int32_t> ok = {1};
  EXPECT_THROW(embedding(table.data(), DType::I64, 10, 4, ok, out.data(), 4), Error);
}

// ---- RoPE ----

// (cos, sin) the op uses for one position, read back through rope() itself on the unit vector
// (1, 0): q·cos + rotate_half(q)·sin of [1 | 0] is [cos | sin] with no rounding in F32 mode.
std::pair<std::vector<float>, std::vector<float>> rope_table(std::int64_t position,
                                                             const std::vector<float>& inv_freq) {
  const std::size_t half = inv_freq.size();
  std::vector<float> unit(2 * half, 0.0f);
  for (std::size_t j = 0; j < half; ++j) unit[j] = 1.0f;
  rope(unit.data(), 1, 1, 2 * half, 2 * half, &position, inv_freq.data(), Precision::F32, pool());
  return {std::vector<float>(unit.begin(), unit.begin() + half),
          std::vector<float>(unit.begin() + half, unit.end())};
}

TEST(Rope, InvFreqIsF32PowAndReciprocal) {
  for (auto [theta, dim] : {std::pair{10000.0, 256}, {100000.0, 64}, {273768.0, 64}}) {
    std::vector<float> inv(dim / 2);
    rope_inv_freq(theta, dim, inv.data());
    for (int j = 0; j < dim / 2; ++j) {
      const float exponent = static_cast<float>(2 * j) / static_cast<float>(dim);
      const float power = static_cast<float>(std::pow(double(float(theta)), double(exponent)));
      EXPECT_NEAR(inv[j], 1.0f / power, 1.2e-7 * inv[j]) << theta << " j=" << j;
    }
  }
  std::vector<float> inv(4);
  EXPECT_THROW(rope_inv_freq(1e4, 7, inv.data()), Error);
}

TEST(Rope, F32AtLargePositionsMatchesF32AngleReference) {
  const std::size_t tokens = 6, heads = 3, dim = 64, stride = heads * dim + 5;
  std::vector<float> inv(dim / 2);
  rope_inv_freq(100000.0, dim, inv.data());
  const std::vector<std::int64_t> positions = {0, 1, 8000, 8191, 12345, 32767};
  const auto x = random_vector(tokens * stride, 31, 2.0f);
  auto y = x;
  rope(y.data(), tokens, heads, dim, stride, positions.data(), inv.data(), Precision::F32, pool());
  for (std::size_t t = 0; t < tokens; ++t)
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t j = 0; j < dim / 2; ++j) {
        // The angle is ONE f32 product (MODELS.md §7.9); cos/sin of that f32 angle in double.
        const float angle = static_cast<float>(positions[t]) * inv[j];
        const double c = std::cos(double(angle)), s = std::sin(double(angle));
        const double a = x[t * stride + h * dim + j], b = x[t * stride + h * dim + j + dim / 2];
        EXPECT_NEAR(y[t * stride + h * dim + j], a * c - b * s, 1e-6);
        EXPECT_NEAR(y[t * stride + h * dim + j + dim / 2], b * c + a * s, 1e-6);
      }
  // Untouched padding between tokens.
  EXPECT_EQ(y[heads * dim + 2], x[heads * dim + 2]);
  // A double angle would be a different rotation at position 32767 (why §7.9 insists on f32).
  const float angle32 = 32767.0f * inv[1];
  EXPECT_GT(std::abs(std::cos(double(angle32)) - std::cos(32767.0 * double(inv[1]))), 1e-5);
}

TEST(Rope, Bf16RoundsTablesProductsAndSum) {
  const std::size_t tokens = 5, heads = 2, dim = 256;
  std::vector<float> inv(dim / 2);
  rope_inv_freq(10000.0, dim, inv.data());
  const std::vector<std::int64_t> positions = {1, 2, 257, 8000, 9001};  // PaliGemma: 1-based
  const auto x = random_vector(tokens * heads * dim, 32, 1.5f, Precision::Bf16);
  auto y = x;
  rope(y.data(), tokens, heads, dim, heads * dim, positions.data(), inv.data(), Precision::Bf16,
       pool());
  const auto r = [](float v) { return ref_round(Precision::Bf16, v); };
  for (std::size_t t = 0; t < tokens; ++t) {
    const auto [cos32, sin32] = rope_table(positions[t], inv);
    for (std::size_t h = 0; h < heads; ++h)
      for (std::size_t j = 0; j < dim / 2; ++j) {
        const float c = r(cos32[j]), s = r(sin32[j]);
        const float a = x[(t * heads + h) * dim + j], b = x[(t * heads + h) * dim + j + dim / 2];
        ASSERT_EQ(y[(t * heads + h) * dim + j], r(r(a * c) + r(-b * s)));
        ASSERT_EQ(y[(t * heads + h) * dim + j + dim / 2], r(r(b * c) + r(a * s)));
      }
  }
}

// ---- Pixel shuffle ----

// A dense row-major tensor with PyTorch's view (same data, new shape) and permute (+ contiguous).
struct Tensor {
  std::vector<std::size_t> shape;
  std::vector<float> data;

  Tensor view(std::vector<std::size_t> new_shape) const {
    std::size_t count = 1;
    for (std::size_t d : new_shape) count *= d;
    EXPECT_EQ(count, data.size());
    return {std::move(new_shape), data};
  }
  Tensor permute(const std::vector<std::size_t>& order) const {
    const std::size_t rank = shape.size();
    std::vector<std::size_t> strides(rank, 1), new_shape(rank);
    for (std::size_t d = rank - 1; d > 0; --d) strides[d - 1] = strides[d] * shape[d];
    for (std::size_t d = 0; d < rank; ++d) new_shape[d] = shape[order[d]];
    Tensor out{new_shape, std::vector<float>(data.size())};
    std::vector<std::size_t> index(rank, 0);
    for (std::size_t flat = 0; flat < data.size(); ++flat) {
      std::size_t source = 0;
      for (std::size_t d = 0; d < rank; ++d) source += index[d] * strides[order[d]];
      out.data[flat] = data[source];
      for (std::size_t d = rank; d-- > 0;) {
        if (++index[d] < new_shape[d]) break;
        index[d] = 0;
      }
    }
    return out;
  }
};

TEST(PixelShuffle, EqualsTheHfViewPermuteSequence) {
  for (auto [n, grid, channels, s] :
       {std::tuple<std::size_t, std::size_t, std::size_t, std::size_t>{2, 8, 5, 4},
        {1, 27, 3, 3},
        {1, 32, 2, 4}}) {
    Tensor x{{n, grid * grid, channels}, random_vector(n * grid * grid * channels, 33)};
    const std::size_t g = grid / s;
    const Tensor want = x.view({n, grid, grid, channels})
                            .view({n, grid, g, channels * s})
                            .permute({0, 2, 1, 3})
                            .view({n, g, g, channels * s * s})
                            .permute({0, 2, 1, 3})
                            .view({n, g * g, channels * s * s});
    std::vector<float> got(x.data.size());
    pixel_shuffle(x.data.data(), n, grid, channels, s, got.data());
    EXPECT_EQ(got, want.data) << "grid " << grid << " scale " << s;
  }
  std::vector<float> buffer(10 * 10);
  EXPECT_THROW(pixel_shuffle(buffer.data(), 1, 10, 1, 3, buffer.data()), Error);
}

// ---- Patch embedding ----

TEST(PatchEmbed, MatchesDirectConvolutionIncludingIgnoredTrailingPixels) {
  // 30 = 4·7 + 2: the valid conv ignores the last 2 rows and columns (Idefics3 2.2B case).
  for (auto [size, patch] : {std::pair<std::size_t, std::size_t>{30, 7}, {32, 8}}) {
    const std::size_t out_features = 20, in = 3 * patch * patch, side = size / patch;
    const auto pixels = random_vector(3 * size * size, 34);
    const auto weights = random_vector(out_features * in, 35, 0.2f, Precision::Bf16);
    const auto bias = random_vector(out_features, 36, 1.0f, Precision::Bf16);
    std::vector<std::uint16_t> weights_bf16(weights.size());
    for (std::size_t i = 0; i < weights.size(); ++i) weights_bf16[i] = f32_to_bf16(weights[i]);
    for (Precision precision : {Precision::F32, Precision::Bf16}) {
      std::vector<double> want(side * side * out_features);
      for (std::size_t py = 0; py < side; ++py)
        for (std::size_t px = 0; px < side; ++px)
          for (std::size_t o = 0; o < out_features; ++o) {
            double acc = bias[o];
            for (std::size_t c = 0; c < 3; ++c)
              for (std::size_t ky = 0; ky < patch; ++ky)
                for (std::size_t kx = 0; kx < patch; ++kx) {
                  const float pixel = pixels[(c * size + py * patch + ky) * size + px * patch + kx];
                  acc += double(ref_round(precision, pixel)) *
                         weights[((o * 3 + c) * patch + ky) * patch + kx];
                }
            want[(py * side + px) * out_features + o] = acc;
          }
      for (DType dtype : {DType::F32, DType::BF16}) {
        const WeightMatrix matrix{
            dtype,
            dtype == DType::F32 ? static_cast<const void*>(weights.data()) : weights_bf16.data(),
            static_cast<std::int64_t>(out_features), static_cast<std::int64_t>(in)};
        std::vector<float> scratch(patch_embed_scratch_size(size, patch));
        std::vector<float> out(side * side * out_features);
        patch_embed(pixels.data(), size, patch, matrix, bias.data(), out.data(), scratch.data(),
                    precision, pool());
        for (std::size_t i = 0; i < out.size(); ++i) {
          if (precision == Precision::F32) {
            ASSERT_NEAR(out[i], want[i], 1e-5 * std::max(1.0, std::abs(want[i]))) << i;
          } else {
            // One bf16 rounding of an f32 sum: within half a bf16 ulp of the exact sum, plus the
            // f32 accumulation error.
            ASSERT_EQ(out[i], ref_round(Precision::Bf16, out[i]));
            ASSERT_NEAR(out[i], want[i], std::abs(want[i]) / 256.0 + 1e-5) << i;
          }
        }
      }
    }
  }
}

TEST(PatchEmbed, RejectsWeightOfWrongWidth) {
  const std::vector<float> pixels(3 * 16 * 16), weights(4 * 10);
  std::vector<float> out(16 * 4), scratch(patch_embed_scratch_size(16, 4));
  const WeightMatrix matrix{DType::F32, weights.data(), 4, 10};
  EXPECT_THROW(patch_embed(pixels.data(), 16, 4, matrix, nullptr, out.data(), scratch.data(),
                           Precision::F32, pool()),
               Error);
}

}  // namespace
}  // namespace vlmrt::native
