#!/usr/bin/env python3
"""Runs `vlmrt bench` for every backend and graph variant given, on one image, and writes a
Markdown table and a PNG bar chart of image-encode ms per tile, time to first token, prefill and
decode tokens/s and peak RSS.

Each configuration runs in its own process (peak RSS is per process). Backends that cannot run
on this machine (no ONNX graphs in the folder, no GPU) are listed with the error they gave.

Usage:
  /usr/bin/python3 bench/backend_comparison.py --vlmrt build/vlmrt \\
      --native models/SmolVLM-256M-Instruct --onnx models/SmolVLM-256M-Instruct-onnx \\
      --image photo.jpg --onnx-dtypes fp32,q4 --out docs/backend_comparison
  writes docs/backend_comparison.md and docs/backend_comparison.png
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

from PIL import Image, ImageDraw

METRICS = [
    ("image_encode_ms_per_tile", "encode ms/tile", False),
    ("time_to_first_token_ms", "first token ms", False),
    ("prefill_tokens_per_s", "prefill tok/s", True),
    ("decode_tokens_per_s", "decode tok/s", True),
    ("peak_rss_mb", "peak RSS MiB", False),
]


def run_bench(args: argparse.Namespace, label: str, model: str, backend: str,
              dtype: str | None) -> dict:
    command = [args.vlmrt, "bench", "--model", model, "--image", args.image, "--backend", backend,
               "--threads", str(args.threads), "--runs", str(args.runs), "--warmup",
               str(args.warmup), "--max-new-tokens", str(args.max_new_tokens), "--json"]
    if dtype:
        command += ["--dtype", dtype]
    print(f"[backend_comparison] {label}: {' '.join(command)}", file=sys.stderr)
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"label": label, "error": done.stderr.strip().splitlines()[-1:] or ["failed"]}
    result = json.loads(done.stdout)
    result["label"] = label
    return result


def write_markdown(results: list[dict], path: pathlib.Path, args: argparse.Namespace) -> None:
    lines = [f"`{' '.join(sys.argv)}`", "",
             "| configuration | backend | " + " | ".join(m[1] for m in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for r in results:
        if "error" in r:
            reason = r["error"][0].split("error (")[-1]
            reason = reason if len(reason) <= 140 else reason[:137] + "..."
            lines.append(f"| {r['label']} | not available: {reason} |" + " |" * len(METRICS))
            continue
        cells = [f"{r[key]:.1f}" if isinstance(r[key], float) else str(r[key])
                 for key, _, _ in METRICS]
        lines.append(f"| {r['label']} | {r['backend']} | " + " | ".join(cells) + " |")
    first = next((r for r in results if "error" not in r), None)
    if first:
        lines += ["", f"Image {first['image_width']}×{first['image_height']}, {first['tiles']} tiles, "
                  f"{first['prefill_tokens']} prompt tokens, {first['decode_tokens'] + 1} new tokens, "
                  f"{args.threads} threads, median of {args.runs} runs."]
    path.write_text("\n".join(lines) + "\n")


def write_chart(results: list[dict], path: pathlib.Path) -> None:
    ok = [r for r in results if "error" not in r]
    panel_w, panel_h, margin = 300, 220, 40
    image = Image.new("RGB", (panel_w * len(METRICS), panel_h + 2 * margin + 16 * len(ok)), "white")
    draw = ImageDraw.Draw(image)
    colours = [(52, 101, 164), (204, 0, 0), (78, 154, 6), (245, 121, 0), (117, 80, 123)]
    for m, (key, title, higher_better) in enumerate(METRICS):
        x0 = m * panel_w + 20
        draw.text((x0, 8), title + (" (higher is better)" if higher_better else " (lower is better)"),
                  fill="black")
        top = max((r[key] for r in ok), default=1.0) or 1.0
        bar_w = (panel_w - 60) // max(1, len(ok))
        for i, r in enumerate(ok):
            h = int((panel_h - 20) * r[key] / top)
            x = x0 + i * bar_w
            draw.rectangle([x, margin + panel_h - h, x + bar_w - 6, margin + panel_h],
                           fill=colours[i % len(colours)])
            draw.text((x, margin + panel_h - h - 12), f"{r[key]:.0f}", fill="black")
    for i, r in enumerate(ok):
        y = panel_h + margin + 8 + 16 * i
        draw.rectangle([20, y, 32, y + 10], fill=colours[i % len(colours)])
        draw.text((40, y - 2), r["label"], fill="black")
    image.save(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--vlmrt", default="build/vlmrt", help="the vlmrt CLI, e.g. build/vlmrt")
    parser.add_argument("--native", help="Hugging Face folder for the native backend")
    parser.add_argument("--onnx", help="folder with onnx/ graphs for the ONNX Runtime backends")
    parser.add_argument("--onnx-dtypes", default="fp32",
                        help="graph variants to compare, e.g. fp32,q4 (the --dtype of vlmrt)")
    parser.add_argument("--onnx-backends", default="onnx-cpu,onnx-cuda,onnx-tensorrt",
                        help="ONNX Runtime backends to try, e.g. onnx-cpu")
    parser.add_argument("--image", required=True, help="image file, e.g. photo.jpg")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs per configuration")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured runs first")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="tokens decoded per run")
    parser.add_argument("--out", required=True, type=pathlib.Path,
                        help="output path without extension: writes OUT.md and OUT.png")
    args = parser.parse_args()
    if not args.native and not args.onnx:
        parser.error("give --native and/or --onnx")

    results = []
    if args.native:
        results.append(run_bench(args, "native", args.native, "native", None))
    if args.onnx:
        for backend in args.onnx_backends.split(","):
            for dtype in args.onnx_dtypes.split(","):
                results.append(run_bench(args, f"{backend} {dtype}", args.onnx, backend, dtype))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_markdown(results, args.out.with_suffix(".md"), args)
    write_chart(results, args.out.with_suffix(".png"))
    print(args.out.with_suffix(".md").read_text())
    return 0 if any("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
