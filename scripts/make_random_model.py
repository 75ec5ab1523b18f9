#!/usr/bin/python3
"""Writes a complete Hugging Face model folder with seeded random weights and a real config.

Benchmarks need models of the real size, and nobody can download the real checkpoints here. This
writes config.json (the real field layout and values, MODELS.md §1), generation_config.json,
preprocessor_config.json, processor_config.json + chat_template.json (SmolVLM), tokenizer.json
(trained by scripts/train_tokenizer.py, padded with filler tokens to the real vocabulary size so
every special token sits at its real id), tokenizer_config.json, special_tokens_map.json and
model.safetensors with the hub tensor names (MODELS.md §2; PaliGemma with the legacy prefixes
the hub checkpoints use).

Weights are generated one tensor at a time with numpy and streamed to disk, so a 3B model never
needs more than its largest tensor in memory. Output is never committed.

Presets: SmolVLM-256M-Instruct, SmolVLM-500M-Instruct, SmolVLM2-256M-Video-Instruct,
SmolVLM2-2.2B-Instruct, paligemma-3b-pt-224, paligemma2-3b-pt-224.

Usage:  make_random_model.py --preset SmolVLM-256M-Instruct --out /tmp/smolvlm-256m [--dtype bf16]

The functions here (config presets, tensor lists, the initialiser, the streaming safetensors
writer, the side files) are also used by scripts/make_fixtures.py for the tiny test models.
"""
from __future__ import annotations

import argparse
import json
import os
import struct
import sys
import time
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_tokenizer  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Real configurations (MODELS.md §1; field layout as in the hub files).

_SMOL_TEXT_JUNK = {  # keys real SmolVLM text configs carry and loaders must tolerate (§1.2)
    "architectures": ["VLlama3ForCausalLM"], "attention_bias": False, "hidden_act": "silu",
    "mlp_bias": False, "rope_scaling": None, "pixel_shuffle_factor": 4, "use_resampler": False,
    "qk_layer_norms": False, "rope_interleaved": False, "is_llama_config": True,
}


def smolvlm_config(model_type: str, vision: dict, text: dict, scale: int, dtype: str) -> dict:
    text_config = {"model_type": "llama", **_SMOL_TEXT_JUNK, "bos_token_id": 1,
                   "eos_token_id": 2, "pad_token_id": 2, "head_dim": 64, "rms_norm_eps": 1e-05,
                   "tie_word_embeddings": False, "torch_dtype": dtype, "vocab_size": 49280}
    text_config["pixel_shuffle_factor"] = scale
    text_config.update(text)
    vision_config = {"hidden_act": "gelu_pytorch_tanh", "layer_norm_eps": 1e-06,
                     "num_channels": 3,
                     "model_type": "idefics3" if model_type == "idefics3" else "smolvlm_vision",
                     "use_base_siglip": True}
    vision_config.update(vision)
    arch = ("Idefics3ForConditionalGeneration" if model_type == "idefics3" else
            "SmolVLMForConditionalGeneration")
    return {"architectures": [arch], "image_token_id": 49190, "model_type": model_type,
            "scale_factor": scale, "text_config": text_config, "tie_word_embeddings": False,
            "torch_dtype": dtype, "vision_config": vision_config,
            "vocab_size": text_config["vocab_size"]}


def paligemma_config(text: dict, projection_dim: int, dtype: str) -> dict:
    text_config = {"model_type": "gemma", "num_image_tokens": 256, "torch_dtype": dtype,
                   "vocab_size": 257216}
    text_config.update(text)
    return {"architectures": ["PaliGemmaForConditionalGeneration"], "bos_token_id": 2,
            "eos_token_id": 1, "hidden_size": 2048, "ignore_index": -100,
            "image_token_index": 257152, "model_type": "paligemma", "pad_token_id": 0,
            "projection_dim": projection_dim, "text_config": text_config, "torch_dtype": dtype,
            "vision_config": {"hidden_size": 1152, "intermediate_size": 4304,
                              "model_type": "siglip_vision_model", "num_attention_heads": 16,
                              "num_hidden_layers": 27, "num_image_tokens": 256, "patch_size": 14,
                              "image_size": 224, "projection_dim": projection_dim,
                              "vision_use_head": False}}


