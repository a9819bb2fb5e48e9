"""Training data: a corpus manifest plus a packed feature cache built once per corpus.

The corpus (``voxsmith corpus build``) is a directory with ``manifest.jsonl`` and wav
files. Training stages read it through ``CorpusData``, which packs every clip of a split
into one int16 audio array and one fp16 log-mel array (with offsets), cached under
``<corpus>/cache/<split>.npz``; the cache is rebuilt when the split's clip list changes.
At 90 minutes of audio this is ~240 MB of audio and ~75 MB of mels: it fits in memory,
and random crops cost nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.audio import SAMPLE_RATE, SILENCE_LOG_MEL, AudioProcessor, MelConfig
from voxsmith.errors import DataError
from voxsmith.fileio import atomic_path

log = logging.getLogger(__name__)
T = TypeVar("T")

HOP = MelConfig().hop_length


def read_manifest(corpus: str | os.PathLike) -> list[dict[str, Any]]:
    """Rows of ``<corpus>/manifest.jsonl``; ``path`` resolved against the corpus directory."""
    root = Path(corpus)
    mpath = root / "manifest.jsonl" if root.is_dir() else root
    if not mpath.is_file():
        raise DataError(f"{mpath}: manifest not found (build a corpus with `voxsmith corpus build`)")
    rows = []
    for i, line in enumerate(mpath.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{mpath}:{i}: not valid JSON ({exc})") from exc
        p = Path(row["path"])
        row["path"] = str(p if p.is_absolute() else mpath.parent / p)
        rows.append(row)
    if not rows:
        raise DataError(f"{mpath}: manifest has no clips")
    return rows


@dataclass
class Clip:
    """One clip of a packed split: where its samples and mel frames live."""

    row: dict[str, Any]
    audio_start: int  # sample offset in the packed audio
    n_samples: int  # multiple of HOP
    mel_start: int  # frame offset in the packed mel
    n_frames: int  # n_samples // HOP


class CorpusData:
    """Packed audio + mel of one split of a corpus, with speaker ids."""

    def __init__(
        self, corpus: str | os.PathLike, split: str = "train", *, langs: tuple[str, ...] | None = None
    ):
        self.root = Path(corpus)
        rows = [r for r in read_manifest(self.root) if r.get("split") == split]
        if langs:
            rows = [r for r in rows if r.get("lang") in langs]
        if not rows:
            raise DataError(f"{self.root}: no clips in split {split!r}")
        rows.sort(key=lambda r: r["id"])
        self.split = split
        self.rows = rows
        self.speakers = sorted({r["speaker"] for r in rows})
        self.speaker_index = {s: i for i, s in enumerate(self.speakers)}
        audio, mel, clips = self._load_or_build()
        self.audio = audio  # (N,) int16
        self.mel = mel  # (F, 80) fp16
        self.clips = clips

    def _cache_key(self) -> str:
        h = hashlib.sha1()
        for r in self.rows:
            h.update(f"{r['id']}|{r.get('duration_s')}\n".encode())
        return h.hexdigest()[:16]

    def _load_or_build(self) -> tuple[np.ndarray, np.ndarray, list[Clip]]:
        cache = self.root / "cache" / f"{self.split}.npz"
        key = self._cache_key()
        if cache.is_file():
            with np.load(cache, allow_pickle=False) as z:
                if str(z["key"]) == key:
                    return z["audio"], z["mel"], self._clips(z["n_samples"])
        audio_parts, mel_parts, lengths = [], [], []
        for row in tqdm(self.rows, desc=f"packing {self.split}", unit="clip", leave=False):
            a = AudioProcessor.load(row["path"], sr=SAMPLE_RATE).samples
            a = a[: len(a) // HOP * HOP]
            m = AudioProcessor.mel(a).squeeze(0).T.numpy()  # (frames, 80)
            audio_parts.append((np.clip(a, -1, 1) * 32767).astype(np.int16))
            mel_parts.append(m.astype(np.float16))
            lengths.append(len(a))
        audio = np.concatenate(audio_parts)
        mel = np.concatenate(mel_parts)
        n_samples = np.asarray(lengths, dtype=np.int64)
        with atomic_path(cache, suffix=".npz") as tmp:
            np.savez(tmp, key=np.asarray(key), audio=audio, mel=mel, n_samples=n_samples)
        return audio, mel, self._clips(n_samples)

    def _clips(self, n_samples: np.ndarray) -> list[Clip]:
        clips, a0, m0 = [], 0, 0
        for row, n in zip(self.rows, n_samples.tolist(), strict=True):
            clips.append(Clip(row, a0, n, m0, n // HOP))
            a0 += n
            m0 += n // HOP
        return clips

    def __len__(self) -> int:
        return len(self.clips)

    @property
    def minutes(self) -> float:
        return len(self.audio) / SAMPLE_RATE / 60

    def clip_audio(self, i: int) -> np.ndarray:
        c = self.clips[i]
        return self.audio[c.audio_start : c.audio_start + c.n_samples].astype(np.float32) / 32767

    def clip_mel(self, i: int) -> torch.Tensor:
        """(80, frames) float32 log-mel of clip ``i``."""
        c = self.clips[i]
        return torch.from_numpy(self.mel[c.mel_start : c.mel_start + c.n_frames].astype(np.float32)).T

    def random_crops(
        self, batch: int, frames: int, generator: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Aligned random crops: mel (B, 80, frames) and audio (B, frames*HOP); short clips padded."""
        mels = torch.full((batch, 80, frames), SILENCE_LOG_MEL)
        wavs = torch.zeros(batch, frames * HOP)
        for b in range(batch):
            c = self.clips[int(generator.integers(len(self.clips)))]
            n = min(frames, c.n_frames)
            start = int(generator.integers(0, c.n_frames - n + 1))
            m = self.mel[c.mel_start + start : c.mel_start + start + n].astype(np.float32)
            a = self.audio[c.audio_start + start * HOP : c.audio_start + (start + n) * HOP]
            mels[b, :, :n] = torch.from_numpy(m).T
            wavs[b, : n * HOP] = torch.from_numpy(a.astype(np.float32) / 32767)
        return mels, wavs


