#!/usr/bin/python3
"""Greedy generation with the PyTorch reference; prints the generated token ids as a JSON array.

Examples:
  /usr/bin/python3 -m scripts.reference.run --model tests/fixtures/models/tiny-smolvlm \\
      --image photo.png --prompt "Describe the image." --max-new-tokens 24
  /usr/bin/python3 scripts/reference/run.py --model DIR --image a.png --image b.png \\
      --prompt "Compare." --dtype float32 --show-text
"""
from __future__ import annotations

import argparse
import json
import os
import sys

if __package__ in (None, ""):
    sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))

from scripts.reference.config import load_generation_config, torch_dtype  # noqa: E402
from scripts.reference.generate import greedy  # noqa: E402
from scripts.reference.models import load_model  # noqa: E402
from scripts.reference.processing import prepare_inputs  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="Hugging Face model folder (config.json, "
                        "*.safetensors, tokenizer.json, preprocessor_config.json)")
    parser.add_argument("--image", action="append", default=[],
                        help="an image file; repeat for several images (none: a text-only turn)")
    parser.add_argument("--prompt", required=True, help="the user text (PaliGemma: e.g. 'caption en')")
    parser.add_argument("--max-new-tokens", type=int, default=20,
                        help="stop after this many tokens (default 20, transformers' max_length)")
    parser.add_argument("--dtype", default=None,
                        help="float32 or bfloat16 (default: the checkpoint's dtype)")
    parser.add_argument("--raw", action="store_true",
                        help="SmolVLM: use the prompt as the model text (with <image> markers) "
                             "instead of the chat template")
    parser.add_argument("--final-logit-softcap", action="store_true",
                        help="apply Gemma2's final_logit_softcapping (off in transformers v5)")
    parser.add_argument("--show-text", action="store_true", help="also print the expanded prompt")
    args = parser.parse_args()

    model = load_model(args.model, torch_dtype(args.dtype) if args.dtype else None,
                       args.final_logit_softcap)
    inputs = prepare_inputs(args.model, args.prompt, args.image, chat=not args.raw)
    generation = load_generation_config(args.model, model.config)
    result = greedy(model, inputs.input_ids, inputs.pixel_values, inputs.pixel_attention_mask,
                    inputs.token_type_ids, args.max_new_tokens, generation.eos_token_ids,
                    generation.repetition_penalty)
    if args.show_text:
        print(json.dumps(inputs.text))
    print(json.dumps(result.tokens))
    return 0


if __name__ == "__main__":
    sys.exit(main())