_SMOL_VISION_512 = {"hidden_size": 768, "image_size": 512, "intermediate_size": 3072,
                    "num_attention_heads": 12, "num_hidden_layers": 12, "patch_size": 16,
                    "size": {"longest_edge": 2048}, "max_image_size": {"longest_edge": 512}}
_SMOL_TEXT_256M = {"hidden_size": 576, "intermediate_size": 1536, "num_attention_heads": 9,
                   "num_hidden_layers": 30, "num_key_value_heads": 3,
                   "max_position_embeddings": 8192, "rope_theta": 100000}
_SMOL_TEXT_500M = {"hidden_size": 960, "intermediate_size": 2560, "num_attention_heads": 15,
                   "num_hidden_layers": 32, "num_key_value_heads": 5,
                   "max_position_embeddings": 8192, "rope_theta": 100000}

# name -> (family, config(dtype), preprocessor extras)
PRESETS: Dict[str, Callable[[str], dict]] = {
    "SmolVLM-256M-Instruct":
        lambda d: smolvlm_config("idefics3", _SMOL_VISION_512, _SMOL_TEXT_256M, 4, d),
    "SmolVLM-500M-Instruct":
        lambda d: smolvlm_config("idefics3", _SMOL_VISION_512, _SMOL_TEXT_500M, 4, d),
    "SmolVLM2-256M-Video-Instruct":
        lambda d: smolvlm_config("smolvlm", _SMOL_VISION_512, _SMOL_TEXT_256M, 4, d),
    "SmolVLM2-2.2B-Instruct": lambda d: smolvlm_config(
        "smolvlm",
        {"hidden_size": 1152, "image_size": 384, "intermediate_size": 4304,
         "num_attention_heads": 16, "num_hidden_layers": 27, "patch_size": 14,
         "size": {"longest_edge": 1536}, "max_image_size": {"longest_edge": 384}},
        {"hidden_size": 2048, "intermediate_size": 8192, "num_attention_heads": 32,
         "num_hidden_layers": 24, "num_key_value_heads": 32, "max_position_embeddings": 16384,
         "rope_theta": 273768}, 3, d),
    "paligemma-3b-pt-224": lambda d: paligemma_config(
        {"hidden_size": 2048, "intermediate_size": 16384, "num_attention_heads": 8,
         "num_hidden_layers": 18, "num_key_value_heads": 1}, 2048, d),
    "paligemma2-3b-pt-224": lambda d: paligemma_config(
        {"model_type": "gemma2", "attn_logit_softcapping": 50.0, "cache_implementation": "hybrid",
         "final_logit_softcapping": 30.0, "head_dim": 256,
         "hidden_activation": "gelu_pytorch_tanh", "hidden_size": 2304,
         "intermediate_size": 9216, "num_attention_heads": 8, "num_hidden_layers": 26,
         "num_key_value_heads": 4, "query_pre_attn_scalar": 256, "sliding_window": 4096}, 2304, d),
}
# The dtype each real checkpoint ships in (MODELS.md §1), the default for --dtype.
PRESET_DTYPES = {"SmolVLM-256M-Instruct": "bf16", "SmolVLM-500M-Instruct": "bf16",
                 "SmolVLM2-256M-Video-Instruct": "bf16", "SmolVLM2-2.2B-Instruct": "bf16",
                 "paligemma-3b-pt-224": "fp32", "paligemma2-3b-pt-224": "bf16"}
DTYPE_NAMES = {"bf16": "bfloat16", "fp32": "float32"}


def is_paligemma(config: dict) -> bool:
    return config["model_type"] == "paligemma"


# ---------------------------------------------------------------------------------------------
# Tensors (MODELS.md §2) and their initialisation.

