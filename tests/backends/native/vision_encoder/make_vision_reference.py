#!/usr/bin/python3
"""Generates PyTorch-2-semantics references for the vision encoder tests.

The committed bf16 goldens (tests/fixtures/models/*-bf16) were computed by the torch installed
here, Debian's 1.13, whose bf16 CPU kernels differ from PyTorch >= 2 (what transformers v5 and
vlmrt's ops follow, see tests/backends/native/cpu/make_torch_op_reference.py):
  * F.gelu(approximate="tanh") rounds every intermediate to bf16 (PyTorch 2: f32, round once);
  * LayerNorm on bf16 does not compute in f32 and round once as PyTorch 2's mixed-type kernel;
  * `bf16_tensor * python_float` and `/ python_float` cast the scalar to bf16 first (PyTorch 2:
    to f32), which changes the attention scale 24^-0.5 of tiny-paligemma2.
This script runs the same reference model (scripts/reference, eager attention, model dtype) with
exactly those three op kinds spelled as PyTorch 2 executes them: the f32 kernel of the installed
torch, then one cast to the model dtype. Everything else (bf16 matmuls, convs, adds, softmax in
f32) is the installed torch's own path, which PyTorch 2 shares.

Writes, under --out:
  <fixture>/<case>/{vision_out,connector_out}.npy   every bf16 fixture case with images
  padded/<fixture>/{pixel_values,pixel_attention_mask,vision_out,connector_out}.npy
      for the Idefics3 fixtures (bf16 and fp32): a 4-frame batch built from the two_images
      golden's frames 0, 1, 3 — frame 1 real only in its top-left 12x20 pixels (zeros and mask
      0 elsewhere, as stack_samples pads) and an all-zero padding frame at index 2. The mask is
      saved as float32 0/1. Its outputs hold the 3 real frames.

Example: /usr/bin/python3 make_vision_reference.py --out /tmp/vision_reference
"""

import argparse
import json
import os
import pathlib
import sys
import types

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

REPO = pathlib.Path(__file__).resolve().parents[4]
sys.path.insert(0, str(REPO))

from scripts.reference import connector as ref_connector  # noqa: E402
from scripts.reference import siglip as ref_siglip  # noqa: E402
from scripts.reference.models import load_model  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "models"
PADDED_FIXTURES = ["tiny-smolvlm-bf16", "tiny-smolvlm-fp32", "tiny-smolvlm2-bf16",
                   "tiny-smolvlm2-fp32"]
PARTIAL_ROWS, PARTIAL_COLS = 12, 20  # real pixels of the partly padded frame


def f32_then_cast(fn, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
    return fn(x.float(), *args, **kwargs).to(x.dtype)


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    return f32_then_cast(F.gelu, x, approximate=approximate)


def layer_norm_forward(self: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor:
    return F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(),
                        self.eps).to(x.dtype)


def scalar_mul(x: torch.Tensor, s: float) -> torch.Tensor:
    return (x.float() * torch.tensor(s, dtype=torch.float32)).to(x.dtype)


def eager_attention(q, k, v, scale, mask=None, softcap=None):
    """scripts/reference/attention.py's eager_attention with the f32 scalar (no GQA, no softcap
    in the vision tower)."""
    assert softcap is None and q.shape[1] == k.shape[1]
    scores = scalar_mul(torch.matmul(q, k.transpose(2, 3)), scale)
    if mask is not None:
        scores = scores + mask
    probs = torch.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    out = torch.matmul(probs, v)
    return out.transpose(1, 2).reshape(q.shape[0], q.shape[2], -1)


def projector_forward(self, vision_out: torch.Tensor) -> torch.Tensor:
    y = self.linear(vision_out)
    return (y.float() / torch.tensor(self.text_hidden ** 0.5, dtype=torch.float32)).to(y.dtype)


def install_pytorch2_semantics() -> None:
    functional = types.SimpleNamespace(**{name: getattr(F, name) for name in dir(F)
                                          if not name.startswith("__")})
    functional.gelu = gelu
    ref_siglip.F = functional
    ref_siglip.eager_attention = eager_attention
    nn.LayerNorm.forward = layer_norm_forward
    ref_connector.PaliGemmaProjector.forward = projector_forward


def save(path: pathlib.Path, tensor: torch.Tensor) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, tensor.detach().float().contiguous().numpy().astype(np.float32))


def padded_batch(fixture: str) -> tuple[torch.Tensor, torch.Tensor]:
    frames = torch.from_numpy(np.load(FIXTURES / fixture / "goldens" / "two_images" /
                                      "pixel_values.npy"))
    size = frames.shape[-1]
    pixels = torch.zeros(4, 3, size, size)
    mask = torch.zeros(4, size, size)
    pixels[0], pixels[3] = frames[0], frames[3]
    mask[0], mask[3] = 1.0, 1.0
    pixels[1, :, :PARTIAL_ROWS, :PARTIAL_COLS] = frames[1, :, :PARTIAL_ROWS, :PARTIAL_COLS]
    mask[1, :PARTIAL_ROWS, :PARTIAL_COLS] = 1.0
    return pixels, mask


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output folder (created)")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    install_pytorch2_semantics()

    for fixture in sorted(os.listdir(FIXTURES)):
        if not fixture.endswith("-bf16"):
            continue
        model = load_model(str(FIXTURES / fixture))
        for case in sorted(os.listdir(FIXTURES / fixture / "goldens")):
            pixels_file = FIXTURES / fixture / "goldens" / case / "pixel_values.npy"
            if not pixels_file.exists():
                continue
            with torch.no_grad():
                vision, connected = model.image_features(torch.from_numpy(np.load(pixels_file)),
                                                         None)
            save(out / fixture / case / "vision_out.npy", vision)
            save(out / fixture / case / "connector_out.npy", connected)

    for fixture in PADDED_FIXTURES:
        model = load_model(str(FIXTURES / fixture))
        pixels, mask = padded_batch(fixture)
        with torch.no_grad():
            vision, connected = model.image_features(pixels, mask.to(torch.long))
        base = out / "padded" / fixture
        save(base / "pixel_values.npy", pixels)
        save(base / "pixel_attention_mask.npy", mask)
        save(base / "vision_out.npy", vision)
        save(base / "connector_out.npy", connected)
    (out / "manifest.json").write_text(json.dumps({"torch": torch.__version__}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
