#include "backends/native/cpu/gemm.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <ostream>
#include <string>
#include <vector>

#include "backends/native/cpu/cpu_features.hpp"
#include "gemm_test_support.hpp"
#include "vlmrt/errors.hpp"

namespace vlmrt::native {

// Test names and CTest names show "avx512bf16", not the enum's bytes.
void PrintTo(CpuIsa isa, std::ostream* os) {
  *os << cpu_isa_name(isa);
}

namespace {

using testing::make_weights;
using testing::random_values;
using testing::reference_linear;

// f32 accumulation of k products has a rounding error of at most ~k·u·Σ|x·w| (u = 2^-24) in the
// worst case and ~√k·u·Σ|x·w| typically; 1e-5·Σ|x·w| is ~170 u, several times the typical error
// for k <= 768 and far below any real bug (a dropped or doubled term is ~1/k of Σ|x·w|).
constexpr double kRelTolerance = 1e-5;

// Forces one ISA for the duration of a test.
class IsaScope {
 public:
  explicit IsaScope(CpuIsa isa) : previous_(set_cpu_isa_override(isa)) {}
  ~IsaScope() { set_cpu_isa_override(previous_); }

 private:
  std::optional<CpuIsa> previous_;
};

class LinearOnIsa : public ::testing::TestWithParam<CpuIsa> {};

std::string isa_test_name(const ::testing::TestParamInfo<CpuIsa>& info) {
  return std::string(cpu_isa_name(info.param));
}

// Runs every shape of the grid for one weight dtype and precision on the ISA under test.
void check_grid(DType dtype, LinearPrecision precision, ThreadPool& pool) {
  const LinearOptions options{precision};
  int checked = 0;
  for (std::int64_t k : {1, 3, 16, 64, 100, 768})
    for (std::int64_t n : {1, 5, 32, 100, 576}) {
      const auto seed = static_cast<std::uint32_t>(k * 1000 + n);
      for (int variant = 0; variant < 2; ++variant) {
        // Variant 0: contiguous, no bias. Variant 1: padded row strides everywhere, bias.
        const bool strided = variant == 1;
        const std::int64_t w_stride = strided ? k + 2 : k;
        const auto weights = make_weights(dtype, n, k, w_stride, seed);
        const std::vector<float> bias = random_values(static_cast<std::size_t>(n), seed + 7);
        const float* bias_ptr = strided ? bias.data() : nullptr;
        for (std::int64_t m : {1, 2, 3, 7, 16, 33, 257}) {
          const std::int64_t x_stride = strided ? k + 3 : k;
          const std::int64_t y_stride = strided ? n + 5 : n;
          const std::vector<float> x =
              random_values(static_cast<std::size_t>(m * x_stride), seed + 3);
          const bool rounds = linear_rounds_activations(m, dtype, options);
          const auto ref = reference_linear(x, m, x_stride, weights.exact, n, k, bias_ptr, rounds);
          const float sentinel = 12345.0f;
          std::vector<float> y(static_cast<std::size_t>(m * y_stride), sentinel);
          linear(x.data(), m, x_stride, weights.view(), bias_ptr, y.data(), y_stride, pool,
                 options);
          for (std::int64_t r = 0; r < m; ++r) {
            for (std::int64_t j = 0; j < n; ++j) {
              const auto at = static_cast<std::size_t>(r * n + j);
              const double got = y[static_cast<std::size_t>(r * y_stride + j)];
              ASSERT_NEAR(got, ref.value[at], kRelTolerance * ref.magnitude[at] + 1e-30)
                  << dtype_name(dtype) << " m=" << m << " k=" << k << " n=" << n
                  << " variant=" << variant << " rounds_x=" << rounds << " at [" << r << "," << j
                  << "]";
            }
            for (std::int64_t j = n; j < y_stride; ++j)
              ASSERT_EQ(y[static_cast<std::size_t>(r * y_stride + j)], sentinel)
                  << "wrote into the row padding, m=" << m << " k=" << k << " n=" << n;
          }
          ++checked;
        }
      }
    }
  EXPECT_EQ(checked, 6 * 5 * 2 * 7);
}

TEST_P(LinearOnIsa, MatchesReferenceForF32Weights) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  check_grid(DType::F32, LinearPrecision::Exact, pool);
}

TEST_P(LinearOnIsa, MatchesReferenceForBf16Weights) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  check_grid(DType::BF16, LinearPrecision::Exact, pool);
}

TEST_P(LinearOnIsa, MatchesReferenceForF16Weights) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  check_grid(DType::F16, LinearPrecision::Exact, pool);
}

// With Bf16Activations the result must match the reference on bf16-rounded activations where
// the path rounds (linear_rounds_activations), and the exact reference elsewhere.
TEST_P(LinearOnIsa, MatchesReferenceWithBf16Activations) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  check_grid(DType::BF16, LinearPrecision::Bf16Activations, pool);
}

TEST_P(LinearOnIsa, Bf16ActivationsLeaveF32AndF16WeightsExact) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  for (DType dtype : {DType::F32, DType::F16})
    EXPECT_FALSE(linear_rounds_activations(64, dtype, {LinearPrecision::Bf16Activations}));
  check_grid(DType::F16, LinearPrecision::Bf16Activations, pool);
}

