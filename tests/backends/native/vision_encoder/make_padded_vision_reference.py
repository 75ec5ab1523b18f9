#!/usr/bin/python3
"""The PyTorch reference's vision tower and connector on a padded Idefics3 batch.

The committed goldens hold only unpadded batches (one prompt's pixel mask is all ones), so
vision_encoder_test.cpp's PaddedBatchMatchesPytorchReference gets its reference here, from the
same scripts/reference model that made the goldens (bf16 with PyTorch 2 numerics, see
scripts/reference/numerics.py).

For each Idefics3 fixture (tiny-smolvlm{,2}-{bf16,fp32}): a 4-frame batch built from the
two_images golden's frames 0, 1, 3 — frame 1 real only in its top-left 12x20 pixels (zeros and
mask 0 elsewhere, as stack_samples pads) and an all-zero padding frame at index 2. Writes
<out>/<fixture>/{pixel_values,pixel_attention_mask,vision_out,connector_out}.npy, float32 (the
mask as 0/1); the outputs hold the 3 real frames.

Example: /usr/bin/python3 make_padded_vision_reference.py --out /tmp/padded_vision_reference
"""

import argparse
import pathlib
import sys

import numpy as np
import torch

REPO = pathlib.Path(__file__).resolve().parents[4]
sys.dont_write_bytecode = True  # write nothing into the source tree
sys.path.insert(0, str(REPO))

from scripts.reference.models import load_model  # noqa: E402

FIXTURES = REPO / "tests" / "fixtures" / "models"
PADDED_FIXTURES = ["tiny-smolvlm-bf16", "tiny-smolvlm-fp32", "tiny-smolvlm2-bf16",
                   "tiny-smolvlm2-fp32"]
PARTIAL_ROWS, PARTIAL_COLS = 12, 20  # real pixels of the partly padded frame


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
    parser.add_argument("--fingerprint", default="",
                        help="ignored; the C++ test passes a digest of the inputs (the reference "
                             "sources and the fixtures) so that a change to them regenerates "
                             "the data")
    args = parser.parse_args()
    out = pathlib.Path(args.out)
    for fixture in PADDED_FIXTURES:
        model = load_model(str(FIXTURES / fixture))
        pixels, mask = padded_batch(fixture)
        with torch.no_grad():
            vision, connected = model.image_features(pixels, mask.to(torch.long))
        save(out / fixture / "pixel_values.npy", pixels)
        save(out / fixture / "pixel_attention_mask.npy", mask)
        save(out / fixture / "vision_out.npy", vision)
        save(out / fixture / "connector_out.npy", connected)
    return 0


if __name__ == "__main__":
    sys.exit(main())
