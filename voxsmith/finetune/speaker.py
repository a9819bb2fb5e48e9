"""The stored voice of an adapter: the medoid speaker conditioning over the fine-tuning clips.

Each candidate clip (the main speaker's training clips, preferring those long enough to be a
good in-context prompt, at most ``medoid_clips`` of them spread over the set) is prepared as a
reference would be at inference and run through the speaker conditioner. The clip whose
latents ``(L, D)`` have the least summed distance to all others is the medoid: a real clip
(so its prompt mel and codes are real), and the most typical one. Its full ``SpeakerEmbedding``
is stored, so inference needs no reference clip.
"""

from __future__ import annotations

import logging

import torch

from voxsmith.audio import AudioProcessor
from voxsmith.embeddings import SpeakerEmbedding
from voxsmith.errors import AudioError, DataError
from voxsmith.finetune.data import FinetuneData, FtClip

log = logging.getLogger(__name__)


def candidates(data: FinetuneData) -> list[FtClip]:
    cfg = data.cfg
    speaker = data.main_speaker
    if len(data.by_speaker) > 1:
        log.warning(
            "fine-tuning data has %d speakers; the stored voice is %s (most clips)",
            len(data.by_speaker),
            speaker,
        )
    clips = data.by_speaker[speaker]
    long_enough = [c for c in clips if c.seconds >= cfg.min_speaker_seconds]
    clips = long_enough or clips
    if len(clips) > cfg.medoid_clips:  # evenly spread, deterministic
        step = len(clips) / cfg.medoid_clips
        clips = [clips[int(i * step)] for i in range(cfg.medoid_clips)]
    return clips


def medoid_index(latents: torch.Tensor) -> int:
    """``latents (n, L, D)`` → index of the one with the least summed Euclidean distance to the rest."""
    flat = latents.reshape(latents.shape[0], -1).double()
    return int(torch.cdist(flat, flat).sum(dim=1).argmin())


def medoid_speaker(model, data: FinetuneData) -> SpeakerEmbedding:
    """The ``SpeakerEmbedding`` of the medoid clip, made by ``model`` as it is now (tuned weights)."""
    p = model.parts
    clips, lat = [], []
    with torch.inference_mode():
        for c in candidates(data):
            try:
                ref = AudioProcessor.prepare_reference(c.audio(), name=f"clip {c.id}")
            except AudioError as exc:
                log.debug("medoid: %s skipped (%s)", c.id, exc)
                continue
            lat.append(p.gpt.speaker_latents(p.conditioning_features(ref).unsqueeze(0))[0])
            clips.append(c)
    if not clips:
        raise DataError(f"{data.root}: no clip is usable as a speaker reference (all under 1 s of speech?)")
    best = clips[medoid_index(torch.stack(lat))]
    spk = model.speaker_encoder(best.audio())
    spk.meta.update(
        {"source": "finetune medoid", "clip": best.id, "speaker": best.speaker, "candidates": len(clips)}
    )
    return spk