TEST_P(LinearOnIsa, UnevenThreadSplitsAndSingleThreadAgree) {
  IsaScope scope(GetParam());
  const std::int64_t m = 45, k = 300, n = 333;
  const auto weights = make_weights(DType::BF16, n, k, k, 11);
  const auto x = random_values(static_cast<std::size_t>(m * k), 12);
  std::vector<float> y1(static_cast<std::size_t>(m * n)), y3(y1.size());
  ThreadPool one(1), three(3);
  linear(x.data(), m, k, weights.view(), nullptr, y1.data(), n, one);
  linear(x.data(), m, k, weights.view(), nullptr, y3.data(), n, three);
  // The split is over output columns only, so every sum is formed in the same order.
  EXPECT_EQ(y1, y3);
}

TEST_P(LinearOnIsa, GemvThreadSplitsAgreeWithSingleThread) {
  IsaScope scope(GetParam());
  // 4500 rows of 2 KiB (~9 MiB): large enough for the GEMV path to split over threads.
  const std::int64_t m = 2, k = 1024, n = 4500;
  const auto weights = make_weights(DType::BF16, n, k, k, 13);
  const auto x = random_values(static_cast<std::size_t>(m * k), 14);
  std::vector<float> y1(static_cast<std::size_t>(m * n)), y3(y1.size());
  ThreadPool one(1), three(3);
  linear(x.data(), m, k, weights.view(), nullptr, y1.data(), n, one);
  linear(x.data(), m, k, weights.view(), nullptr, y3.data(), n, three);
  EXPECT_EQ(y1, y3);
}

// Tensors in a mapped safetensors file can start at any byte offset.
TEST_P(LinearOnIsa, AcceptsUnalignedWeightData) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  for (DType dtype : {DType::F32, DType::BF16, DType::F16})
    for (std::size_t shift : {1u, 2u})
      for (std::int64_t m : {2, 30}) {
        const std::int64_t k = 45, n = 37;
        const auto weights = make_weights(dtype, n, k, k, 17);
        std::vector<std::uint8_t> shifted(weights.storage.size() + shift);
        std::memcpy(shifted.data() + shift, weights.storage.data(), weights.storage.size());
        WeightMatrix view = weights.view();
        view.data = shifted.data() + shift;
        const auto x = random_values(static_cast<std::size_t>(m * k), 18);
        const auto ref = reference_linear(x, m, k, weights.exact, n, k, nullptr);
        std::vector<float> y(static_cast<std::size_t>(m * n));
        linear(x.data(), m, k, view, nullptr, y.data(), n, pool);
        for (std::size_t i = 0; i < y.size(); ++i)
          ASSERT_NEAR(y[i], ref.value[i], kRelTolerance * ref.magnitude[i])
              << dtype_name(dtype) << " shift=" << shift << " m=" << m << " i=" << i;
      }
}

TEST_P(LinearOnIsa, ZeroInFeaturesWritesBiasOnly) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  const std::vector<float> bias = {1.5f, -2.0f, 3.25f};
  std::vector<float> y(2 * 4, 7.0f);
  const WeightMatrix w{DType::BF16, nullptr, 3, 0};
  linear(nullptr, 2, 0, w, bias.data(), y.data(), 4, pool);
  EXPECT_EQ(y, (std::vector<float>{1.5f, -2.0f, 3.25f, 7.0f, 1.5f, -2.0f, 3.25f, 7.0f}));
  linear(nullptr, 2, 0, w, nullptr, y.data(), 4, pool);
  EXPECT_EQ(y, (std::vector<float>{0, 0, 0, 7.0f, 0, 0, 0, 7.0f}));
}

TEST_P(LinearOnIsa, ZeroRowsTouchesNothing) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  const auto weights = make_weights(DType::F32, 4, 8, 8, 1);
  std::vector<float> y(4, 9.0f);
  linear(nullptr, 0, 8, weights.view(), nullptr, y.data(), 4, pool);
  EXPECT_EQ(y, std::vector<float>(4, 9.0f));
}

TEST_P(LinearOnIsa, NanInInputPropagatesToItsRowOnly) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  for (DType dtype : {DType::F32, DType::BF16, DType::F16})
    for (LinearPrecision precision : {LinearPrecision::Exact, LinearPrecision::Bf16Activations})
      for (std::int64_t m : {1, 3, 20}) {
        const std::int64_t k = 37, n = 40;
        const auto weights = make_weights(dtype, n, k, k, 5);
        auto x = random_values(static_cast<std::size_t>(m * k), 6);
        x[static_cast<std::size_t>(k - 2)] = std::numeric_limits<float>::quiet_NaN();  // row 0
        std::vector<float> y(static_cast<std::size_t>(m * n));
        linear(x.data(), m, k, weights.view(), nullptr, y.data(), n, pool, {precision});
        for (std::int64_t j = 0; j < n; ++j)
          EXPECT_TRUE(std::isnan(y[static_cast<std::size_t>(j)])) << "m=" << m << " j=" << j;
        for (std::size_t i = static_cast<std::size_t>(n); i < y.size(); ++i)
          EXPECT_TRUE(std::isfinite(y[i])) << "m=" << m << " i=" << i;
      }
}

