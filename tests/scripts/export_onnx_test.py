#!/usr/bin/python3
"""scripts/export_onnx.py end to end: exports the tiny fp32 fixtures (fp32 + q4) and runs the
graphs through ONNX Runtime with the project's checker (vlmrt_onnx_check, found in
$VLMRT_BINARY_DIR). Pins the published layout (file names, input/output names, types and dims),
the fp32 greedy tokens and prefill logits against the fixtures' goldens, the q4 packing, and the
checker's failure on a corrupted model. Skipped (with the reason) when the checker is not built.
"""
from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import numpy as np

SOURCE = os.environ.get("VLMRT_SOURCE_DIR") or os.path.dirname(os.path.dirname(
    os.path.dirname(os.path.abspath(__file__))))
BINARY = os.environ.get("VLMRT_BINARY_DIR") or os.path.join(SOURCE, "build")
CHECKER = os.path.join(BINARY, "vlmrt_onnx_check")
EXPORTER = os.path.join(SOURCE, "scripts", "export_onnx.py")
FIXTURES = os.path.join(SOURCE, "tests", "fixtures", "models")
MODELS = ("tiny-smolvlm-fp32", "tiny-paligemma2-fp32", "tiny-smolvlm2-fp32", "tiny-paligemma-fp32")
GRAPHS = ("vision_encoder", "embed_tokens", "decoder_model_merged")
COPIED = ("config.json", "generation_config.json", "preprocessor_config.json",
          "processor_config.json", "chat_template.json", "chat_template.jinja", "tokenizer.json",
          "tokenizer_config.json", "special_tokens_map.json")
# fp32 ONNX vs the fp32 PyTorch goldens: same op order, different GEMM kernels.
LOGITS_TOLERANCE = 1e-4

sys.path.insert(0, SOURCE)
from scripts.onnx_export.quantize import dequantize_q4, pack_q4, quantize_q4  # noqa: E402
from scripts.onnx_export.runner import Checker, CheckerFailed  # noqa: E402


def _config(model: str) -> dict:
    with open(os.path.join(FIXTURES, model, "config.json"), encoding="utf-8") as f:
        return json.load(f)


