#!/usr/bin/python3
"""Greedy-decoding references for the bf16 tiny fixtures, computed with PyTorch >= 2 numerics.

For every case of every tests/fixtures/models/*-bf16 fixture, runs the PyTorch reference
(scripts/reference) text model on the case's input_ids with connector_out.npy merged at the image
ids (as the golden test feeds the native decoder), then 24 greedy steps, and writes
<out>/<fixture>/<case>/{prefill_logits.npy, step_logits.npy, tokens.json}.

Why not the committed goldens: vlmrt follows current transformers, which needs PyTorch >= 2, and
the committed bf16 goldens were made with the torch installed here (Debian's 1.13), which differs
in three places that change bf16 results (each checked against the installed torch):
  1. F.silu / F.gelu(approximate="tanh") on bf16 round every intermediate to bf16; PyTorch 2
     computes in f32 and rounds once (also what ops.hpp implements).
  2. `bf16_tensor * python_float` rounds the scalar to bf16 first (Gemma2's attention scale
     32^-0.5 in the tiny PaliGemma2); PyTorch 2 multiplies by the f32 scalar.
  3. bf16 matmuls too small for oneDNN (bmm with b·m·k·n <= 4096, i.e. decode attention over
     <= 64 keys in these fixtures) accumulate in bf16 with every product rounded; PyTorch 2
     accumulates in f32 (as oneDNN, and every real-size model, always do).
So this script spells exactly those ops as PyTorch 2 does (the installed torch's f32 kernels,
then one cast to bf16) and leaves everything else to the reference as it is. The prefill of the
committed goldens is affected by 1 and 2 only; decoding by all three.

Example: /usr/bin/python3 make_bf16_decoder_reference.py --out /tmp/bf16_decoder_reference
"""

import argparse
import json
import pathlib
import sys
import types

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

ROOT = pathlib.Path(__file__).resolve().parents[4]
sys.dont_write_bytecode = True  # write nothing into the source tree
sys.path.insert(0, str(ROOT))

from scripts.reference import decoder, generate, models  # noqa: E402

STEPS = 24


def matmul_f32(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """A bf16 matmul as PyTorch 2 / oneDNN computes it: f32 accumulation, one rounding."""
    return torch.matmul(a.float(), b.float()).to(a.dtype)


def eager_attention(q, k, v, scale, mask=None, softcap=None):
    """scripts/reference/attention.py eager_attention with the three PyTorch 2 points above."""
    groups = q.shape[1] // k.shape[1]
    if groups > 1:
        k = k.repeat_interleave(groups, dim=1)
        v = v.repeat_interleave(groups, dim=1)
    scores = (matmul_f32(q, k.transpose(2, 3)).float() * scale).to(q.dtype)
    if softcap is not None:
        scores = (scores.float() / softcap).to(q.dtype)
        scores = torch.tanh(scores)
        scores = (scores.float() * softcap).to(q.dtype)
    if mask is not None:
        scores = scores + mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    out = matmul_f32(probs, v)
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)


def linear_f32(self: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    y = x.float() @ self.weight.float().T
    if self.bias is not None:
        y = y + self.bias.float()
    return y.to(x.dtype)


def install_pytorch2_numerics() -> None:
    functional = types.SimpleNamespace(**{name: getattr(F, name) for name in dir(F)
                                          if not name.startswith("__")})
    functional.silu = lambda x: F.silu(x.float()).to(x.dtype)
    functional.gelu = lambda x, approximate="none": F.gelu(x.float(),
                                                           approximate=approximate).to(x.dtype)
    decoder.F = functional
    decoder.eager_attention = eager_attention
    # The installed torch already accumulates bf16 Linear layers in f32; spelled out so that
    # this holds for every shape.
    nn.Linear.forward = linear_f32


@torch.no_grad()
def run_case(model: models.VisionLanguageModel, case_dir: pathlib.Path, out: pathlib.Path) -> None:
    case = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    ids = torch.tensor(case["input_ids"], dtype=torch.long)
    embeds = model._embed(ids)
    connector = case_dir / "connector_out.npy"
    if connector.exists():
        rows = np.load(connector)
        features = torch.from_numpy(rows.reshape(-1, rows.shape[-1])).to(embeds.dtype)
        embeds[0, ids == model.config.image_token_id] = features
    token_types = case.get("token_type_ids")
    groups = model.prefix_groups(None if token_types is None else torch.tensor(token_types),
                                 ids.numel())
    cache = models.DecodeCache(model.config.text.num_hidden_layers)
    positions = torch.arange(ids.numel()) + model.position_offset
    prefill = model._logits(model.text_model(embeds, positions, cache, groups))[0]
    logits = prefill[-1]
    steps, tokens = [], []
    for step in range(STEPS):
        scores = logits.float()
        steps.append(scores)
        tokens.append(generate.pick_token(scores))
        if step + 1 < STEPS:
            logits = model.decode_step(tokens[-1], cache)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "prefill_logits.npy", prefill.float().numpy().astype("<f4"))
    np.save(out / "step_logits.npy", torch.stack(steps).numpy().astype("<f4"))
    (out / "tokens.json").write_text(json.dumps(tokens), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (created if missing)")
    parser.add_argument("--fingerprint", default="",
                        help="ignored; the C++ test passes a digest of the inputs so that a "
                             "change to them regenerates the data")
    args = parser.parse_args()
    torch.set_num_threads(2)
    install_pytorch2_numerics()
    out = pathlib.Path(args.out)
    for folder in sorted((ROOT / "tests/fixtures/models").glob("*-bf16")):
        model = models.load_model(str(folder))
        for case_dir in sorted((folder / "goldens").iterdir()):
            run_case(model, case_dir, out / folder.name / case_dir.name)


if __name__ == "__main__":
    main()
