"""Image processors (transformers v5 PIL "slow" path) and prompt building for both families
(MODELS.md §5, errata 1/3/4/6/7/12/13).

Public API (stable):

    load_rgb(path) -> PIL.Image                    EXIF transpose, then plain convert("RGB")
    siglip_frames(cfg, image) -> (frames, info)    uint8 HWC frames before rescale/normalise
    idefics3_frames(cfg, image) -> (frames, info)  tiles row-major, then the global image
    normalize(cfg, uint8 [..., H, W, 3]) -> float32 same shape
    is_idefics3(cfg) -> bool
    process_images(cfg, images) -> ProcessedImages (pixel_values float32 [n_frames, 3, H, W],
                                   pixel_attention_mask int64 [n_frames, H, W] | None,
                                   layouts [(rows, cols)] per image)
    video_frames(cfg, images) -> ProcessedImages   SmolVLM2 frames: longest edge → video_size,
                                                   then M×M, no splitting (§5.4)
    sample_frame_indices(num_frames, native_fps, fps=1, max_frames=64, skip_secs=0) -> list[int]
    render_chat(model_dir, messages, add_generation_prompt=True) -> str
    prompt_text(model_dir, config, prompt, layouts, chat=True) -> str   expanded model text
    prepare_inputs(model_dir, prompt, images, chat=True) -> ModelInputs

`cfg` is a parsed preprocessor_config.json. Prompt expansion strings come from
tests/models/prompt/hf_prompt_reference.py (one copy in the repo), loaded by path.
Divergence kept on purpose: SmolVLM2's video processor resizes with torchvision bicubic in
transformers; video_frames uses the image processor's PIL LANCZOS (MODELS.md §5.4 VERSION).
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Optional, Sequence, Union

import numpy as np
from PIL import Image, ImageOps

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAX_IMAGE_SIZE = 4096  # transformers' Idefics3 MAX_IMAGE_SIZE


# ---------------------------------------------------------------------------------------------
# Images

def load_rgb(path: str) -> Image.Image:
    """transformers' load_image: EXIF transpose, then a plain convert('RGB') (alpha dropped) before
    any resize (MODELS.md errata 3)."""
    with Image.open(path) as image:
        image.load()
        image = ImageOps.exif_transpose(image)
        return image.convert("RGB")


def pil_resize(image: Image.Image, width: int, height: int, resample: int) -> Image.Image:
    return image.resize((width, height), resample=resample)


def longest_edge_size(height: int, width: int, max_len: int) -> tuple[int, int]:
    """Stage 1: longest edge → max_len (upscaling too), int() truncation, odd → +1 (§5.2)."""
    aspect_ratio = width / height
    if width >= height:
        width = max_len
        height = int(width / aspect_ratio)
        if height % 2 != 0:
            height += 1
    elif height > width:
        height = max_len
        width = int(height * aspect_ratio)
        if width % 2 != 0:
            width += 1
    height, width = max(height, 1), max(width, 1)
    aspect_ratio = width / height
    if width >= height and width > MAX_IMAGE_SIZE:
        width = MAX_IMAGE_SIZE
        height = int(width / aspect_ratio)
    elif height > width and height > MAX_IMAGE_SIZE:
        height = MAX_IMAGE_SIZE
        width = int(height * aspect_ratio)
    return max(height, 1), max(width, 1)


def vision_encoder_size(height: int, width: int, tile: int) -> tuple[int, int]:
    """Stage 2: both sides up to multiples of the tile edge, keeping the aspect ratio (§5.2)."""
    aspect_ratio = width / height
    if width >= height:
        width = math.ceil(width / tile) * tile
        height = int(width / aspect_ratio)
        height = math.ceil(height / tile) * tile
    else:
        height = math.ceil(height / tile) * tile
        width = int(height * aspect_ratio)
        width = math.ceil(width / tile) * tile
    return height, width


def siglip_frames(cfg: dict[str, Any], image: Image.Image) -> tuple[list[np.ndarray], dict[str, Any]]:
    """PaliGemma: a stretching resize to size (h, w) with `resample` (BICUBIC) (§5.1)."""
    info: dict[str, Any] = {"rows": 0, "cols": 0}
    if cfg.get("do_resize", True):
        size = cfg.get("size", {"height": 224, "width": 224})
        image = pil_resize(image, size["width"], size["height"], cfg.get("resample", 3))
    return [np.array(image)], info


def idefics3_frames(cfg: dict[str, Any], image: Image.Image) -> tuple[list[np.ndarray], dict[str, Any]]:
    """Idefics3/SmolVLM: stage-1 and stage-2 LANCZOS resizes, exact M×M crops row-major, then the
    global image (stage-2 image resized to M×M) last; or one M×M resize without splitting (§5.2)."""
    resample = cfg.get("resample", 1)
    tile = cfg["max_image_size"]["longest_edge"]
    info: dict[str, Any] = {}
    if cfg.get("do_resize", True):
        size = cfg["size"]
        if "longest_edge" in size:
            h, w = longest_edge_size(image.height, image.width, size["longest_edge"])
        else:
            h, w = size["height"], size["width"]
        image = pil_resize(image, w, h, resample)
    info["stage1"] = [image.width, image.height]
    if not cfg.get("do_image_splitting", True):
        image = pil_resize(image, tile, tile, resample)
        info.update(rows=0, cols=0, stage2=[tile, tile])
        return [np.array(image)], info
    h, w = vision_encoder_size(image.height, image.width, tile)
    image = pil_resize(image, w, h, resample)
    info["stage2"] = [w, h]
    array = np.array(image)
    if h > tile or w > tile:
        rows, cols = (h - tile) // tile + 1, (w - tile) // tile + 1
        frames = [array[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
                  for r in range(rows) for c in range(cols)]
        frames.append(np.array(pil_resize(image, tile, tile, resample)))
    else:
        rows, cols = 0, 0
        frames = [array]
    info.update(rows=rows, cols=cols)
    return frames, info


def normalize(cfg: dict[str, Any], frames: np.ndarray) -> np.ndarray:
    """uint8 [..., H, W, 3] → float32: HF's rescale (float64 multiply, then float32), normalise in
    float32 with float32 mean/std (§5.1 steps 3–4)."""
    x = frames
    if cfg.get("do_rescale", True):
        x = (x.astype(np.float64) * cfg.get("rescale_factor", 1 / 255)).astype(np.float32)
    if cfg.get("do_normalize", True):
        if not np.issubdtype(x.dtype, np.floating):
            x = x.astype(np.float32)
        mean = np.array(cfg.get("image_mean", [0.5] * 3), dtype=x.dtype)
        std = np.array(cfg.get("image_std", [0.5] * 3), dtype=x.dtype)
        x = (x - mean) / std
    return x.astype(np.float32)


def is_idefics3(cfg: dict[str, Any]) -> bool:
    kind = cfg.get("image_processor_type", "")
    if kind:
        return "Idefics3" in kind or "SmolVLM" in kind
    return "longest_edge" in cfg.get("size", {})


@dataclass
class ProcessedImages:
    pixel_values: np.ndarray                      # float32 [n_frames, 3, H, W]
    pixel_attention_mask: Optional[np.ndarray]    # int64 [n_frames, H, W], Idefics3 only
    layouts: list[tuple[int, int]]                # (rows, cols) per image; (0, 0) = not split


def _stack(cfg: dict[str, Any], frames: list[np.ndarray], layouts: list[tuple[int, int]],
           with_mask: bool) -> ProcessedImages:
    # One sample: frames of every image in prompt order, zero-padded to the largest frame; the
    # mask is 1 on real pixels (§5.2 step 6). With the default configs all frames are M×M.
    height = max(f.shape[0] for f in frames)
    width = max(f.shape[1] for f in frames)
    pixels = np.zeros((len(frames), 3, height, width), dtype=np.float32)
    mask = np.zeros((len(frames), height, width), dtype=np.int64)
    for i, frame in enumerate(frames):
        h, w = frame.shape[:2]
        pixels[i, :, :h, :w] = normalize(cfg, frame).transpose(2, 0, 1)
        mask[i, :h, :w] = 1
    return ProcessedImages(pixels, mask if with_mask else None, layouts)


def process_images(cfg: dict[str, Any], images: Sequence[Image.Image]) -> ProcessedImages:
    """All images of one prompt → the model's pixel inputs."""
    idefics3 = is_idefics3(cfg)
    frames: list[np.ndarray] = []
    layouts: list[tuple[int, int]] = []
    for image in images:
        image_frames, info = (idefics3_frames if idefics3 else siglip_frames)(cfg, image)
        frames += image_frames
        layouts.append((info["rows"], info["cols"]))
    if not frames:
        return ProcessedImages(np.zeros((0, 3, 0, 0), np.float32), None, [])
    return _stack(cfg, frames, layouts, idefics3)


