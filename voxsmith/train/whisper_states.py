"""Whisper encoder states of corpus clips, computed once and cached for checker training.

The ``whisper`` frontend of the pronunciation recogniser (``check/whisper_features.py``)
reads Whisper base's encoder states; computing them costs ~0.2 s per clip on 2 cores, far
more than a training step of the head, so every clip is encoded once (no augmentation
before the encoder; the recipe augments the states) and kept under
``<corpus>/cache/whisper-states_<split>/`` in shards of ``SHARD`` clips, each written
atomically: an interrupted run keeps the finished shards and encodes only the rest.
States are fp16 ``(frames, d_model)`` at 50 Hz, keyed by clip id.
"""

from __future__ import annotations

import logging
from pathlib import Path

import torch
from tqdm import tqdm

from voxsmith.check.whisper_features import whisper_features
from voxsmith.fileio import atomic_path
from voxsmith.train.data import CorpusData

log = logging.getLogger(__name__)

SHARD = 100  # clips per cache file


def cache_dir(part: CorpusData) -> Path:
    return part.root / "cache" / f"whisper-states_{part.split}"


def load_states(directory: Path) -> dict[str, torch.Tensor]:
    """Clip id -> (frames, d_model) fp16 states of every finished shard in ``directory``."""
    states: dict[str, torch.Tensor] = {}
    for shard in sorted(directory.glob("shard_*.pt")):
        states.update(torch.load(shard, weights_only=True))
    return states


def clip_states(part: CorpusData, indices: list[int], backend) -> dict[int, torch.Tensor]:
    """Clip index -> (d_model, frames) fp16 encoder states of clips ``indices`` of ``part``,
    encoding (with ``backend``, a ``WhisperBackend``) and caching the ones not cached yet."""
    directory = cache_dir(part)
    cached = load_states(directory) if directory.is_dir() else {}
    todo = [i for i in indices if part.clips[i].row["id"] not in cached]
    if todo:
        log.info(
            "whisper states: encoding %d of %d clips of %s (cached once)", len(todo), len(indices), part.root
        )
        n_shards = len(list(directory.glob("shard_*.pt"))) if directory.is_dir() else 0
        bar = tqdm(total=len(todo), desc=f"whisper states {part.split}", unit="clip")
        for c0 in range(0, len(todo), SHARD):
            shard: dict[str, torch.Tensor] = {}
            for i in todo[c0 : c0 + SHARD]:
                states = whisper_features(part.clip_audio(i), backend)
                shard[part.clips[i].row["id"]] = states.T.contiguous().half()
                bar.update(1)
            with atomic_path(directory / f"shard_{n_shards:05d}.pt", suffix=".pt") as tmp:
                torch.save(shard, tmp)
            n_shards += 1
            cached.update(shard)
        bar.close()
    return {i: cached[part.clips[i].row["id"]].T for i in indices}