# kind: "linear" (fan-in scaled), "bias", "ln_w", "ln_b", "rms_llama", "rms_gemma", "embed",
# "pos", "conv", "head".
Tensor = Tuple[str, Tuple[int, ...], str]


def _vision_tensors(prefix: str, v: dict) -> List[Tensor]:
    d, i, p = v["hidden_size"], v.get("intermediate_size", 3072), v["patch_size"]
    n = (v["image_size"] // p) ** 2
    out: List[Tensor] = [
        (f"{prefix}embeddings.patch_embedding.weight", (d, v.get("num_channels", 3), p, p), "conv"),
        (f"{prefix}embeddings.patch_embedding.bias", (d,), "bias"),
        (f"{prefix}embeddings.position_embedding.weight", (n, d), "pos")]
    for j in range(v.get("num_hidden_layers", 12)):
        lp = f"{prefix}encoder.layers.{j}."
        out += [(lp + "layer_norm1.weight", (d,), "ln_w"), (lp + "layer_norm1.bias", (d,), "ln_b")]
        for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
            out += [(f"{lp}self_attn.{proj}.weight", (d, d), "linear"),
                    (f"{lp}self_attn.{proj}.bias", (d,), "bias")]
        out += [(lp + "layer_norm2.weight", (d,), "ln_w"), (lp + "layer_norm2.bias", (d,), "ln_b"),
                (lp + "mlp.fc1.weight", (i, d), "linear"), (lp + "mlp.fc1.bias", (i,), "bias"),
                (lp + "mlp.fc2.weight", (d, i), "linear"), (lp + "mlp.fc2.bias", (d,), "bias")]
    out += [(f"{prefix}post_layernorm.weight", (d,), "ln_w"),
            (f"{prefix}post_layernorm.bias", (d,), "ln_b")]
    return out


def _text_tensors(prefix: str, t: dict, gemma: bool, gemma2: bool) -> List[Tensor]:
    h, inter = t["hidden_size"], t["intermediate_size"]
    heads, kv = t["num_attention_heads"], t.get("num_key_value_heads", t["num_attention_heads"])
    hd = t.get("head_dim", h // heads)
    norm = "rms_gemma" if gemma else "rms_llama"
    # Tied (Gemma) embeddings are kept small: the residual stream must be dominated by the
    # layers, or every token's own embedding wins the tied logits and greedy repeats it.
    out: List[Tensor] = [(prefix + "embed_tokens.weight", (t["vocab_size"], h),
                          "embed_tied" if gemma else "embed")]
    for i in range(t["num_hidden_layers"]):
        lp = f"{prefix}layers.{i}."
        out += [(lp + "self_attn.q_proj.weight", (heads * hd, h), "linear"),
                (lp + "self_attn.k_proj.weight", (kv * hd, h), "linear"),
                (lp + "self_attn.v_proj.weight", (kv * hd, h), "linear"),
                (lp + "self_attn.o_proj.weight", (h, heads * hd), "linear"),
                (lp + "mlp.gate_proj.weight", (inter, h), "linear"),
                (lp + "mlp.up_proj.weight", (inter, h), "linear"),
                (lp + "mlp.down_proj.weight", (h, inter), "linear"),
                (lp + "input_layernorm.weight", (h,), norm),
                (lp + "post_attention_layernorm.weight", (h,), norm)]
        if gemma2:
            out += [(lp + "pre_feedforward_layernorm.weight", (h,), norm),
                    (lp + "post_feedforward_layernorm.weight", (h,), norm)]
    out.append((prefix + "norm.weight", (h,), norm))
    return out


def model_tensors(config: dict) -> List[Tensor]:
    """Every tensor of the checkpoint, hub names, in a fixed order."""
    text, vision = config["text_config"], config["vision_config"]
    if is_paligemma(config):
        gemma2 = text.get("model_type") == "gemma2"
        out = _vision_tensors("vision_tower.vision_model.", vision)
        p = config["projection_dim"]
        out += [("multi_modal_projector.linear.weight", (p, vision["hidden_size"]), "linear"),
                ("multi_modal_projector.linear.bias", (p,), "bias")]
        out += _text_tensors("language_model.model.", text, True, gemma2)
        return out  # tied: no lm_head
    s = config["scale_factor"]
    out = _vision_tensors("model.vision_model.", vision)
    out.append(("model.connector.modality_projection.proj.weight",
                (text["hidden_size"], vision["hidden_size"] * s * s), "linear"))
    out += _text_tensors("model.text_model.", text, False, False)
    out.append(("lm_head.weight", (text["vocab_size"], text["hidden_size"]), "head"))
    return out


def init_tensor(rng: np.random.Generator, shape: Tuple[int, ...], kind: str) -> np.ndarray:
    """A sensible scale so activations stay O(1) and greedy decoding is not degenerate."""
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
    if kind in ("linear", "conv", "head"):
        std = 1.0 / np.sqrt(fan_in)
    elif kind == "embed":
        std = 1.0 / np.sqrt(shape[1])
    elif kind == "embed_tied":
        std = 0.01
    elif kind == "pos":
        std = 0.2
    elif kind in ("bias", "ln_b"):
        std = 0.02
    else:  # norm weights
        std = 0.05
    x = rng.standard_normal(size=shape, dtype=np.float32) * np.float32(std)
    if kind in ("ln_w", "rms_llama"):
        x += np.float32(1.0)  # Gemma stores w and applies 1 + w, so its weights stay near 0
    return x


def to_bf16_bits(x: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bit patterns, round to nearest even (what torch's .to(bfloat16) does)."""
    u = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = (u + (np.uint32(0x7FFF) + ((u >> np.uint32(16)) & np.uint32(1)))) >> np.uint32(16)
    return rounded.astype(np.uint16)


def bf16_round(x: np.ndarray) -> np.ndarray:
    """float32 values rounded to bf16, back in float32."""
    return (to_bf16_bits(x).astype(np.uint32) << np.uint32(16)).view(np.float32)


def write_safetensors(path: str, entries: List[Tuple[str, Tuple[int, ...]]], dtype: str,
                      produce: Callable[[int], np.ndarray],
                      progress: Optional[Callable[[int, int, str], None]] = None) -> int:
    """Streams a safetensors file: the header from shapes alone, then each tensor as produced.

    `produce(i)` returns tensor i as float32; it is converted to `dtype` ("bf16"/"fp32") and
    written before the next is made. Returns the file size."""
    width = 2 if dtype == "bf16" else 4
    st_dtype = "BF16" if dtype == "bf16" else "F32"
    header: Dict[str, object] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, shape in entries:
        size = int(np.prod(shape)) * width
        header[name] = {"dtype": st_dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + size]}
        offset += size
    blob = json.dumps(header, separators=(",", ":")).encode("utf-8")
    blob += b" " * (-len(blob) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(blob)))
        f.write(blob)
        for i, (name, shape) in enumerate(entries):
            x = produce(i)
            if tuple(x.shape) != tuple(shape):
                raise ValueError(f"{name}: produced {x.shape}, header says {shape}")
            data = to_bf16_bits(x) if dtype == "bf16" else np.ascontiguousarray(x, "<f4")
            f.write(data.astype("<u2" if dtype == "bf16" else "<f4", copy=False).tobytes())
            if progress:
                progress(i, len(entries), name)
    return 8 + len(blob) + offset


# ---------------------------------------------------------------------------------------------
# Side files.

SMOL_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% endif %}{% endfor %}"
    "<end_of_utterance>\n{% endfor %}{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")