def video_frames(cfg: dict[str, Any], images: Sequence[Image.Image]) -> ProcessedImages:
    """SmolVLM2 video frames: longest edge → video_size (even rounding), then M×M, never split."""
    video_size = cfg.get("video_sampling", {}).get("video_size", cfg["max_image_size"]["longest_edge"])
    tile = cfg["max_image_size"]["longest_edge"]
    resample = cfg.get("resample", 1)
    frames = []
    for image in images:
        h, w = longest_edge_size(image.height, image.width, video_size)
        frames.append(np.array(pil_resize(pil_resize(image, w, h, resample), tile, tile, resample)))
    return _stack(cfg, frames, [(0, 0)] * len(frames), True)


def sample_frame_indices(num_frames: int, native_fps: float, fps: float = 1.0,
                         max_frames: int = 64, skip_secs: float = 0.0) -> list[int]:
    """SmolVLM2 fps sampling (§5.4): a vlmrt feature; transformers uses every frame unless asked
    (errata 8). skip_secs is 1 through load_video, 0 in _preprocess."""
    duration = num_frames / native_fps
    desired = max(1, min(int(round(fps * duration)), max_frames))
    start, end = 0, num_frames - 1
    if duration - 2 * skip_secs > max_frames * fps:
        start = int(skip_secs * native_fps)
        end = int(num_frames - skip_secs * native_fps)
    start, end = max(start, 0), min(end, num_frames - 1)
    if start >= end:
        start, end = 0, num_frames - 1
    return sorted(set(np.linspace(start, end, desired).astype(int).tolist()))