def load_codes(path: str | Path) -> dict[str, np.ndarray]:
    """A codes file (``cache/codes_<split>.npz`` layout: ids, lens, concatenated rows) → rows by clip id."""
    if not Path(path).is_file():
        raise DataError(f"{path}: codes file not found")
    with np.load(path) as z:
        ids, lens, flat = z["ids"], z["lens"], z["codes"]
    starts = np.concatenate([[0], np.cumsum(lens)[:-1]])
    return {str(i): flat[s : s + n] for i, s, n in zip(ids, starts, lens, strict=True)}


def save_codes(path: str | Path, rows: dict[str, np.ndarray]) -> Path:
    """Rows by clip id → a file in the codes layout (``load_codes`` reads it), written atomically.

    Any per-clip array sequence uses it: codes, GPT latents, prosody targets.
    """
    ids = list(rows)
    with atomic_path(path, suffix=".npz") as tmp:
        np.savez(
            tmp,
            ids=np.array(ids),
            lens=np.array([len(rows[i]) for i in ids], dtype=np.int64),
            codes=np.concatenate([rows[i] for i in ids]),
        )
    return Path(path)


def split_codes(corpus: str | Path, split: str) -> dict[str, np.ndarray]:
    """The codec stage's codes of a corpus split, by clip id."""
    path = Path(corpus) / "cache" / f"codes_{split}.npz"
    if not path.is_file():
        raise DataError(f"{path}: no codes; run `voxsmith train codec` first")
    return load_codes(path)


def pad(items: list[torch.Tensor], value: float = 0) -> torch.Tensor:
    """Tensors ``(n_i, ...)`` stacked into ``(B, max n_i, ...)``, the tails filled with ``value``."""
    n = max(x.shape[0] for x in items)
    out = torch.full((len(items), n, *items[0].shape[1:]), value, dtype=items[0].dtype)
    for i, x in enumerate(items):
        out[i, : x.shape[0]] = x
    return out


def neutral_or_all(items: Iterable[tuple[dict[str, Any], T]]) -> dict[str, list[T]]:
    """Group ``(manifest row, value)`` pairs by speaker, keeping each speaker's neutral clips'
    values, or all of theirs when the speaker has no neutral clip (the speaker's baseline)."""
    every: dict[str, list[T]] = {}
    neutral: dict[str, list[T]] = {}
    for row, value in items:
        every.setdefault(row["speaker"], []).append(value)
        if row.get("style", "neutral") == "neutral":
            neutral.setdefault(row["speaker"], []).append(value)
    return {spk: neutral.get(spk) or values for spk, values in every.items()}
