#!/usr/bin/python3
"""Exports the tiny fp32 fixtures (tests/fixtures/models) to the published ONNX layout with
scripts/export_onnx.py, for the ONNX Runtime backend tests, plus broken copies for its error tests.

Writes under --out:
  tiny-smolvlm-fp32/       fp32, fp16, int8 and q4 variants
  tiny-smolvlm2-fp32/, tiny-paligemma-fp32/, tiny-paligemma2-fp32/   fp32 and fp16
  broken-truncated/        tiny-smolvlm-fp32 with onnx/vision_encoder.onnx cut in half
  broken-names/            ... whose decoder_model_merged.onnx takes `input_embeds` (a typo)
  broken-rank/             ... whose decoder_model_merged.onnx takes a rank-2 `inputs_embeds`

Example:
  /usr/bin/python3 tests/backends/onnx/make_onnx_exports.py --out /tmp/onnx-exports
"""
import argparse
import pathlib
import shutil
import subprocess
import sys

import onnx
from onnx import TensorProto, helper

ROOT = pathlib.Path(__file__).resolve().parents[3]
EXPORTS = {
    "tiny-smolvlm-fp32": "fp32,fp16,int8,q4",
    "tiny-smolvlm2-fp32": "fp32,fp16",
    "tiny-paligemma-fp32": "fp32,fp16",
    "tiny-paligemma2-fp32": "fp32,fp16",
}


def export(fixture: str, dtypes: str, out: pathlib.Path) -> None:
    subprocess.run([sys.executable, str(ROOT / "scripts" / "export_onnx.py"),
                    "--model", str(ROOT / "tests" / "fixtures" / "models" / fixture),
                    "--out", str(out / fixture), "--dtype", dtypes, "--skip-check",
                    "--loader", "reference"], check=True)


def one_input_decoder(path: pathlib.Path, name: str, shape: list) -> None:
    """A stand-in decoder whose only input has the wrong name or rank."""
    graph = helper.make_graph(
        [helper.make_node("Identity", [name], ["logits"])], "broken_decoder",
        [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def broken_copy(out: pathlib.Path, name: str) -> pathlib.Path:
    target = out / name
    shutil.copytree(out / "tiny-smolvlm-fp32", target)
    for graph in target.glob("onnx/*.onnx"):
        if graph.stem not in ("vision_encoder", "embed_tokens", "decoder_model_merged"):
            graph.unlink()  # only the fp32 graphs
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=pathlib.Path,
                        help="output folder, e.g. --out /tmp/onnx-exports")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for fixture, dtypes in EXPORTS.items():
        export(fixture, dtypes, args.out)

    truncated = broken_copy(args.out, "broken-truncated") / "onnx" / "vision_encoder.onnx"
    data = truncated.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    one_input_decoder(broken_copy(args.out, "broken-names") / "onnx" / "decoder_model_merged.onnx",
                      "input_embeds", [1, "sequence_length", 64])
    one_input_decoder(broken_copy(args.out, "broken-rank") / "onnx" / "decoder_model_merged.onnx",
                      "inputs_embeds", ["sequence_length", 64])
    return 0


if __name__ == "__main__":
    sys.exit(main())