def _special(content: str) -> dict:
    return {"content": content, "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False}


def side_files(config: dict, tokenizer: dict, preprocessor: dict) -> Dict[str, dict]:
    """generation/preprocessor/processor configs, tokenizer_config, special_tokens_map, chat
    template, for a config and its tokenizer."""
    ids = train_tokenizer.token_ids(tokenizer)
    decoder = {str(t["id"]): {k: t[k] for k in ("content", "lstrip", "normalized", "rstrip",
                                                "single_word", "special")}
               for t in tokenizer["added_tokens"]}
    files: Dict[str, dict] = {}
    if is_paligemma(config):
        files["generation_config.json"] = {"bos_token_id": 2, "eos_token_id": 1,
                                           "pad_token_id": 0}
        if config["text_config"].get("model_type") == "gemma2":
            files["generation_config.json"]["cache_implementation"] = "hybrid"
        files["preprocessor_config.json"] = preprocessor
        files["tokenizer_config.json"] = {
            "add_bos_token": True, "add_eos_token": False, "added_tokens_decoder": decoder,
            "bos_token": "<bos>", "eos_token": "<eos>", "pad_token": "<pad>",
            "unk_token": "<unk>", "additional_special_tokens": ["<image>"],
            "clean_up_tokenization_spaces": False,
            "processor_class": "PaliGemmaProcessor", "tokenizer_class": "GemmaTokenizer"}
        files["special_tokens_map.json"] = {
            "additional_special_tokens": [_special("<image>")], "bos_token": _special("<bos>"),
            "eos_token": _special("<eos>"), "pad_token": _special("<pad>"),
            "unk_token": _special("<unk>")}
        return files
    eos = ids["<end_of_utterance>"]
    files["generation_config.json"] = {"bos_token_id": 0, "eos_token_id": eos, "pad_token_id": 2}
    files["preprocessor_config.json"] = preprocessor
    vision = config["vision_config"]
    seq_len = (vision["image_size"] // vision["patch_size"]) ** 2 // config["scale_factor"] ** 2
    processor_class = ("Idefics3Processor" if config["model_type"] == "idefics3" else
                       "SmolVLMProcessor")
    files["processor_config.json"] = {"image_seq_len": seq_len, "processor_class": processor_class}
    files["chat_template.json"] = {"chat_template": SMOL_CHAT_TEMPLATE}
    files["tokenizer_config.json"] = {
        "add_prefix_space": False, "added_tokens_decoder": decoder,
        "additional_special_tokens": ["<fake_token_around_image>", "<image>",
                                      "<end_of_utterance>"],
        "bos_token": "<|im_start|>", "chat_template": SMOL_CHAT_TEMPLATE,
        "clean_up_tokenization_spaces": False, "eos_token": "<end_of_utterance>",
        "legacy": False, "model_max_length": config["text_config"]["max_position_embeddings"],
        "pad_token": "<|im_end|>", "processor_class": processor_class,
        "tokenizer_class": "GPT2Tokenizer", "truncation_side": "left",
        "unk_token": "<|endoftext|>", "vocab_size": train_tokenizer.total_size(tokenizer)}
    files["special_tokens_map.json"] = {
        "additional_special_tokens": [_special(t) for t in ("<fake_token_around_image>",
                                                            "<image>", "<end_of_utterance>")],
        "bos_token": _special("<|im_start|>"), "eos_token": _special("<|im_end|>"),
        "pad_token": _special("<|im_end|>"), "unk_token": _special("<|endoftext|>")}
    return files


def smolvlm_preprocessor(config: dict, longest_edge: int, tile: int) -> dict:
    out = {"do_convert_rgb": True, "do_image_splitting": True, "do_normalize": True,
           "do_pad": True, "do_rescale": True, "do_resize": True, "image_mean": [0.5, 0.5, 0.5],
           "image_processor_type": ("Idefics3ImageProcessor" if config["model_type"] == "idefics3"
                                    else "SmolVLMImageProcessor"),
           "image_std": [0.5, 0.5, 0.5], "max_image_size": {"longest_edge": tile},
           "processor_class": ("Idefics3Processor" if config["model_type"] == "idefics3"
                               else "SmolVLMProcessor"),
           "resample": 1, "rescale_factor": 0.00392156862745098,
           "size": {"longest_edge": longest_edge}}
    if config["model_type"] == "smolvlm":
        out["video_sampling"] = {"fps": 1, "max_frames": 64,
                                 "video_size": {"longest_edge": tile}}
    return out


def paligemma_preprocessor(image_size: int, seq_len: int) -> dict:
    return {"do_convert_rgb": None, "do_normalize": True, "do_rescale": True, "do_resize": True,
            "image_mean": [0.5, 0.5, 0.5], "image_processor_type": "SiglipImageProcessor",
            "image_seq_length": seq_len, "image_std": [0.5, 0.5, 0.5],
            "processor_class": "PaliGemmaProcessor", "resample": 3,
            "rescale_factor": 0.00392156862745098,
            "size": {"height": image_size, "width": image_size}}


def write_json(path: str, obj: object) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n")


def write_tokenizer(path: str, tokenizer: dict, compact: bool = False) -> None:
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        if compact:
            f.write(json.dumps(tokenizer, ensure_ascii=False, separators=(",", ":")) + "\n")
        else:
            f.write(train_tokenizer.dumps(tokenizer))


def real_tokenizer(config: dict) -> dict:
    """The trainer's small vocabulary padded so every special token has its real id."""
    if is_paligemma(config):
        return train_tokenizer.build("paligemma", 400, seed=0, fill_to=256000)
    return train_tokenizer.build("smolvlm", 600, seed=0, fill_to=49152, reserved=88)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", required=True, choices=sorted(PRESETS))
    parser.add_argument("--out", required=True, help="folder to create (files are overwritten)")
    parser.add_argument("--dtype", choices=["bf16", "fp32"],
                        help="weight dtype (default: what the real checkpoint ships)")
    parser.add_argument("--seed", type=int, default=0, help="weight seed (default 0)")
    args = parser.parse_args()

    dtype = args.dtype or PRESET_DTYPES[args.preset]
    config = PRESETS[args.preset](DTYPE_NAMES[dtype])
    os.makedirs(args.out, exist_ok=True)
    start = time.monotonic()

    tokenizer = real_tokenizer(config)
    if is_paligemma(config):
        v = config["vision_config"]
        pre = paligemma_preprocessor(v["image_size"], (v["image_size"] // v["patch_size"]) ** 2)
    else:
        v = config["vision_config"]
        pre = smolvlm_preprocessor(config, v["size"]["longest_edge"],
                                   v["max_image_size"]["longest_edge"])
    write_json(os.path.join(args.out, "config.json"), config)
    for name, content in side_files(config, tokenizer, pre).items():
        write_json(os.path.join(args.out, name), content)
    write_tokenizer(os.path.join(args.out, "tokenizer.json"), tokenizer)
    print(f"config and tokenizer written ({time.monotonic() - start:.1f} s)", flush=True)

    tensors = model_tensors(config)
    total = sum(int(np.prod(s)) for _, s, _ in tensors)
    print(f"{args.preset}: {len(tensors)} tensors, {total / 1e6:.1f} M parameters, {dtype}",
          flush=True)
    rng = np.random.default_rng(args.seed)
    done = [0]

    def produce(i: int) -> np.ndarray:
        return init_tensor(rng, tensors[i][1], tensors[i][2])

    def progress(i: int, n: int, name: str) -> None:
        done[0] += int(np.prod(tensors[i][1]))
        if i == n - 1 or i % 25 == 0:
            print(f"  [{i + 1}/{n}] {100.0 * done[0] / total:5.1f}%  {name}"
                  f"  ({time.monotonic() - start:.1f} s)", flush=True)

    size = write_safetensors(os.path.join(args.out, "model.safetensors"),
                             [(n, s) for n, s, _ in tensors], dtype, produce, progress)
    print(f"wrote {args.out}/model.safetensors ({size / 1e6:.1f} MB) in "
          f"{time.monotonic() - start:.1f} s", flush=True)


if __name__ == "__main__":
    main()
