"""Optional T2E backend: a local transformers causal LM that answers with a JSON of scores.

This is the official convention (a Qwen3-0.6B fine-tune, ``qwen0.6bemo4-merge/``): system
prompt "文本情感分类", the text as the user turn, thinking off; the model answers e.g.
``{"高兴": 0.0, "愤怒": 0.9, ..., "自然": 0.1}`` with the eight Chinese category names.
Parsing follows the official rules: JSON, else ``key: number`` pairs; scores clamped to
[0, 1.2]; nothing at all means calm; and since that model cannot tell 悲伤 (sad) from 低落
(melancholic), a text naming melancholy swaps the two.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np

from voxsmith.embeddings import EMOTIONS, EMOTIONS_ZH
from voxsmith.emotion_text.base import T2EBackend
from voxsmith.emotion_text.result import EmotionWeights, from_scores
from voxsmith.errors import CheckpointError

log = logging.getLogger(__name__)

SYSTEM_PROMPT = "文本情感分类"
MAX_SCORE = 1.2  # official clamp
MELANCHOLIC_WORDS = ("低落", "melancholy", "melancholic", "depression", "depressed", "gloomy")
MAX_NEW_TOKENS = 96  # the JSON answer is ~77 tokens for the official model
KEEP_RATIO = 0.0  # keep every category the model scored: its answer is already a deliberate mix
_PAIR = re.compile(r'([^\s"：:.,，、{}]+?)"?\s*[:：]\s*([\d.]+)')  # key: value, also with a full-width colon
_KEYS = {**{z: i for i, z in enumerate(EMOTIONS_ZH)}, **{e: i for i, e in enumerate(EMOTIONS)}}


def parse_llm_output(content: str, text: str) -> tuple[np.ndarray, bool]:
    """(8,) scores in ``EMOTIONS`` order from a model answer, and whether any score was found.

    ``content``: the generated text (anything up to a ``</think>`` is dropped); ``text``: the
    user's input, for the melancholic swap. Keys may be the Chinese names or the English ones.
    """
    content = content.rsplit("</think>", 1)[-1].strip()
    pairs: dict[str, float] = {}
    match = re.search(r"\{.*\}", content, re.S)
    if match:
        try:
            obj = json.loads(match.group(0))
            if isinstance(obj, dict):
                pairs = {str(k).strip(): float(v) for k, v in obj.items() if isinstance(v, int | float)}
        except json.JSONDecodeError:
            pairs = {}
    if not pairs:
        pairs = {m.group(1): float(m.group(2)) for m in _PAIR.finditer(content) if _is_number(m.group(2))}
    scores = np.zeros(len(EMOTIONS), np.float32)
    found = False
    for key, value in pairs.items():
        k = _KEYS.get(key.lower() if key.isascii() else key)
        if k is not None and np.isfinite(value):
            scores[k] = min(max(value, 0.0), MAX_SCORE)
            found = True
    if any(w in text.lower() for w in MELANCHOLIC_WORDS):
        sad, low = EMOTIONS.index("sad"), EMOTIONS.index("melancholic")
        scores[sad], scores[low] = scores[low], scores[sad]
    if scores.max() <= 0.0:
        scores[EMOTIONS.index("calm")] = 1.0
    return scores, found


def _is_number(s: str) -> bool:
    try:
        float(s)
    except ValueError:
        return False
    return True


def load_hf_generator(
    model_dir: str | os.PathLike, max_new_tokens: int = MAX_NEW_TOKENS
) -> Callable[[str], str]:
    """``generate(text) -> answer`` from a local transformers causal-LM directory (greedy, CPU)."""
    path = Path(model_dir)
    if not path.is_dir():
        raise CheckpointError(f"{path}: emotion LLM directory not found")
    if not (path / "config.json").is_file():
        raise CheckpointError(f"{path}: not a transformers model directory (no config.json)")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(path, local_files_only=True, torch_dtype=torch.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise CheckpointError(
            f"{path}: cannot load the emotion LLM ({exc.__class__.__name__}: {exc})"
        ) from exc
    if not tokenizer.chat_template:
        raise CheckpointError(f"{path}: the tokenizer has no chat template; the emotion LLM needs one")
    model.eval()
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def generate(text: str) -> str:
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": text}]
        prompt = tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True, enable_thinking=False
        )
        enc = tokenizer([prompt], return_tensors="pt")
        ids, mask = (
            enc["input_ids"],
            enc["attention_mask"],
        )  # (1, T); no token_type_ids: causal LMs reject them
        with torch.inference_mode():
            out = model.generate(
                input_ids=ids,
                attention_mask=mask,
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=pad_id,
            )
        return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)

    return generate


class LLMBackend(T2EBackend):
    """T2E through a local causal LM (``model_dir``), or through any ``generate(text) -> str``.

    ``weights`` are the clamped scores scaled down only if they sum above 1 (the model's
    intensities are kept: 0.3 stays 0.3); ``scores`` are the clamped scores themselves.
    """

    name = "llm"

    def __init__(self, model_dir: str | os.PathLike | None, generate: Callable[[str], str] | None = None):
        if generate is None:
            if model_dir is None:
                raise CheckpointError("the LLM emotion backend needs a model directory (--model-dir)")
            generate = load_hf_generator(model_dir)
        self.model_dir = model_dir
        self.generate = generate

    def _predict(self, text: str) -> EmotionWeights:
        answer = self.generate(text)
        scores, found = parse_llm_output(answer, text)
        if not found:
            log.warning("emotion LLM answer has no category scores, using calm: %r", answer[:200])
        return from_scores(
            scores,
            keep_ratio=KEEP_RATIO,
            cues=() if found else ("unparsed",),
            backend=self.name,
            normalise=False,
        )
