"""vlmrt's PyTorch reference of PaliGemma, PaliGemma2, Idefics3/SmolVLM and SmolVLM2, written from
docs MODELS.md (transformers v5 behaviour, eager attention, PIL image processors).

Import with the repository root on sys.path: `from scripts.reference import models`. Modules:
config, weights, siglip, connector, decoder, attention, numerics (half-precision ops with
PyTorch 2 semantics on any installed torch), models, generate, processing, tokenization; each
module docstring lists its stable API. Scripts: run.py (generate from a model folder),
hf_crosscheck.py (compare fixtures with real transformers). Importing `models` pins torch to 2
threads so that runs are reproducible byte for byte.
"""