def _published_signatures(config: dict) -> dict[str, tuple[dict, dict, dict]]:
    """graph -> (inputs, inputs with a default, outputs) as `vlmrt_onnx_check --describe` prints
    them for the fp32 and q4 files (ONNX-LAYOUT.md "Graphs")."""
    text, vision = config["text_config"], config["vision_config"]
    paligemma = config["model_type"] == "paligemma"
    hidden, size = text["hidden_size"], vision["image_size"]
    patches = (size // vision["patch_size"]) ** 2
    tokens = patches if paligemma else patches // config["scale_factor"] ** 2
    batch, seq, total = "batch_size", "sequence_length", "total_sequence_length"
    embed = ({"input_ids": ("int64", [batch, seq])}, {},
             {"inputs_embeds": ("float32", [batch, seq, hidden])})
    if paligemma:
        vision_graph = ({"pixel_values": ("float32", [batch, 3, size, size])}, {},
                        {"image_features": ("float32", [batch, tokens, hidden])})
    else:
        vision_graph = ({"pixel_values": ("float32", [batch, "num_images", 3, size, size]),
                         "pixel_attention_mask": ("bool", [batch, "num_images", size, size])}, {},
                        {"image_features": ("float32", ["num_images_total", tokens, hidden])})
    inputs = {"inputs_embeds": ("float32", [batch, seq, hidden])}
    if not paligemma:  # PaliGemma exports have no attention_mask
        inputs["attention_mask"] = ("int64", [batch, total])
    inputs["position_ids"] = ("int64", [batch, seq])
    outputs = {"logits": ("float32", [batch, "logits_length", text["vocab_size"]])}
    kv, head = text["num_key_value_heads"], text["head_dim"]
    for i in range(text["num_hidden_layers"]):
        for kind in ("key", "value"):
            inputs[f"past_key_values.{i}.{kind}"] = (
                "float32", [batch, kv, "past_sequence_length", head])
            outputs[f"present.{i}.{kind}"] = ("float32", [batch, kv, total, head])
    decoder = (inputs, {"num_logits_to_keep": ("int64", [])}, outputs)
    return {"vision_encoder": vision_graph, "embed_tokens": embed, "decoder_model_merged": decoder}


def _onnx_greedy(checker: Checker, onnx_dir: str, model: str, case_dir: str, case: dict
                 ) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The ONNX-LAYOUT.md generation loop over the fp32 graphs: (tokens, prefill logits [L, V],
    step logits [n, V])."""
    config = _config(model)
    paligemma = config["model_type"] == "paligemma"
    image_token = config.get("image_token_id", config.get("image_token_index"))
    vocab = config["text_config"]["vocab_size"]
    ids = np.array([case["input_ids"]], dtype=np.int64)
    path = {g: os.path.join(onnx_dir, g + ".onnx") for g in GRAPHS}
    # One embed_tokens run over the whole vocabulary gives the table the decode steps index.
    table = checker.run(path["embed_tokens"], {"input_ids": np.arange(vocab, dtype=np.int64)[None]}
                        )["inputs_embeds"][0]
    embeds = table[ids[0]][None].copy()
    if case["images"]:
        pixels = np.load(os.path.join(case_dir, "pixel_values.npy"))
        feeds = {"pixel_values": pixels}
        if not paligemma:
            frames, size = pixels.shape[0], pixels.shape[-1]
            feeds["pixel_values"] = pixels[None]
            mask = np.ones((1, frames, size, size), dtype=bool)
            if case["pixel_attention_mask"] == "file":
                mask = np.load(os.path.join(case_dir, "pixel_attention_mask.npy"))[None] != 0
            feeds["pixel_attention_mask"] = mask
        features = checker.run(path["vision_encoder"], feeds)["image_features"]
        embeds[0, ids[0] == image_token] = features.reshape(-1, features.shape[-1])
    description = checker.describe(path["decoder_model_merged"])
    past = {name: np.zeros((1, dims[1], 0, dims[3]), dtype=np.float32)
            for name, (_, dims) in description.inputs.items() if name.startswith("past_")}
    offset = 1 if paligemma else 0

    def step(x: np.ndarray, start: int, keep: int) -> np.ndarray:
        feeds = {"inputs_embeds": x, "num_logits_to_keep": np.array(keep, dtype=np.int64),
                 "position_ids": offset + np.arange(start, start + x.shape[1],
                                                    dtype=np.int64)[None]}
        if not paligemma:
            feeds["attention_mask"] = np.ones((1, start + x.shape[1]), dtype=np.int64)
        out = checker.run(path["decoder_model_merged"], {**feeds, **past})
        for name in past:
            past[name] = out[name.replace("past_key_values", "present")]
        return out["logits"][0]

    prefill = step(embeds, 0, 0)
    logits, tokens, steps = prefill[-1], [], []
    while len(tokens) < case["max_new_tokens"]:
        steps.append(logits)
        tokens.append(int(np.argmax(logits)))
        if len(tokens) == case["max_new_tokens"]:
            break
        logits = step(table[[tokens[-1]]][None], ids.shape[1] + len(tokens) - 1, 1)[-1]
    return tokens, prefill, np.stack(steps)


class ExportOnnxTest(unittest.TestCase):
    tmp = ""
    results: dict[str, subprocess.CompletedProcess] = {}

    @classmethod
    def setUpClass(cls) -> None:
        if not os.access(CHECKER, os.X_OK):
            raise unittest.SkipTest(f"{CHECKER} was not built (it needs ONNX Runtime from "
                                    "scripts/setup); nothing to run the exported graphs with")
        cls.checker = Checker(CHECKER)
        cls.tmp = tempfile.mkdtemp(prefix="vlmrt-export-onnx-test-")
        for model in MODELS:
            cls.results[model] = subprocess.run(
                [sys.executable, EXPORTER, "--model", os.path.join(FIXTURES, model),
                 "--out", os.path.join(cls.tmp, model), "--dtype", "fp32,q4",
                 "--checker", CHECKER], capture_output=True, text=True)

    @classmethod
    def tearDownClass(cls) -> None:
        if cls.tmp:
            shutil.rmtree(cls.tmp, ignore_errors=True)

    def out(self, model: str) -> str:
        result = self.results[model]
        self.assertEqual(result.returncode, 0, f"{model}: {result.stdout}\n{result.stderr}")
        return os.path.join(self.tmp, model)

    def test_export_passes_its_own_reference_check_for_every_variant(self) -> None:
        for model in MODELS:
            with self.subTest(model=model):
                stdout = self.results[model].stdout
                self.out(model)
                self.assertIn("variant fp32: max |diff|", stdout)
                self.assertIn("variant q4: max |diff|", stdout)

    def test_writes_exactly_the_published_file_layout(self) -> None:
        for model in MODELS:
            with self.subTest(model=model):
                out = self.out(model)
                copied = {f for f in COPIED if os.path.isfile(os.path.join(FIXTURES, model, f))}
                self.assertEqual(set(os.listdir(out)), copied | {"onnx"})
                expected = {f"{g}{s}.onnx" for g in GRAPHS for s in ("", "_q4")}
                self.assertEqual(set(os.listdir(os.path.join(out, "onnx"))), expected)
                for name in copied:
                    with open(os.path.join(out, name), "rb") as a, \
                            open(os.path.join(FIXTURES, model, name), "rb") as b:
                        self.assertEqual(a.read(), b.read(), name)

    def test_graphs_declare_the_published_inputs_and_outputs(self) -> None:
        for model in MODELS:
            expected = _published_signatures(_config(model))
            for suffix in ("", "_q4"):
                for graph in GRAPHS:
                    with self.subTest(model=model, graph=graph + suffix):
                        path = os.path.join(self.out(model), "onnx", f"{graph}{suffix}.onnx")
                        d = self.checker.describe(path)
                        inputs, defaults, outputs = expected[graph]
                        self.assertEqual(d.inputs, inputs)
                        self.assertEqual(list(d.inputs), list(inputs))  # published order
                        self.assertEqual(d.defaults, defaults)
                        self.assertEqual(d.outputs, outputs)

    def test_fp32_greedy_tokens_and_prefill_logits_match_goldens(self) -> None:
        for model in MODELS:
            onnx_dir = os.path.join(self.out(model), "onnx")
            for case_dir in sorted(glob.glob(os.path.join(FIXTURES, model, "goldens", "*"))):
                with self.subTest(model=model, case=os.path.basename(case_dir)):
                    with open(os.path.join(case_dir, "case.json"), encoding="utf-8") as f:
                        case = json.load(f)
                    self.assertTrue(case["ignore_eos"])  # the goldens run the full budget
                    tokens, prefill, steps = _onnx_greedy(self.checker, onnx_dir, model,
                                                          case_dir, case)
                    self.assertEqual(tokens, case["tokens"])
                    golden = np.load(os.path.join(case_dir, "prefill_logits.npy"))
                    scale = max(1.0, float(np.abs(golden).max()))
                    self.assertLessEqual(float(np.abs(prefill - golden).max()),
                                         LOGITS_TOLERANCE * scale)
                    golden = np.load(os.path.join(case_dir, "step_logits.npy"))
                    self.assertLessEqual(float(np.abs(steps - golden).max()),
                                         LOGITS_TOLERANCE * max(1.0, float(np.abs(golden).max())))

    def test_vision_encoder_batch_equals_separate_runs(self) -> None:
        rng = np.random.default_rng(5)
        for model in MODELS:
            with self.subTest(model=model):
                path = os.path.join(self.out(model), "onnx", "vision_encoder.onnx")
                size = _config(model)["vision_config"]["image_size"]
                if _config(model)["model_type"] == "paligemma":
                    pixels = rng.uniform(-1, 1, (2, 3, size, size)).astype(np.float32)
                    batch = self.checker.run(path, {"pixel_values": pixels})["image_features"]
                    single = [self.checker.run(path, {"pixel_values": pixels[i:i + 1]})
                              ["image_features"] for i in range(2)]
                else:  # sample 0: two frames; sample 1: one frame and a dropped padding frame
                    pixels = rng.uniform(-1, 1, (2, 2, 3, size, size)).astype(np.float32)
                    pixels[1, 1] = 0.0
                    mask = np.ones((2, 2, size, size), dtype=bool)
                    mask[1, 1] = False
                    def run(p: np.ndarray, m: np.ndarray) -> np.ndarray:
                        feeds = {"pixel_values": p, "pixel_attention_mask": m}
                        return self.checker.run(path, feeds)["image_features"]

                    batch = run(pixels, mask)
                    single = [run(pixels[i:i + 1, j:j + 1], mask[i:i + 1, j:j + 1])
                              for i, j in ((0, 0), (0, 1), (1, 0))]
                np.testing.assert_allclose(batch, np.concatenate(single), atol=1e-5)

    def test_decoder_returns_last_position_unless_num_logits_to_keep_is_fed(self) -> None:
        model = "tiny-paligemma2-fp32"
        path = os.path.join(self.out(model), "onnx", "decoder_model_merged.onnx")
        text = _config(model)["text_config"]
        feeds = {"inputs_embeds": np.ones((1, 5, text["hidden_size"]), dtype=np.float32),
                 "position_ids": np.arange(1, 6, dtype=np.int64)[None]}
        for i in range(text["num_hidden_layers"]):
            for kind in ("key", "value"):
                feeds[f"past_key_values.{i}.{kind}"] = np.zeros(
                    (1, text["num_key_value_heads"], 0, text["head_dim"]), dtype=np.float32)
        self.assertEqual(self.checker.run(path, feeds)["logits"].shape[1], 1)
        for keep, rows in ((0, 5), (2, 2), (9, 5)):
            out = self.checker.run(path, {**feeds, "num_logits_to_keep": np.array(keep)})
            self.assertEqual(out["logits"].shape[1], rows, f"num_logits_to_keep={keep}")

    def test_q4_graphs_use_matmulnbits_block32_symmetric(self) -> None:
        import onnx
        model = onnx.load(os.path.join(self.out("tiny-smolvlm-fp32"), "onnx",
                                       "decoder_model_merged_q4.onnx"))
        nodes = [n for n in model.graph.node if n.op_type == "MatMulNBits"]
        # 7 Linear layers per block × 3 blocks + lm_head; no float MatMul with a weight is left.
        self.assertEqual(len(nodes), 22)
        for node in nodes:
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
            self.assertEqual((node.domain, attrs["bits"], attrs["block_size"]),
                             ("com.microsoft", 4, 32))
            self.assertEqual(len(node.input), 3)  # no zero_points: the implied 8

    def test_q4_packing_puts_even_k_in_the_low_nibble(self) -> None:
        weight = np.zeros((64, 1), dtype=np.float32)
        weight[0, 0], weight[1, 0], weight[2, 0] = -8.0, 1.0, 7.0  # block 0 scale: -8 / -8 = 1
        weight[32, 0] = 2.0  # block 1: scale 2 / -8, its 2.0 maps to q = 0
        packed, scales = pack_q4(weight)
        self.assertEqual(packed.shape, (1, 2, 16))
        np.testing.assert_array_equal(scales, [[1.0, -0.25]])
        self.assertEqual(packed[0, 0, 0], 0 | (9 << 4))   # k=0: q 0 (low), k=1: q 9 (high)
        self.assertEqual(packed[0, 0, 1], 15 | (8 << 4))  # k=2: q 15, k=3: zero → 8
        self.assertEqual(packed[0, 1, 0], 0 | (8 << 4))
        np.testing.assert_array_equal(dequantize_q4(packed, scales, 64), weight)

    def test_q4_matmul_in_onnxruntime_equals_the_dequantized_weights(self) -> None:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
        rng = np.random.default_rng(3)
        weight = rng.standard_normal((48, 40)).astype(np.float32)  # K = 48: a padded block
        a = rng.standard_normal((2, 3, 48)).astype(np.float32)
        graph = helper.make_graph(
            [helper.make_node("MatMul", ["A", "W"], ["Y"], name="mm")], "g",
            [helper.make_tensor_value_info("A", TensorProto.FLOAT, [2, 3, 48])],
            [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
            [numpy_helper.from_array(weight, "W")])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        self.assertEqual(quantize_q4(model), 1)
        path = os.path.join(self.tmp, "one_matmul_q4.onnx")
        onnx.save(model, path)
        y = self.checker.run(path, {"A": a})["Y"]
        packed, scales = pack_q4(weight)
        np.testing.assert_allclose(y, a @ dequantize_q4(packed, scales, 48), atol=1e-4)

    def test_large_graphs_keep_weights_in_onnx_data_beside_the_model(self) -> None:
        import onnx
        from scripts.onnx_export import export
        source = os.path.join(self.out("tiny-paligemma2-fp32"), "onnx", "vision_encoder.onnx")
        folder = os.path.join(self.tmp, "external")
        os.makedirs(folder)
        path = os.path.join(folder, "vision_encoder.onnx")
        saved = export._EXTERNAL_THRESHOLD
        export._EXTERNAL_THRESHOLD = 0  # as if the graph were past protobuf's 2 GB
        try:
            export.save(onnx.load(source), path)
        finally:
            export._EXTERNAL_THRESHOLD = saved
        self.assertEqual(sorted(os.listdir(folder)), ["vision_encoder.onnx",
                                                      "vision_encoder.onnx_data"])
        pixels = np.random.default_rng(2).uniform(-1, 1, (1, 3, 32, 32)).astype(np.float32)
        expected = self.checker.run(source, {"pixel_values": pixels})["image_features"]
        actual = self.checker.run(path, {"pixel_values": pixels})["image_features"]
        np.testing.assert_array_equal(actual, expected)

    def _checker_error(self, path: str) -> str:
        with self.assertRaises(CheckerFailed) as caught:
            self.checker.describe(path)
        return str(caught.exception)

    def test_checker_rejects_truncated_and_corrupted_models_with_a_clear_message(self) -> None:
        source = os.path.join(self.out("tiny-smolvlm-fp32"), "onnx", "decoder_model_merged.onnx")
        with open(source, "rb") as f:
            data = f.read()
        truncated = os.path.join(self.tmp, "truncated.onnx")
        with open(truncated, "wb") as f:
            f.write(data[: len(data) // 2])
        message = self._checker_error(truncated)
        self.assertIn("truncated.onnx: ONNX Runtime cannot load this model", message)
        garbage = os.path.join(self.tmp, "garbage.onnx")
        with open(garbage, "wb") as f:
            f.write(bytes(range(256)) * 8)
        self.assertIn("garbage.onnx: ONNX Runtime cannot load this model",
                      self._checker_error(garbage))
        missing = os.path.join(self.tmp, "none.onnx")
        self.assertIn("no such model file", self._checker_error(missing))

    def test_checker_rejects_an_input_of_the_wrong_dtype(self) -> None:
        path = os.path.join(self.out("tiny-smolvlm-fp32"), "onnx", "embed_tokens.onnx")
        with self.assertRaises(CheckerFailed) as caught:
            self.checker.run(path, {"input_ids": np.zeros((1, 2), dtype=np.float32)})
        self.assertIn("input 'input_ids' expects int64", str(caught.exception))
        self.assertIn("holds float32", str(caught.exception))

    def test_checker_rejects_a_truncated_npy_input(self) -> None:
        path = os.path.join(self.out("tiny-smolvlm-fp32"), "onnx", "embed_tokens.onnx")
        npy = os.path.join(self.tmp, "ids.npy")
        np.save(npy, np.zeros((1, 4), dtype=np.int64))
        with open(npy, "rb") as f:
            data = f.read()
        with open(npy, "wb") as f:
            f.write(data[:-8])
        proc = subprocess.run([CHECKER, path, "--input", f"input_ids={npy}"],
                              capture_output=True, text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("ids.npy: npy data holds 24 bytes, the shape needs 32", proc.stderr)

    def test_exporter_without_checker_says_how_to_build_it(self) -> None:
        result = subprocess.run(
            [sys.executable, EXPORTER, "--model", os.path.join(FIXTURES, MODELS[0]),
             "--out", os.path.join(self.tmp, "never"), "--checker",
             os.path.join(self.tmp, "no_checker")], capture_output=True, text=True)
        self.assertEqual(result.returncode, 2)
        self.assertIn("vlmrt_onnx_check", result.stderr)
        self.assertIn("--skip-check", result.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "never")))


if __name__ == "__main__":
    unittest.main()
