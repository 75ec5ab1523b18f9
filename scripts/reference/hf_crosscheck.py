#!/usr/bin/python3
"""Cross-checks the reference's fixtures against real Hugging Face transformers.

For every fixture folder FIXTURES/<name>/ (a Hugging Face model folder) and every case in
<name>/goldens/<case>/ (case.json + *.npy written by scripts/make_fixtures.py from this reference),
transformers (eager attention, PIL/slow image processor, the fixture's dtype) must reproduce:
  * input_ids            processor(text, images) == case.json "input_ids"       (exact)
  * pixel_values         == pixel_values.npy (and pixel_attention_mask.npy)     (exact)
  * vision_out           vision tower last_hidden_state (forward hook)           (tolerance)
  * connector_out        outputs.image_hidden_states                             (tolerance)
  * prefill_logits       logits of every prompt position, fed the golden inputs  (tolerance)
  * tokens, step_logits  generate(): greedy, max_new_tokens as in case.json, eos ignored when
                         case.json says so, raw per-step logits                 (exact / tol.)
Tolerances: max|diff| ≤ tol·max(1, max|golden|), tol = 1e-4 (float32, TF32 off) or 3e-2
(bfloat16: GPU and CPU kernels round differently). A token mismatch at a step whose golden top-2
gap is within the tolerance is reported as a near tie, not a failure. For Gemma2 fixtures the
report says whether transformers applies the final-logit softcap (MODELS.md errata 14).

Results, with the transformers and torch versions and the device, are written to
<name>/hf_crosscheck.json (unless --no-write). Needs only the repo, Python, torch, transformers.

Exit codes: 0 all equal; 1 a mismatch; 2 transformers missing (0 with --allow-missing).

Example:
  python3 scripts/reference/hf_crosscheck.py --fixtures tests/fixtures/models
  python3 scripts/reference/hf_crosscheck.py --fixtures tests/fixtures/models --only tiny-smolvlm-bf16
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import Any, Optional

import numpy as np


def _load_transformers() -> Optional[Any]:
    try:
        import transformers
    except ImportError:
        return None
    return transformers


class Report:
    def __init__(self) -> None:
        self.checks: list[dict[str, Any]] = []
        self.failed = False

    def add(self, case: str, what: str, ok: bool, detail: str) -> None:
        self.checks.append({"case": case, "check": what, "ok": ok, "detail": detail})
        self.failed |= not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {case}: {what}: {detail}", flush=True)


def _close(report: Report, case: str, what: str, got: Any, golden: np.ndarray, tol: float) -> bool:
    got = np.asarray(got, dtype=np.float32).reshape(golden.shape)
    worst = float(np.max(np.abs(got - golden))) if golden.size else 0.0
    limit = tol * max(1.0, float(np.max(np.abs(golden))) if golden.size else 1.0)
    report.add(case, what, worst <= limit, f"max|diff| {worst:.3g} (limit {limit:.3g})")
    return worst <= limit


def _processor(transformers: Any, folder: str) -> tuple[Any, str]:
    """The PIL ("slow") image processor: v5 selects it with backend="pil", v4 with use_fast=False."""
    errors = []
    for kwargs in ({"backend": "pil"}, {"use_fast": False}):
        try:
            processor = transformers.AutoProcessor.from_pretrained(folder, **kwargs)
        except (TypeError, ValueError) as error:
            errors.append(f"{kwargs}: {error}")
            continue
        name = type(processor.image_processor).__name__
        if "Fast" not in name:
            return processor, f"{name} {kwargs}"
        errors.append(f"{kwargs}: got {name}")
    raise RuntimeError("no PIL image processor: " + "; ".join(errors))


def _model(transformers: Any, folder: str, dtype: Any) -> Any:
    with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
        architecture = json.load(f)["architectures"][0]
    cls = getattr(transformers, architecture)
    try:
        model = cls.from_pretrained(folder, dtype=dtype, attn_implementation="eager")
    except TypeError:  # transformers v4 spells it torch_dtype
        model = cls.from_pretrained(folder, torch_dtype=dtype, attn_implementation="eager")
    return model.eval()


def _vision_module(model: Any) -> Any:
    for path in ("model.vision_tower", "vision_tower", "model.vision_model", "model.model.vision_model"):
        obj = model
        try:
            for part in path.split("."):
                obj = getattr(obj, part)
        except AttributeError:
            continue
        return obj
    raise RuntimeError("vision tower not found in the transformers model")


def check_case(torch: Any, processor: Any, model: Any, case_dir: str, tol: float,
               report: Report) -> dict[str, Any]:
    from PIL import Image

    name = os.path.basename(case_dir)
    with open(os.path.join(case_dir, "case.json"), encoding="utf-8") as f:
        case = json.load(f)
    golden = {k: np.load(os.path.join(case_dir, k + ".npy")) for k in case["arrays"]}
    images = [Image.open(os.path.join(case_dir, i)).convert("RGB") for i in case["images"]]
    device = next(model.parameters()).device
    dtype = next(model.parameters()).dtype
    findings: dict[str, Any] = {}

    # Processor: text and pixels.
    text = case["prompt"]
    if case.get("chat"):
        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": case["prompt"]}]
        text = processor.apply_chat_template([{"role": "user", "content": content}],
                                             add_generation_prompt=True)
    kwargs = {"images": [images]} if images else {}
    inputs = processor(text=[text], return_tensors="pt", **kwargs)
    ids = inputs["input_ids"][0].tolist()
    report.add(name, "input_ids", ids == case["input_ids"],
               "equal" if ids == case["input_ids"] else f"{len(ids)} vs {len(case['input_ids'])} ids")
    if "pixel_values" in golden:
        pv = inputs["pixel_values"].float().numpy().reshape(golden["pixel_values"].shape)
        diff = float(np.max(np.abs(pv - golden["pixel_values"])))
        report.add(name, "pixel_values", diff == 0.0, f"max|diff| {diff:.3g}")
    if "pixel_attention_mask" in golden and "pixel_attention_mask" in inputs:
        same = np.array_equal(inputs["pixel_attention_mask"].numpy().reshape(-1),
                              golden["pixel_attention_mask"].reshape(-1))
        report.add(name, "pixel_attention_mask", same, "equal" if same else "differs")

    # Model, fed the golden inputs so that processor and model are judged separately.
    feed: dict[str, Any] = {"input_ids": torch.tensor([case["input_ids"]], device=device)}
    feed["attention_mask"] = torch.ones_like(feed["input_ids"])
    if case.get("token_type_ids") is not None:
        feed["token_type_ids"] = torch.tensor([case["token_type_ids"]], device=device)
    if "pixel_values" in golden:
        pixels = torch.from_numpy(golden["pixel_values"]).to(device, dtype)
        # PaliGemma takes [images, 3, S, S]; Idefics3/SmolVLM a batch of frame lists.
        feed["pixel_values"] = pixels if model.config.model_type == "paligemma" else pixels[None]
        if "pixel_attention_mask" in golden:
            feed["pixel_attention_mask"] = torch.from_numpy(golden["pixel_attention_mask"]).to(
                device)[None].bool()
    captured: dict[str, Any] = {}
    hook = _vision_module(model).register_forward_hook(
        lambda _m, _i, out: captured.setdefault("vision_out", out.last_hidden_state))
    with torch.no_grad():
        out = model(**feed, use_cache=False)
    hook.remove()
    if "vision_out" in golden:
        _close(report, name, "vision_out", captured["vision_out"].float().cpu(), golden["vision_out"], tol)
    if "connector_out" in golden:
        _close(report, name, "connector_out", out.image_hidden_states.float().cpu(),
               golden["connector_out"], tol)
    logits = out.logits[0].float().cpu().numpy()
    plain = _close(report, name, "prefill_logits", logits, golden["prefill_logits"], tol)
    cap = getattr(getattr(model.config, "text_config", None), "final_logit_softcapping", None)
    if getattr(model.config.text_config, "model_type", "") == "gemma2" and cap:
        capped = np.tanh(golden["prefill_logits"] / cap) * cap
        if plain:
            findings["final_logit_softcap"] = "not applied by transformers (matches the default)"
        elif float(np.max(np.abs(logits - capped))) <= tol * max(1.0, float(np.max(np.abs(capped)))):
            findings["final_logit_softcap"] = "APPLIED by transformers: regenerate with the flag on"
        else:
            findings["final_logit_softcap"] = "undetermined (logits differ either way)"
        print(f"  note {name}: final_logit_softcap {findings['final_logit_softcap']}")

    # Greedy generation with raw per-step logits.
    gen = copy.deepcopy(model.generation_config)
    gen.do_sample, gen.num_beams, gen.repetition_penalty = False, 1, 1.0
    gen.max_new_tokens = case["max_new_tokens"]
    gen.min_new_tokens = None
    if case.get("ignore_eos"):
        gen.eos_token_id = None
    with torch.no_grad():
        result = model.generate(**feed, generation_config=gen, output_logits=True,
                                return_dict_in_generate=True)
    tokens = result.sequences[0, len(case["input_ids"]):].tolist()
    steps = torch.stack([s[0] for s in result.logits]).float().cpu().numpy()
    n = min(len(steps), len(golden["step_logits"]))
    _close(report, name, "step_logits", steps[:n], golden["step_logits"][:n], tol)
    if tokens == case["tokens"]:
        report.add(name, "tokens", True, f"{len(tokens)} equal")
    else:
        first = next(i for i in range(min(len(tokens), len(case["tokens"])) + 1)
                     if i >= len(tokens) or i >= len(case["tokens"]) or tokens[i] != case["tokens"][i])
        row = np.sort(golden["step_logits"][min(first, len(golden["step_logits"]) - 1)])
        gap = float(row[-1] - row[-2])
        near_tie = gap <= tol * max(1.0, float(np.max(np.abs(row))))
        report.add(name, "tokens", near_tie, f"first difference at step {first} (golden top-2 gap "
                   f"{gap:.3g}{', a near tie' if near_tie else ''})")
    return findings


def check_fixture(transformers: Any, folder: str, write: bool) -> bool:
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    cases_root = os.path.join(folder, "goldens")
    cases = sorted(os.path.join(cases_root, c) for c in os.listdir(cases_root)
                   if os.path.exists(os.path.join(cases_root, c, "case.json")))
    with open(os.path.join(cases[0], "case.json"), encoding="utf-8") as f:
        dtype_name = json.load(f)["dtype"]
    dtype = {"bfloat16": torch.bfloat16, "float32": torch.float32}[dtype_name]
    tol = 1e-4 if dtype == torch.float32 else 3e-2
    device = "cuda" if torch.cuda.is_available() else "cpu"
    print(f"{os.path.basename(folder)} ({dtype_name}, {device})", flush=True)
    report = Report()
    processor, processor_name = _processor(transformers, folder)
    model = _model(transformers, folder, dtype).to(device)
    findings = {}
    for case_dir in cases:
        findings[os.path.basename(case_dir)] = check_case(
            torch, processor, model, case_dir, tol, report)
    if write:
        with open(os.path.join(folder, "hf_crosscheck.json"), "w", encoding="utf-8") as f:
            json.dump({"transformers_version": transformers.__version__,
                       "torch_version": torch.__version__, "device": device,
                       "image_processor": processor_name, "attn_implementation": "eager",
                       "dtype": dtype_name, "ok": not report.failed, "findings": findings,
                       "checks": report.checks}, f, indent=1, sort_keys=True)
            f.write("\n")
    return not report.failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", required=True,
                        help="folder of fixture folders (tests/fixtures/models)")
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME",
                        help="check only these fixture folders")
    parser.add_argument("--allow-missing", action="store_true",
                        help="exit 0 (not 2) when transformers is not installed")
    parser.add_argument("--no-write", action="store_true",
                        help="do not write <fixture>/hf_crosscheck.json")
    args = parser.parse_args()
    transformers = _load_transformers()
    if transformers is None:
        print("transformers is not installed; nothing checked", file=sys.stderr)
        return 0 if args.allow_missing else 2
    names = args.only or sorted(d for d in os.listdir(args.fixtures)
                                if os.path.isdir(os.path.join(args.fixtures, d, "goldens")))
    if not names:
        print(f"no fixture folders with goldens/ under {args.fixtures}", file=sys.stderr)
        return 1
    print(f"transformers {transformers.__version__}")
    results = [check_fixture(transformers, os.path.join(args.fixtures, n), not args.no_write)
               for n in names]
    print("all fixtures match" if all(results) else "MISMATCHES found")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
