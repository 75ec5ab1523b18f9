#!/usr/bin/python3
"""Generates PyTorch bfloat16 reference outputs for the native CPU ops.

Each op is computed the way Hugging Face transformers computes it in a bf16 model (eager
attention, LlamaRMSNorm / GemmaRMSNorm forwards, F.gelu(approximate="tanh"), F.silu,
F.layer_norm, rotate_half RoPE, Gemma2 softcap). Inputs and outputs are written as float32 .npy
files (bf16 values are exact in float32) plus manifest.json describing the attention cases.
The C++ test torch_reference_test.cpp compares vlmrt's Bf16 mode with them bit for bit.

PyTorch version: vlmrt follows current transformers (v5), which needs PyTorch >= 2. There, a
bf16 elementwise op computes in f32 and rounds once (Gelu.h `reduced_fp_to_float`, SiLU and
mixed-type LayerNorm likewise), `bf16_tensor * python_float` / `/ python_float` use the scalar as
f32 (`original_scalar_value<opmath_t>` in BinaryOpsKernel.cpp) and matmuls accumulate in f32. The
torch installed for tests may be older (Debian's 1.13 differs in each), so those ops come from the
PyTorch reference's scripts/reference/numerics.py, which spells them as PyTorch 2 executes them:
the f32 kernel of the installed torch, then one `.to(bfloat16)`. Everything else (softmax, the HF
modules' own upcasts) is the installed torch's bf16 path as is.

Example: /usr/bin/python3 make_torch_op_reference.py --out /tmp/torch_ops
"""

import argparse
import json
import pathlib
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # write nothing into the source tree
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[4]))

from scripts.reference import numerics  # noqa: E402

BF16 = torch.bfloat16


