"""GPT latents of the corpus clips, for an S2M that reads them (the official design).

The official S2M adds ``gpt_layer(GPT latents)`` to the codec embedding of the codes: the
GPT's last hidden state at each code has attended to the text, so it carries what was
said where the lossy codes alone blur it. Training S2M that way needs the latents of
every training clip under a fixed GPT: teacher-forced over the clip's text and codes,
conditioned like inference (speaker latents from another clip of the speaker, emotion from
another clip of the same style, free length). They are computed once per GPT checkpoint
and cached as ``cache/latents_<split>_<sha of the GPT file>.npz`` (fp16).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.checkpoints import load_module
from voxsmith.errors import CheckpointError
from voxsmith.fileio import file_digest
from voxsmith.models.gpt import GPTConfig, UnifiedVoice
from voxsmith.text.tokenizer import PhoneTokenizer
from voxsmith.train.data import load_codes, save_codes, split_codes
from voxsmith.train.gpt import GPTData

log = logging.getLogger(__name__)


@torch.no_grad()
def clip_latents(
    gpt: UnifiedVoice,
    corpus: str | Path,
    split: str,
    seed: int = 0,
    max_ref: int = 500,
    skip: set[str] | frozenset[str] = frozenset(),
):
    """Latents ``(N, D)`` fp16 of every clip of ``split`` with codes and text, by clip id
    (clips whose id is in ``skip`` left out)."""
    data = GPTData(corpus, split, PhoneTokenizer())
    gpt.eval()
    out: dict[str, np.ndarray] = {}
    todo = [k for k in data.keep if data.data.clips[k].row["id"] not in skip]
    for k in tqdm(todo, desc=f"gpt latents {split}", unit="clip", leave=False):
        row = data.data.clips[k].row
        rng = np.random.default_rng([seed, k])
        spk_ref = data._ref(k, data.by_speaker[row["speaker"]], rng, max_ref)
        emo_ref = data._ref(k, data.by_style[(row["speaker"], row.get("style", "neutral"))], rng, max_ref)
        codes = torch.from_numpy(data.codes[k].astype(np.int64))[None]
        lat = gpt.latents(
            gpt.speaker_latents(spk_ref[None]), gpt.emotion_vector(emo_ref[None]),
            torch.tensor([data.text[k]]), codes,
        )  # fmt: skip
        out[row["id"]] = lat[0].to(torch.float16).numpy()
    return out


def latents_cache(corpus: str | Path, split: str, gpt_path: str | Path) -> dict[str, np.ndarray]:
    """The cached latents of ``split`` under the GPT at ``gpt_path``: computed on first use,
    and completed for clips that got codes since (the corpus grew)."""
    if not Path(gpt_path).is_file():
        raise CheckpointError(f"{gpt_path}: GPT weights not found (the S2M stage reads their latents)")
    path = Path(corpus) / "cache" / f"latents_{split}_{file_digest(gpt_path)}.npz"
    cached = load_codes(path) if path.is_file() else {}
    if cached and set(split_codes(corpus, split)) <= set(cached):
        return cached
    gpt = load_module(gpt_path, "gpt", lambda c: UnifiedVoice(GPTConfig.from_dict(c)))
    new = clip_latents(gpt, corpus, split, skip=set(cached))  # type: ignore[arg-type]
    if not new and cached:
        return cached  # the clips without latents are ones the GPT cannot read (no phones)
    log.info(
        "gpt latents: %d clips of %s computed with %s (%d cached)", len(new), path.name, gpt_path, len(cached)
    )
    lat = {**cached, **new}
    save_codes(path, lat)
    return lat
