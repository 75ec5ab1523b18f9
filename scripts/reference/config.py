"""Hugging Face `config.json` / `generation_config.json` → typed dataclasses (MODELS.md §1, §6).

Public API (stable; imported by scripts/make_fixtures.py and scripts/make_random_model.py):

    load_config(model_dir_or_config_json: str) -> ModelConfig
    parse_config(raw: dict, where: str = "config.json") -> ModelConfig
    load_generation_config(model_dir: str, config: ModelConfig) -> GenerationConfig
    torch_dtype(name: str) -> torch.dtype

Families: "paligemma" (Gemma text), "paligemma2" (Gemma2 text), "idefics3" (SmolVLM, Llama text),
"smolvlm" (SmolVLM2, Llama text). Both spellings of v4/v5 fields are accepted (`torch_dtype` /
`dtype`, `rope_theta` / `rope_parameters.rope_theta`); unknown keys are ignored.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Optional

import torch

_DTYPES = {"float32": torch.float32, "float": torch.float32, "fp32": torch.float32,
           "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
           "float16": torch.float16, "half": torch.float16, "fp16": torch.float16}


def torch_dtype(name: str) -> torch.dtype:
    """"bfloat16" / "torch.float32" / ... → torch dtype."""
    key = name[len("torch."):] if name.startswith("torch.") else name
    if key not in _DTYPES:
        raise ValueError(f"unsupported dtype {name!r} (expected float32, bfloat16 or float16)")
    return _DTYPES[key]


@dataclass(frozen=True)
class VisionConfig:
    """SigLIP tower (MODELS.md §3.1/§3.2)."""
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    image_size: int
    patch_size: int
    num_channels: int = 3
    layer_norm_eps: float = 1e-6

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_attention_heads

    @property
    def patches_per_side(self) -> int:
        # The 2.2B runs 384/14: the conv ignores the last 6 px (MODELS.md §1.2).
        return self.image_size // self.patch_size

    @property
    def num_patches(self) -> int:
        return self.patches_per_side ** 2


@dataclass(frozen=True)
class TextConfig:
    """One decoder family with switches (MODELS.md §3.5–§3.7); architecture is gemma|gemma2|llama."""
    architecture: str
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    rms_norm_eps: float
    rope_theta: float
    max_position_embeddings: int
    query_pre_attn_scalar: Optional[float] = None
    attn_logit_softcapping: Optional[float] = None
    final_logit_softcapping: Optional[float] = None
    sliding_window: Optional[int] = None

    @property
    def attention_scale(self) -> float:
        # Python-double scalars, applied to the scores (MODELS.md §7.4).
        if self.architecture == "gemma2":
            return float(self.query_pre_attn_scalar) ** -0.5
        return float(self.head_dim) ** -0.5

    def is_sliding_layer(self, index: int) -> bool:
        # Gemma2: even layers use the sliding window (MODELS.md §3.6).
        return self.architecture == "gemma2" and self.sliding_window is not None and index % 2 == 0


@dataclass(frozen=True)
class ModelConfig:
    family: str
    model_type: str
    dtype: torch.dtype
    vision: VisionConfig
    text: TextConfig
    image_token_id: int
    scale_factor: int            # Idefics3 pixel-shuffle factor; 1 for PaliGemma
    image_seq_len: int           # image tokens per image (PaliGemma) or per tile (Idefics3)
    tie_word_embeddings: bool
    bos_token_id: Optional[int] = None
    eos_token_ids: list[int] = field(default_factory=list)
    pad_token_id: Optional[int] = None

    @property
    def is_paligemma(self) -> bool:
        return self.family in ("paligemma", "paligemma2")


@dataclass(frozen=True)
class GenerationConfig:
    """Stop ids from generation_config.json, never text_config (MODELS.md errata 9)."""
    eos_token_ids: list[int]
    repetition_penalty: float = 1.0
    max_new_tokens: Optional[int] = None


def _get(obj: dict[str, Any], key: str, default: Any, where: str, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise ValueError(f"{where}: field {key!r} is missing")
        return default
    return value


def _ids(value: Any) -> list[int]:
    if value is None:
        return []
    return [int(v) for v in value] if isinstance(value, list) else [int(value)]


def _vision(raw: dict[str, Any], paligemma: bool, where: str) -> VisionConfig:
    # SiglipVisionConfig class defaults for PaliGemma; Idefics3VisionConfig's otherwise
    # (MODELS.md errata 10).
    d = (dict(hidden_size=768, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=12,
              image_size=224, patch_size=16) if paligemma else
         dict(hidden_size=1152, intermediate_size=3072, num_hidden_layers=12, num_attention_heads=16,
              image_size=224, patch_size=32))
    return VisionConfig(**{k: int(_get(raw, k, v, where)) for k, v in d.items()},
                        num_channels=int(_get(raw, "num_channels", 3, where)),
                        layer_norm_eps=float(_get(raw, "layer_norm_eps", 1e-6, where)))


def _rope_theta(raw: dict[str, Any], default: float) -> float:
    params = raw.get("rope_parameters")  # transformers v5
    if isinstance(params, dict) and params.get("rope_theta") is not None:
        if params.get("rope_type", "default") != "default":
            raise ValueError(f"rope_type {params['rope_type']!r} is not supported")
        return float(params["rope_theta"])
    scaling = raw.get("rope_scaling")
    if isinstance(scaling, dict) and scaling.get("rope_type", scaling.get("type", "default")) != "default":
        raise ValueError(f"rope_scaling {scaling!r} is not supported")
    return float(_get(raw, "rope_theta", default, ""))


def _text(raw: dict[str, Any], architecture: str, where: str) -> TextConfig:
    req = {k: int(_get(raw, k, None, where, required=True))
           for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                     "vocab_size")}
    gemma = architecture in ("gemma", "gemma2")
    heads = req["num_attention_heads"]
    kv = int(_get(raw, "num_key_value_heads", heads, where))
    head_dim = int(_get(raw, "head_dim", 256 if gemma else req["hidden_size"] // heads, where))
    extra: dict[str, Any] = {}
    if architecture == "gemma2":  # Gemma2Config defaults; explicit null turns a softcap off
        extra = dict(query_pre_attn_scalar=float(raw.get("query_pre_attn_scalar", 256)),
                     attn_logit_softcapping=raw.get("attn_logit_softcapping", 50.0),
                     final_logit_softcapping=raw.get("final_logit_softcapping", 30.0),
                     sliding_window=raw.get("sliding_window", 4096))
    if heads % kv:
        raise ValueError(f"{where}: num_attention_heads {heads} is not a multiple of "
                         f"num_key_value_heads {kv}")
    return TextConfig(architecture=architecture, num_key_value_heads=kv, head_dim=head_dim,
                      rms_norm_eps=float(_get(raw, "rms_norm_eps", 1e-6, where)),
                      rope_theta=_rope_theta(raw, 10000.0),
                      max_position_embeddings=int(_get(raw, "max_position_embeddings",
                                                       8192 if gemma else 2048, where)),
                      **req, **extra)


def _dtype(raw: dict[str, Any], text: dict[str, Any]) -> torch.dtype:
    for obj in (raw, text):
        for key in ("dtype", "torch_dtype"):
            if obj.get(key):
                return torch_dtype(str(obj[key]))
    return torch.float32  # transformers' default when nothing is recorded


def parse_config(raw: dict[str, Any], where: str = "config.json") -> ModelConfig:
    """A parsed config.json (dict) → ModelConfig; raises ValueError naming the field at fault."""
    model_type = _get(raw, "model_type", None, where, required=True)
    text_raw = dict(_get(raw, "text_config", None, where, required=True))
    vision_raw = dict(_get(raw, "vision_config", None, where, required=True))
    if model_type == "paligemma":
        arch = text_raw.get("model_type", "gemma")
        if arch not in ("gemma", "gemma2"):
            raise ValueError(f"{where}: text_config.model_type {arch!r} is not gemma/gemma2")
        family = "paligemma2" if arch == "gemma2" else "paligemma"
    elif model_type in ("idefics3", "smolvlm"):
        arch = text_raw.get("model_type", "llama")
        if arch != "llama":
            raise ValueError(f"{where}: text_config.model_type {arch!r} is not llama")
        family = model_type
    else:
        raise ValueError(f"{where}: model_type {model_type!r} is not paligemma/idefics3/smolvlm")
    paligemma = model_type == "paligemma"
    vision = _vision(vision_raw, paligemma, where + ": vision_config")
    text = _text(text_raw, arch, where + ": text_config")
    token = raw.get("image_token_id", raw.get("image_token_index"))
    if token is None:
        raise ValueError(f"{where}: field 'image_token_id' (or 'image_token_index') is missing")
    scale = 1 if paligemma else int(raw.get("scale_factor", 2))
    if vision.patches_per_side % scale:
        raise ValueError(f"{where}: scale_factor {scale} does not divide {vision.patches_per_side}")
    tie = raw.get("tie_word_embeddings", text_raw.get("tie_word_embeddings", paligemma))
    # Special ids: PaliGemma keeps them top-level; Idefics3's top-level pad id can be stale
    # (MODELS.md §1.2 quirks), so text_config comes first there.
    first, second = (raw, text_raw) if paligemma else (text_raw, raw)

    def pick(key: str) -> list[int]:
        return _ids(first.get(key)) or _ids(second.get(key))

    return ModelConfig(family=family, model_type=model_type, dtype=_dtype(raw, text_raw),
                       vision=vision, text=text, image_token_id=int(token), scale_factor=scale,
                       image_seq_len=vision.num_patches // (scale * scale),
                       tie_word_embeddings=bool(tie),
                       bos_token_id=(pick("bos_token_id") or [None])[0],
                       eos_token_ids=pick("eos_token_id"),
                       pad_token_id=(pick("pad_token_id") or [None])[0])


def load_config(path: str) -> ModelConfig:
    """A model folder (reads DIR/config.json) or a config .json file → ModelConfig."""
    file = path if path.endswith(".json") else os.path.join(path, "config.json")
    with open(file, encoding="utf-8") as f:
        return parse_config(json.load(f), file)


def load_generation_config(model_dir: str, config: ModelConfig) -> GenerationConfig:
    """generation_config.json's eos ids (int or list) and repetition penalty; without the file,
    transformers derives the generation config from config.json, and so do we."""
    path = os.path.join(model_dir, "generation_config.json")
    if not os.path.exists(path):
        return GenerationConfig(eos_token_ids=list(config.eos_token_ids))
    with open(path, encoding="utf-8") as f:
        raw = json.load(f)
    eos = _ids(raw.get("eos_token_id")) if "eos_token_id" in raw else list(config.eos_token_ids)
    return GenerationConfig(eos_token_ids=eos,
                            repetition_penalty=float(raw.get("repetition_penalty") or 1.0),
                            max_new_tokens=raw.get("max_new_tokens"))
