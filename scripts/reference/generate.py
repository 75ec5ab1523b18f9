"""Greedy generation over a reference model (MODELS.md §6). The model computes logits, this loop
owns the cache, the search is an argmax.

Public API (stable):

    greedy(model, input_ids, pixel_values=None, pixel_attention_mask=None, token_type_ids=None,
           max_new_tokens=20, eos_token_ids=(), repetition_penalty=1.0) -> GenerationResult

    GenerationResult.tokens          list[int]  generated ids (the eos id included when hit)
    GenerationResult.step_logits     float32 [n_steps, V]: the model's logits for each generated
                                     token, cast to fp32, before any logits processor
    GenerationResult.prefill_logits  [L, V] in the model dtype
    GenerationResult.intermediates   {"vision_out", "connector_out"} from prefill
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from .models import ArrayLike, VisionLanguageModel


@dataclass
class GenerationResult:
    tokens: list[int]
    step_logits: torch.Tensor
    prefill_logits: torch.Tensor
    intermediates: dict[str, Optional[torch.Tensor]]


def apply_repetition_penalty(scores: torch.Tensor, seen: Sequence[int], penalty: float) -> torch.Tensor:
    """transformers' repetition penalty, applied even when greedy: for every id already in the
    sequence (prompt included), s < 0 → s·p, else s / p (MODELS.md §6)."""
    if penalty == 1.0 or not seen:
        return scores
    ids = torch.tensor(sorted(set(seen)))
    picked = scores[ids]
    out = scores.clone()
    out[ids] = torch.where(picked < 0, picked * penalty, picked / penalty)
    return out


def pick_token(logits: torch.Tensor) -> int:
    """argmax of the fp32 logits; ties go to the lowest index (torch.argmax does this on CPU;
    stated explicitly so it never depends on the backend)."""
    best = logits.max()
    return int(torch.nonzero(logits == best)[0, 0])


def greedy(model: VisionLanguageModel, input_ids: ArrayLike,
           pixel_values: Optional[ArrayLike] = None,
           pixel_attention_mask: Optional[ArrayLike] = None,
           token_type_ids: Optional[ArrayLike] = None, max_new_tokens: int = 20,
           eos_token_ids: Sequence[int] = (), repetition_penalty: float = 1.0) -> GenerationResult:
    """Stops after max_new_tokens or when a generation_config eos id (a list) is produced."""
    prompt = [int(t) for t in torch.as_tensor(input_ids).flatten().tolist()]
    prefill_logits, cache, intermediates = model.prefill(prompt, pixel_values,
                                                         pixel_attention_mask, token_type_ids)
    logits = prefill_logits[-1]
    tokens: list[int] = []
    steps: list[torch.Tensor] = []
    while len(tokens) < max_new_tokens:
        scores = logits.to(torch.float32)
        steps.append(scores)
        token = pick_token(apply_repetition_penalty(scores, prompt + tokens, repetition_penalty))
        tokens.append(token)
        if token in eos_token_ids or len(tokens) == max_new_tokens:
            break
        logits = model.decode_step(token, cache)
    empty = torch.zeros(0, prefill_logits.shape[-1])
    return GenerationResult(tokens, torch.stack(steps) if steps else empty, prefill_logits,
                            intermediates)