def save(out: pathlib.Path, name: str, tensor: torch.Tensor) -> None:
    np.save(out / f"{name}.npy", tensor.detach().float().contiguous().numpy().astype(np.float32))


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def eager_attention(q, k, v, scale, allowed, softcap=None):
    """q [T, H, d], k/v [KV, K, d], allowed [T, K] bool -> [T, H, d]; HF eager, in q's dtype."""
    heads, kv_heads = q.shape[1], k.shape[0]
    qh = q.transpose(0, 1).unsqueeze(0)  # [1, H, T, d]
    kh = k.unsqueeze(0).repeat_interleave(heads // kv_heads, dim=1)  # repeat_kv
    vh = v.unsqueeze(0).repeat_interleave(heads // kv_heads, dim=1)
    # `* scale`, `/ softcap`, `* softcap` with the Python scalar in f32 and both products
    # accumulated in f32 (PyTorch >= 2).
    weights = numerics.mul_scalar(numerics.matmul(qh, kh.transpose(2, 3)), scale)
    if softcap is not None:
        weights = torch.tanh(numerics.div_scalar(weights, softcap))
        weights = numerics.mul_scalar(weights, softcap)
    mask = torch.zeros(allowed.shape, dtype=q.dtype)
    mask[~allowed] = torch.finfo(q.dtype).min
    weights = weights + mask
    weights = torch.softmax(weights, dim=-1, dtype=torch.float32).to(q.dtype)
    return numerics.matmul(weights, vh)[0].transpose(0, 1)


def allowed_mask(tokens, kind, prefix=0, window=0, valid=None):
    i = torch.arange(tokens)[:, None]
    j = torch.arange(tokens)[None, :]
    if kind == "none":
        allowed = torch.ones(tokens, tokens, dtype=torch.bool)
    elif kind == "causal":
        allowed = j <= i
    else:
        allowed = (j <= i) | ((i < prefix) & (j < prefix))
    if window > 0:
        allowed = allowed & (i - j < window)
    if valid is not None:
        allowed = allowed & valid[None, :]
    return allowed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--fingerprint", default="",
                        help="ignored; the C++ test passes a digest of "
                             "scripts/reference/numerics.py so that a change to it regenerates "
                             "the data")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(1234)
    torch.set_num_threads(1)

    # Activations: a vectorised body and a scalar tail (PyTorch's kernels have both).
    x = (torch.randn(40000 + 13) * 3).to(BF16)
    save(out, "act_x", x)
    save(out, "gelu", numerics.gelu_tanh(x))
    save(out, "silu", numerics.silu(x))

    gate_up = (torch.randn(16, 2 * 1536) * 2).to(BF16)
    gate, up = gate_up[:, :1536], gate_up[:, 1536:]
    save(out, "gated_x", gate_up)
    save(out, "geglu", numerics.gelu_tanh(gate) * up)
    save(out, "swiglu", numerics.silu(gate) * up)

    # RMSNorm, both forms, as the HF modules compute them.
    x = (torch.randn(16, 576) * 3).to(BF16)
    w = (torch.randn(576) * 0.5).to(BF16)
    save(out, "rms_x", x)
    save(out, "rms_w", w)
    hs = x.to(torch.float32)
    variance = hs.pow(2).mean(-1, keepdim=True)
    hs = hs * torch.rsqrt(variance + 1e-5)
    save(out, "rms_llama", w * hs.to(BF16))
    g = x.float()
    g = g * torch.rsqrt(g.pow(2).mean(-1, keepdim=True) + 1e-6)
    g = g * (1.0 + w.float())
    save(out, "rms_gemma", g.type_as(x))

    # LayerNorm (SigLIP, eps 1e-6).
    x = (torch.randn(16, 768) * 2 + 0.5).to(BF16)
    w = (torch.randn(768) * 0.5 + 1).to(BF16)
    b = (torch.randn(768) * 0.2).to(BF16)
    save(out, "ln_x", x)
    save(out, "ln_w", w)
    save(out, "ln_b", b)
    save(out, "ln_y", numerics.layer_norm(x, w, b, 1e-6))

    # RoPE at small and large positions (theta 100000, head_dim 64, 3 heads).
    positions = torch.tensor([0, 1, 5, 100, 1000, 4097, 8000, 8191, 12000, 30001])
    dim, theta = 64, 100000.0
    inv_freq = 1.0 / (theta ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))
    freqs = (inv_freq[None, :, None].float() @ positions[None, None, :].float()).transpose(1, 2)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos().to(BF16), emb.sin().to(BF16)  # [1, T, d]
    q = (torch.randn(1, 3, len(positions), dim) * 1.5).to(BF16)
    q_embed = q * cos.unsqueeze(1) + rotate_half(q) * sin.unsqueeze(1)
    save(out, "rope_positions", positions.float())
    save(out, "rope_inv_freq", inv_freq)
    save(out, "rope_q", q[0].transpose(0, 1))  # [T, H, d]
    save(out, "rope_y", q_embed[0].transpose(0, 1))

    # Softcap (Gemma2 final logits, cap 30).
    x = (torch.randn(5000) * 40).to(BF16)
    save(out, "softcap_x", x)
    y = torch.tanh(numerics.div_scalar(x, 30.0))
    save(out, "softcap_y", numerics.mul_scalar(y, 30.0))

    # Attention cases.
    cases = [
        dict(name="causal_gqa", tokens=100, heads=9, kv_heads=3, dim=64, kind="causal",
             scale=0.125),
        dict(name="vision", tokens=64, heads=4, kv_heads=4, dim=72, kind="none",
             scale=72 ** -0.5),
        dict(name="prefix_softcap_mqa", tokens=60, heads=8, kv_heads=1, dim=32,
             kind="prefix", prefix=40, softcap=50.0, scale=1 / 16),
        dict(name="key_padding", tokens=50, heads=4, kv_heads=4, dim=64, kind="none",
             valid=30, scale=0.125),
        dict(name="sliding", tokens=80, heads=4, kv_heads=2, dim=64, kind="causal", window=16,
             scale=0.125),
    ]
    for case in cases:
        t, h, kv, d = case["tokens"], case["heads"], case["kv_heads"], case["dim"]
        q = torch.randn(t, h, d).to(BF16)
        k = torch.randn(kv, t, d).to(BF16)
        v = torch.randn(kv, t, d).to(BF16)
        valid = None
        if "valid" in case:
            valid = torch.arange(t) < case["valid"]
        allowed = allowed_mask(t, case["kind"], case.get("prefix", 0), case.get("window", 0),
                               valid)
        o = eager_attention(q, k, v, case["scale"], allowed, case.get("softcap"))
        for part, tensor in (("q", q), ("k", k), ("v", v), ("out", o)):
            save(out, f"attn_{case['name']}_{part}", tensor)
    (out / "manifest.json").write_text(json.dumps({"attention": cases}, indent=1))


if __name__ == "__main__":
    main()
