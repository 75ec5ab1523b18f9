// The non-GEMM ops of the native CPU engine (llama.cpp-style small op set): norms, elementwise
// arithmetic, activations and gated MLP products, softcap and argmax. The tensor-shaped ops
// (embedding, RoPE, pixel shuffle, patch embedding) are in ops_tensor.hpp, attention in
// attention.hpp.
//
// Every activation is an f32 buffer. To match Hugging Face on bf16 (or f16) checkpoints the
// engine emulates the model dtype by rounding op OUTPUTS where PyTorch materialises a tensor of
// that dtype, keeping the rounded values in f32 storage (MODELS.md §7.1b); the internal upcasts
// follow §7.2 exactly. Each op documents its rounding points; the tests pin them bit for bit.
//
// Conventions: sizes are element counts; a `*_stride` is the distance in elements between
// consecutive rows; output may alias input only where an op says "in place". Parameter vectors
// (norm weights, biases) are f32 copies of the checkpoint values (exact for bf16/f16 weights).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/thread_pool.hpp"

namespace vlmrt::native {

// The dtype an op's outputs are rounded to (round to nearest even), stored as f32. F32 = no
// rounding: plain f32 math.
enum class Precision { F32, Bf16, F16 };

// Rounds one value / a buffer in place to `precision` (the cast `.to(dtype)` of PyTorch).
float round_to_precision(float x, Precision precision);
void round_to_precision(float* x, std::size_t n, Precision precision);

// y = ((x − mean) · rstd) · w + b per row, like PyTorch's CPU kernel: mean and variance
// (population) of the row, rstd = 1/sqrt(var + eps) in f32, then (x·rstd + (−rstd·mean))·w + b in
// f32, rounded to `precision` once. w and b have `cols` values. y may alias x (same stride).
void layer_norm(const float* x, std::size_t rows, std::size_t cols, std::size_t x_stride,
                const float* weight, const float* bias, float eps, float* y, std::size_t y_stride,
                Precision precision, ThreadPool& pool);

// The two RMSNorm forms (MODELS.md §3.5, §3.7). With n = x · (1/sqrt(mean(x²) + eps)) in f32:
//   Gemma: y = round(n · (1 + w))             — (1 + w) in f32, one rounding at the end;
//   Llama: y = round(round(n) · w)            — n cast to the model dtype first, then · w.
enum class RmsNormForm { Gemma, Llama };
void rms_norm(const float* x, std::size_t rows, std::size_t cols, std::size_t x_stride,
              const float* weight, float eps, RmsNormForm form, float* y, std::size_t y_stride,
              Precision precision, ThreadPool& pool);

// Elementwise, all rounded once: y[i] = round(a[i] + b[i]); a may alias y (residual add in place).
void add(const float* a, const float* b, float* y, std::size_t n, Precision precision);
// y[i] = round(a[i] · b[i]); a may alias y.
void mul(const float* a, const float* b, float* y, std::size_t n, Precision precision);
// x[i] = round(x[i] · float(s)) in place: a tensor times a Python scalar (the scalar is cast to
// f32, PyTorch's opmath type for f32/bf16/f16). Callers dividing by d pass s = 1/d only when
// that is what the reference computes (see MODELS.md §3.3).
void scale(float* x, std::size_t n, double s, Precision precision);
// x[i] = round(x[i] / float(d)) in place: a tensor divided by a Python scalar, as PyTorch's CPU
// kernel does it (a true f32 division by the scalar cast to f32; PaliGemma's projector ÷ sqrt(H),
// MODELS.md §3.3). Not scale(x, 1/d): 1/d is itself rounded, so the product differs from the
// quotient in the last f32 bit for many x (kept by f32 models, rarely visible after bf16 rounding).
void divide(float* x, std::size_t n, double d, Precision precision);

// Activations in f32, rounded once: PyTorch gelu(approximate="tanh") and silu. In place allowed.
void gelu_tanh(const float* x, float* y, std::size_t n, Precision precision, ThreadPool& pool);
void silu(const float* x, float* y, std::size_t n, Precision precision, ThreadPool& pool);

// Gated MLP product on a fused [gate | up] row of 2·inner values (gate first):
//   y[j] = round(round(act(gate[j])) · up[j])
// i.e. HF's act_fn(gate_proj(x)) * up_proj(x) with both products materialised in the model dtype.
// GeGLU uses gelu_tanh (Gemma), SwiGLU uses silu (Llama). y may alias the gate half of x.
enum class GatedActivation { GeluTanh, Silu };
void gated_activation(const float* x, std::size_t rows, std::size_t inner, std::size_t x_stride,
                      GatedActivation activation, float* y, std::size_t y_stride,
                      Precision precision, ThreadPool& pool);

// x[i] = c · tanh(x[i] / c) in place, in the model dtype as Gemma2 eager does it:
// round(round(tanh(round(x / c))) · c) (three PyTorch ops). c > 0.
void softcap(float* x, std::size_t n, float cap, Precision precision);

// Index of the largest value; ties go to the lowest index; a NaN counts as the largest (the first
// NaN wins), as in torch.argmax. n = 0 throws vlmrt::Error(InvalidArgument).
std::size_t argmax(const float* x, std::size_t n);

}  // namespace vlmrt::native
