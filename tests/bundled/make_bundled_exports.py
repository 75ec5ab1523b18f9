#!/usr/bin/python3
"""Exports a bundled model (models/tiny-smolvlm or models/tiny-paligemma) to the published ONNX
layout (fp32) with scripts/export_onnx.py, for the bundled-model tests on ONNX Runtime.

Example:
  /usr/bin/python3 tests/bundled/make_bundled_exports.py --model tiny-smolvlm --out /tmp/onnx
"""
import argparse
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, choices=("tiny-smolvlm", "tiny-paligemma"))
    parser.add_argument("--out", required=True, help="folder to write the export into")
    parser.add_argument("--weights-digest", default="",
                        help="not read: the caller's digest of the weights, part of its cache key "
                             "so that retrained models are exported again")
    args = parser.parse_args()
    subprocess.run([sys.executable, str(ROOT / "scripts" / "export_onnx.py"),
                    "--model", str(ROOT / "models" / args.model), "--out", args.out,
                    "--dtype", "fp32", "--skip-check", "--loader", "reference"], check=True)


if __name__ == "__main__":
    main()
