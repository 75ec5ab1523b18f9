#!/usr/bin/python3
"""Exports a Hugging Face PaliGemma / PaliGemma2 / SmolVLM (Idefics3) / SmolVLM2 folder to the
published ONNX layout (docs ONNX-LAYOUT.md): OUT/onnx/{vision_encoder,embed_tokens,
decoder_model_merged}{suffix}.onnx plus the configs and tokenizer files copied beside onnx/.

Examples:
  /usr/bin/python3 scripts/export_onnx.py --model tests/fixtures/models/tiny-smolvlm-fp32 \\
      --out /tmp/tiny-smolvlm-onnx
  /usr/bin/python3 scripts/export_onnx.py --model ~/SmolVLM-256M-Instruct --out out \\
      --dtype fp32,fp16,int8,q4 --checker build/vlmrt_onnx_check

Graphs (opset 17, attention written out by hand; the math is scripts/reference's):
  vision_encoder   SmolVLM: pixel_values float32 [batch_size, num_images, 3, S, S] +
                   pixel_attention_mask bool [batch_size, num_images, S, S] -> image_features
                   float32 [num_images_total, image_seq_len, H] (all-zero padding frames dropped,
                   pixel shuffle + projection inside). PaliGemma: pixel_values [batch_size, 3, S, S]
                   -> image_features [batch_size, P, H], already divided by sqrt(H).
  embed_tokens     input_ids int64 [batch_size, sequence_length] -> inputs_embeds float32
                   (Gemma embeddings NOT scaled; the decoder scales by sqrt(H)).
  decoder_model_merged  inputs_embeds float32 [batch_size, sequence_length, H],
                   attention_mask int64 [batch_size, total_sequence_length] (SmolVLM only),
                   position_ids int64 [batch_size, sequence_length] (SmolVLM 0-based,
                   PaliGemma 1-based), past_key_values.{i}.key/.value
                   [batch_size, kv_heads, past_sequence_length, head_dim] (zero-length at the
                   first step) -> logits float32 [batch_size, logits_length, V],
                   present.{i}.key/.value [batch_size, kv_heads, total_sequence_length, head_dim].
                   Masks: SmolVLM causal + attention_mask; PaliGemma (no mask input) attends
                   bidirectionally over the whole first step (zero-length past = the prefill) and
                   causally afterwards; Gemma2 softcap, sliding window and GQA as the reference.

Logits trimming: the decoder has an extra int64 scalar input `num_logits_to_keep` WITH A
DEFAULT VALUE of 1 (an initializer of the same name). ONNX Runtime lists it as an overridable
initializer, not a required input, so a caller that does not know it (transformers.js) runs
unchanged and gets logits [B, 1, V] for the last position; k > 0 feeds the last k positions
(k >= S: all), k = 0 returns every position (Hugging Face's convention). `vlmrt_onnx_check
--describe` prints it as 'input-with-default'.

Variants (--dtype):
  fp32  no suffix.
  fp16  `_fp16`: weights and compute in float16 where the reference computes in the model dtype
        (its fp32 islands — RMSNorm, softmax, RoPE tables — stay fp32); pixel_values,
        image_features, inputs_embeds and logits stay float32 at the graph boundary; the KV cache
        inputs/outputs are float16.
  int8  `_int8`: every MatMul with a constant weight (all Linear layers, lm_head included):
        per-output-channel symmetric int8 weights, activations quantized per tensor at run time
        (DynamicQuantizeLinear -> MatMulInteger -> Cast -> Mul). Conv and Gather stay fp32.
  q4    `_q4`: the same MatMuls as com.microsoft MatMulNBits (bits 4, block_size 32, symmetric:
        no zero_points input, ORT's implied zero point 8). Conv and Gather stay fp32.
  embed_tokens has no MatMul: its int8/q4 files equal the fp32 one (fp16 stores an fp16 table).

Check: after writing, every variant runs through ONNX Runtime via the project's checker
(tools/onnx_check, build it with `ninja -C build vlmrt_onnx_check`) on sample inputs built
from the config and is compared with the PyTorch reference in float32: image_features,
inputs_embeds, prefill logits (all positions) and DECODE_STEPS single-token steps. fp32 must be
within 1e-4 × max(1, max |reference|) per tensor; other variants must be finite and their max
|diff| is printed. Exit status: 0 ok, 1 check failed, 2 usage / missing checker.

Loading: with `transformers` importable (--loader auto|transformers) the checkpoint is read by
AutoModelForImageTextToText and its state dict is moved into the reference modules (UNTESTED
here: this machine has no transformers); otherwise scripts/reference reads the safetensors.
Tracing runs in float64 on the float32 reference model with its weights swapped for zero-cost
placeholders (scripts/onnx_export/params.py): memory is about the fp32 model plus the
activations of one image. Measured here (2 shared cores, torch 1.13) on a random-weight
SmolVLM-256M-Instruct (scripts/make_random_model.py): all four variants written in 2.5 min, checked
in 2.7 min more, 4 GB peak memory. Graphs past 2 GB keep their weights in NAME.onnx_data.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

import torch  # noqa: E402

from scripts.onnx_export import check, export, quantize  # noqa: E402
from scripts.onnx_export.runner import Checker, CheckerFailed, CheckerMissing  # noqa: E402
from scripts.reference.config import load_config  # noqa: E402
from scripts.reference.models import VisionLanguageModel, build_model  # noqa: E402
from scripts.reference.weights import canonical_name, load_checkpoint  # noqa: E402

VARIANTS = {"fp32": "", "fp16": "_fp16", "int8": "_int8", "q4": "_q4"}
COPIED_FILES = ("config.json", "generation_config.json", "preprocessor_config.json",
                "processor_config.json", "chat_template.json", "chat_template.jinja",
                "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def load_tensors(model_dir: str, loader: str) -> dict[str, torch.Tensor]:
    """Checkpoint tensors with canonical (transformers v5) names."""
    if loader in ("auto", "transformers"):
        try:
            import transformers  # noqa: F401
        except ImportError:
            if loader == "transformers":
                raise SystemExit("--loader transformers: `import transformers` fails")
        else:
            # ---- transformers path: UNTESTED on this machine (no transformers installed) ----
            from transformers import AutoModelForImageTextToText
            hf = AutoModelForImageTextToText.from_pretrained(model_dir, torch_dtype=torch.float32)
            tensors = {}
            for name, value in hf.state_dict().items():
                canonical = canonical_name(name)
                if canonical is not None:
                    tensors[canonical] = value.detach().clone()
            del hf
            # ---- end of the transformers path ----
            return tensors
    return load_checkpoint(model_dir)


def parse_variants(text: str) -> list[str]:
    names = [v.strip() for v in text.split(",") if v.strip()]
    bad = [v for v in names if v not in VARIANTS]
    if bad or not names:
        raise ValueError(f"--dtype: unknown variant(s) {bad or text!r}; choose from "
                         f"{', '.join(VARIANTS)}")
    return list(dict.fromkeys(names))


def build_variant(traced: dict, variant: str, model: VisionLanguageModel) -> dict:
    """The three graphs of one variant, ready to save."""
    target = export.FLOAT16 if variant == "fp16" else export.FLOAT
    config = model.config
    out = {}
    for name, graph in traced.items():
        g = export.finish(graph, target)
        if variant == "int8" and name != "embed_tokens":
            quantize.quantize_int8(g)
        elif variant == "q4" and name != "embed_tokens":
            quantize.quantize_q4(g)
        if name == "vision_encoder":
            first = "batch_size" if config.is_paligemma else "num_images_total"
            export.set_dims(g, "image_features", [first, config.image_seq_len,
                                                  config.text.hidden_size])
        if name == "decoder_model_merged":
            export.add_logits_default(g)
        out[name] = g
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True,
                        help="Hugging Face model folder (config.json, *.safetensors, tokenizer "
                             "files), e.g. --model tests/fixtures/models/tiny-smolvlm-fp32")
    parser.add_argument("--out", required=True,
                        help="output folder; gets onnx/*.onnx and copies of the config/tokenizer "
                             "files, nothing else, e.g. --out /tmp/smolvlm-onnx")
    parser.add_argument("--dtype", default="fp32",
                        help="comma list of variants: fp32 (no suffix), fp16 (_fp16), int8 "
                             "(_int8), q4 (_q4); default fp32, e.g. --dtype fp32,q4")
    parser.add_argument("--checker", default=None,
                        help="the vlmrt_onnx_check executable that runs the check (default "
                             "build/vlmrt_onnx_check in the repository), e.g. --checker "
                             "build-onnx/vlmrt_onnx_check")
    parser.add_argument("--skip-check", action="store_true",
                        help="write the files without running them through ONNX Runtime, e.g. "
                             "--skip-check (when the checker is not built)")
    parser.add_argument("--loader", choices=("auto", "reference", "transformers"), default="auto",
                        help="who reads the checkpoint: transformers when importable (auto), "
                             "or always scripts/reference, e.g. --loader reference")
    parser.add_argument("--final-logit-softcap", action="store_true",
                        help="Gemma2 only: put final_logit_softcapping into the decoder (off, as "
                             "in transformers v5; MODELS.md §3.6), e.g. --final-logit-softcap")
    args = parser.parse_args()
    try:
        variants = parse_variants(args.dtype)
    except ValueError as e:
        parser.error(str(e))  # exit status 2
    torch.set_num_threads(2)

    checker = None
    if not args.skip_check:
        path = args.checker or os.path.join(REPO, "build", "vlmrt_onnx_check")
        try:
            checker = Checker(path)
        except CheckerMissing:
            print(f"export_onnx: the checker {path} is missing. Build it with\n"
                  f"  cmake -S {REPO} -B {REPO}/build -G Ninja && ninja -C {REPO}/build "
                  "vlmrt_onnx_check\n(it needs ONNX Runtime from scripts/setup), pass its path "
                  "with --checker, or give --skip-check.", file=sys.stderr)
            return 2

    started = time.monotonic()
    config = load_config(args.model)
    tensors = load_tensors(args.model, args.loader)
    reference = build_model(config, tensors, torch.float32, args.final_logit_softcap)
    del tensors
    traced = export.export_graphs(reference)
    onnx_dir = os.path.join(args.out, "onnx")
    os.makedirs(onnx_dir, exist_ok=True)
    for variant in variants:
        for name, graph in build_variant(traced, variant, reference).items():
            export.save(graph, os.path.join(onnx_dir, f"{name}{VARIANTS[variant]}.onnx"))
    for name in COPIED_FILES:
        source, target = os.path.join(args.model, name), os.path.join(args.out, name)
        if os.path.isfile(source) and not (os.path.exists(target) and
                                           os.path.samefile(source, target)):
            shutil.copyfile(source, target)
    print(f"export_onnx: wrote {', '.join(variants)} to {onnx_dir} "
          f"in {time.monotonic() - started:.1f} s")
    if checker is None:
        return 0

    sample = check.sample_inputs(reference)
    expected = check.reference_outputs(reference, sample)
    failed = False
    for variant in variants:
        try:
            report = check.check_variant(checker, reference, onnx_dir, variant,
                                         VARIANTS[variant], sample, expected)
        except (CheckerFailed, ValueError) as e:
            print(f"export_onnx: check of variant '{variant}' failed: {e}", file=sys.stderr)
            failed = True
            continue
        print("export_onnx: " + report.line())
        for problem in report.problems:
            print(f"export_onnx: check of variant '{variant}' failed: {problem}", file=sys.stderr)
        failed |= bool(report.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