TEST_P(LinearOnIsa, InfinityInWeightsReachesOutputs) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  for (std::int64_t m : {1, 20}) {
    const std::int64_t k = 20, n = 3;
    auto weights = make_weights(DType::F32, n, k, k, 8);
    const float inf = std::numeric_limits<float>::infinity();
    std::memcpy(weights.storage.data() + 4 * (1 * k + 4), &inf, 4);  // W[1][4]
    std::vector<float> x(static_cast<std::size_t>(m * k), 0.5f);
    std::vector<float> y(static_cast<std::size_t>(m * n));
    linear(x.data(), m, k, weights.view(), nullptr, y.data(), n, pool);
    for (std::int64_t r = 0; r < m; ++r) {
      EXPECT_EQ(y[static_cast<std::size_t>(r * n + 1)], inf);
      EXPECT_TRUE(std::isfinite(y[static_cast<std::size_t>(r * n)]));
    }
  }
}

TEST_P(LinearOnIsa, GemmF32MatchesReferenceInBothLayouts) {
  IsaScope scope(GetParam());
  ThreadPool pool(2);
  for (Transpose layout : {Transpose::Normal, Transpose::Transposed})
    for (std::int64_t m : {1, 4, 5, 64, 130})
      for (std::int64_t k : {1, 17, 64, 129})
        for (std::int64_t n : {1, 16, 33, 100}) {
          const std::int64_t lda = k + 1, ldc = n + 2;
          const std::int64_t ldb = layout == Transpose::Normal ? n + 3 : k + 3;
          const auto a = random_values(static_cast<std::size_t>(m * lda), 21);
          const auto b = random_values(
              static_cast<std::size_t>(layout == Transpose::Normal ? k * ldb : n * ldb), 22);
          // The reference wants Bᵀ as [n, k].
          std::vector<float> bt(static_cast<std::size_t>(n * k));
          for (std::int64_t j = 0; j < n; ++j)
            for (std::int64_t i = 0; i < k; ++i)
              bt[static_cast<std::size_t>(j * k + i)] =
                  layout == Transpose::Normal ? b[static_cast<std::size_t>(i * ldb + j)]
                                              : b[static_cast<std::size_t>(j * ldb + i)];
          const auto ref = reference_linear(a, m, lda, bt, n, k, nullptr);
          std::vector<float> c(static_cast<std::size_t>(m * ldc), -1.0f);
          gemm_f32(m, n, k, a.data(), lda, b.data(), ldb, layout, c.data(), ldc, pool);
          for (std::int64_t r = 0; r < m; ++r)
            for (std::int64_t j = 0; j < n; ++j) {
              const auto at = static_cast<std::size_t>(r * n + j);
              ASSERT_NEAR(c[static_cast<std::size_t>(r * ldc + j)], ref.value[at],
                          kRelTolerance * ref.magnitude[at] + 1e-30)
                  << "layout=" << static_cast<int>(layout) << " m=" << m << " k=" << k
                  << " n=" << n;
            }
        }
}

INSTANTIATE_TEST_SUITE_P(Isas, LinearOnIsa, ::testing::ValuesIn(supported_cpu_isas()),
                         isa_test_name);

TEST(Linear, RejectsUnsupportedDtypeAndScales) {
  ThreadPool pool(1);
  std::vector<std::int8_t> data(4);
  std::vector<float> x(2), y(2);
  const WeightMatrix i8{DType::I8, data.data(), 2, 2};
  try {
    linear(x.data(), 1, 2, i8, nullptr, y.data(), 2, pool);
    FAIL() << "I8 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::Unsupported);
    EXPECT_NE(std::string(e.what()).find("I8"), std::string::npos) << e.what();
  }
  const float scales[2] = {1, 1};
  const WeightMatrix scaled{DType::F32, data.data(), 2, 1, 0, scales};
  EXPECT_THROW(linear(x.data(), 1, 1, scaled, nullptr, y.data(), 2, pool), Error);
}

TEST(Linear, RejectsStridesShorterThanRows) {
  ThreadPool pool(1);
  std::vector<float> w(12), x(12), y(12);
  const WeightMatrix weights{DType::F32, w.data(), 3, 4};
  EXPECT_THROW(linear(x.data(), 2, 3, weights, nullptr, y.data(), 3, pool), Error);  // x
  EXPECT_THROW(linear(x.data(), 2, 4, weights, nullptr, y.data(), 2, pool), Error);  // y
  const WeightMatrix short_rows{DType::F32, w.data(), 3, 4, 3};
  EXPECT_THROW(linear(x.data(), 2, 4, short_rows, nullptr, y.data(), 3, pool), Error);
  EXPECT_THROW(linear(x.data(), -1, 4, weights, nullptr, y.data(), 3, pool), Error);
}

}  // namespace
}  // namespace vlmrt::native