# ---------------------------------------------------------------------------------------------
# Prompts

def _prompt_reference() -> ModuleType:
    path = os.path.join(REPO_ROOT, "tests", "models", "prompt", "hf_prompt_reference.py")
    spec = importlib.util.spec_from_file_location("hf_prompt_reference", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


PROMPTS = _prompt_reference()

# MODELS.md §5.3, used when a folder ships no chat template.
DEFAULT_CHAT_TEMPLATE = (
    "<|im_start|>{% for message in messages %}{{message['role'] | capitalize}}"
    "{% if message['content'][0]['type'] == 'image' %}{{':'}}{% else %}{{': '}}{% endif %}"
    "{% for line in message['content'] %}{% if line['type'] == 'text' %}{{line['text']}}"
    "{% elif line['type'] == 'image' %}{{ '<image>' }}{% elif line['type'] == 'video' %}"
    "{{ '<video>' }}{% endif %}{% endfor %}<end_of_utterance>\n{% endfor %}"
    "{% if add_generation_prompt %}{{ 'Assistant:' }}{% endif %}")


def _chat_template(model_dir: str) -> str:
    for name in ("chat_template.jinja", "chat_template.json", "tokenizer_config.json"):
        path = os.path.join(model_dir, name)
        if not os.path.exists(path):
            continue
        with open(path, encoding="utf-8") as f:
            if name.endswith(".jinja"):
                return f.read()
            template = json.load(f).get("chat_template")
        if isinstance(template, str):
            return template
    return DEFAULT_CHAT_TEMPLATE


def render_chat(model_dir: str, messages: list[dict[str, Any]],
                add_generation_prompt: bool = True) -> str:
    """The folder's chat template rendered as transformers does (sandboxed jinja2, trim_blocks,
    lstrip_blocks)."""
    from jinja2.ext import loopcontrols
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(message: str) -> None:
        raise ValueError(message)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[loopcontrols])
    env.globals["raise_exception"] = raise_exception
    return env.from_string(_chat_template(model_dir)).render(
        messages=messages, add_generation_prompt=add_generation_prompt)


def prompt_text(model_dir: str, config: Any, prompt: str, layouts: Sequence[tuple[int, int]],
                chat: bool = True) -> str:
    """The full model text before tokenisation. PaliGemma: <image>×N·n + <bos> + prompt + "\\n"
    (<bos> after the last <image> when the prompt has some; §5.1, errata 4). SmolVLM: the chat
    template (images first in the user turn) unless chat=False, then each <image> expanded with
    its (rows, cols) layout (§5.3)."""
    if config.is_paligemma:
        return PROMPTS.paligemma(prompt, len(layouts), config.image_seq_len, "<bos>")
    text = prompt
    if chat:
        content = [{"type": "image"} for _ in layouts] + [{"type": "text", "text": prompt}]
        text = render_chat(model_dir, [{"role": "user", "content": content}])
    if text.count("<image>") != len(layouts):
        raise ValueError(f"the text has {text.count('<image>')} <image> markers for "
                         f"{len(layouts)} images")
    return PROMPTS.expand_images(text, [list(layout) for layout in layouts], config.image_seq_len)


@dataclass
class ModelInputs:
    text: str
    input_ids: list[int]
    pixel_values: Optional[np.ndarray]
    pixel_attention_mask: Optional[np.ndarray]
    token_type_ids: Optional[list[int]]       # PaliGemma: all 0 (the whole prompt is prefix)


def prepare_inputs(model_dir: str, prompt: str,
                   images: Sequence[Union[str, Image.Image]] = (), chat: bool = True) -> ModelInputs:
    """Prompt + images → model inputs, with the folder's preprocessor_config.json and
    tokenizer.json (tokenised whole, never assembled by hand — errata 6)."""
    from .config import load_config
    from .tokenization import tokenize

    config = load_config(model_dir)
    with open(os.path.join(model_dir, "preprocessor_config.json"), encoding="utf-8") as f:
        cfg = json.load(f)
    pil = [load_rgb(i) if isinstance(i, str) else i.convert("RGB") for i in images]
    processed = process_images(cfg, pil)
    text = prompt_text(model_dir, config, prompt, processed.layouts, chat)
    ids = tokenize(os.path.join(model_dir, "tokenizer.json"), text)
    return ModelInputs(text=text, input_ids=ids,
                       pixel_values=processed.pixel_values if pil else None,
                       pixel_attention_mask=processed.pixel_attention_mask if pil else None,
                       token_type_ids=[0] * len(ids) if config.is_paligemma else None)
