"""A compact GPT training pack: what the GPT recipe reads of a corpus, without the corpus.

The GPT recipe needs each clip's phone ids, codes, speaker, style and language, the per-code
prosody targets (with ``--prosody-weight``) and, for conditioning, log-mels of *other* clips
of the same speaker (and style). The corpus behind that is audio: 340 minutes pack into
~1 GB of samples and mels, too much to carry to a lent accelerator machine. A pack keeps
every clip's ids, codes and targets (a few MB) and a bounded reference pool: up to
``refs_per_style`` clips per (speaker, style), their log-mels cut to ``max_ref_frames`` and
quantised to 8 bits (steps of 0.06 in natural-log magnitude, well under what the
conditioning encoders resolve). ``voxsmith train gpt --data PACK`` trains from it exactly as
from the corpus, except that conditioning references come from the pool.

Layout: ``PACK/pack.json`` (what it holds) and ``PACK/gpt_<split>.npz`` per split.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from voxsmith.audio import SILENCE_LOG_MEL
from voxsmith.errors import DataError
from voxsmith.fileio import atomic_path, atomic_write_text
from voxsmith.text.tokenizer import PhoneTokenizer
from voxsmith.train.gpt import GPTData

log = logging.getLogger(__name__)

PACK_FILE = "pack.json"
MEL_LO, MEL_HI = SILENCE_LOG_MEL, 4.0  # log-mel range of the 8-bit references
PACK_VERSION = 1


def is_pack(path: str | Path) -> bool:
    return (Path(path) / PACK_FILE).is_file()


def quantise_mel(mel: np.ndarray) -> np.ndarray:
    """Log-mel ``(frames, 80)`` → uint8 over [MEL_LO, MEL_HI]."""
    x = (np.asarray(mel, np.float32) - MEL_LO) / (MEL_HI - MEL_LO) * 255.0
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def dequantise_mel(q: np.ndarray) -> np.ndarray:
    return q.astype(np.float32) / 255.0 * (MEL_HI - MEL_LO) + MEL_LO


def _concat(rows: list[np.ndarray], dtype: Any) -> tuple[np.ndarray, np.ndarray]:
    lens = np.asarray([len(r) for r in rows], np.int64)
    flat = np.concatenate([np.asarray(r, dtype) for r in rows]) if rows else np.zeros(0, dtype)
    return flat, lens


def _split(flat: np.ndarray, lens: np.ndarray) -> list[np.ndarray]:
    return np.split(flat, np.cumsum(lens)[:-1]) if len(lens) else []


def pack_gpt(
    corpus: str | Path,
    out: str | Path,
    refs_per_style: int = 4,
    max_ref_frames: int = 500,
    prosody: bool = True,
    seed: int = 0,
    splits: tuple[str, ...] = ("train", "valid"),
) -> Path:
    """Write the pack of ``corpus`` (codes from its codec stage) to ``out``; returns ``out``.

    ``prosody``: include the probe's per-code targets (measured with WORLD now where the corpus
    has no ``cache/prosody_<split>.npz`` yet)."""
    if refs_per_style < 1 or max_ref_frames < 8:
        raise DataError(
            f"refs_per_style must be >= 1 and max_ref_frames >= 8 (got {refs_per_style}, {max_ref_frames})"
        )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tok = PhoneTokenizer()
    info: dict[str, Any] = {
        "version": PACK_VERSION,
        "corpus": str(corpus),
        "refs_per_style": refs_per_style,
        "max_ref_frames": max_ref_frames,
        "prosody": prosody,
        "seed": seed,
        "splits": {},
    }
    for n, split in enumerate(splits):
        data = GPTData(corpus, split, tok)
        if prosody:
            data.attach_prosody(corpus)
        rng = np.random.default_rng([seed, n])
        refs: list[int] = []
        for key in sorted(data.by_style):
            pool = data.by_style[key]
            take = rng.choice(len(pool), size=min(refs_per_style, len(pool)), replace=False)
            refs += sorted(pool[int(i)] for i in take)
        keep = data.keep
        where = {k: i for i, k in enumerate(keep)}  # corpus clip index → pack clip index
        rows = [data.data.clips[k].row for k in keep]
        text, text_lens = _concat([data.text[k] for k in keep], np.int16)
        codes, code_lens = _concat([data.codes[k] for k in keep], np.int16)
        mels = [quantise_mel(data.data.clip_mel(k).T.numpy()[:max_ref_frames]) for k in refs]
        mel, mel_lens = _concat(mels, np.uint8)
        arrays: dict[str, np.ndarray] = {
            "ids": np.asarray([r["id"] for r in rows]),
            "speaker": np.asarray([r["speaker"] for r in rows]),
            "style": np.asarray([r.get("style", "neutral") for r in rows]),
            "lang": np.asarray([r.get("lang", "") for r in rows]),
            "text": text,
            "text_lens": text_lens,
            "codes": codes,
            "code_lens": code_lens,
            "ref_clip": np.asarray([where[k] for k in refs], np.int64),
            "ref_mel": mel.reshape(-1, 80) if len(mel) else np.zeros((0, 80), np.uint8),
            "ref_lens": mel_lens,
        }
        if prosody:
            pros, pros_lens = _concat([data.prosody[r["id"]] for r in rows], np.float16)
            arrays["prosody"] = pros.reshape(-1, 2)
            arrays["prosody_lens"] = pros_lens
        with atomic_path(out / f"gpt_{split}.npz", suffix=".npz") as tmp:
            np.savez_compressed(tmp, **arrays)
        size = (out / f"gpt_{split}.npz").stat().st_size
        info["splits"][split] = {
            "clips": len(keep),
            "refs": len(refs),
            "speakers": len(data.by_speaker),
            "bytes": size,
        }
        log.info("pack %s: %d clips, %d references, %.1f MB", split, len(keep), len(refs), size / 1e6)
    atomic_write_text(out / PACK_FILE, json.dumps(info, indent=1) + "\n")
    return out


class PackedClips:
    """Stands in for :class:`voxsmith.train.data.CorpusData` over a pack's split: clip rows,
    speaker ids and the reference pool's mels (``clip_mel`` of a clip outside the pool fails)."""

    def __init__(self, pack: str | Path, split: str):
        info = json.loads((Path(pack) / PACK_FILE).read_text(encoding="utf-8"))
        if info.get("version") != PACK_VERSION:
            raise DataError(
                f"{pack}: GPT pack version {info.get('version')}, this voxsmith reads {PACK_VERSION} "
                "(pack the corpus again with `voxsmith corpus pack-gpt`)"
            )
        path = Path(pack) / f"gpt_{split}.npz"
        if not path.is_file():
            raise DataError(f"{path}: no {split} split in this GPT pack")
        with np.load(path, allow_pickle=False) as z:
            self.arrays = {k: z[k] for k in z.files}
        a = self.arrays
        self.split = split
        self.rows = [
            {"id": str(i), "speaker": str(s), "style": str(st), "lang": str(lg)}
            for i, s, st, lg in zip(a["ids"], a["speaker"], a["style"], a["lang"], strict=True)
        ]
        self.clips = [SimpleNamespace(row=r) for r in self.rows]
        self.speakers = sorted({r["speaker"] for r in self.rows})
        self.speaker_index = {s: i for i, s in enumerate(self.speakers)}
        mels = _split(a["ref_mel"], a["ref_lens"])
        self.ref_mels = dict(zip(a["ref_clip"].tolist(), mels, strict=True))

    def clip_mel(self, i: int) -> torch.Tensor:
        """(80, frames) float32 log-mel of pool clip ``i``."""
        if i not in self.ref_mels:
            raise DataError(f"clip {i} of the pack's {self.split} split has no reference mel")
        return torch.from_numpy(dequantise_mel(self.ref_mels[i])).T


class PackedGPTData(GPTData):
    """:class:`voxsmith.train.gpt.GPTData` over a pack's split: every clip trains, and
    references are drawn from the pool (same speaker, and same style for the emotion one)."""

    def __init__(self, pack: str | Path, split: str):
        clips = PackedClips(pack, split)
        a = clips.arrays
        self.data = clips  # type: ignore[assignment]
        self.codes = _split(a["codes"], a["code_lens"])
        self.text = [t.astype(np.int64).tolist() for t in _split(a["text"], a["text_lens"])]
        self.keep = [k for k in range(len(clips.rows)) if len(self.codes[k]) and self.text[k]]
        if not self.keep:
            raise DataError(f"{pack}: no {split} clips with both codes and phones")
        self.by_speaker = defaultdict(list)
        self.by_style = defaultdict(list)
        for k in sorted(clips.ref_mels):
            row = clips.rows[k]
            self.by_speaker[row["speaker"]].append(k)
            self.by_style[(row["speaker"], row["style"])].append(k)
        for k in self.keep:  # a style without pool clips falls back to its speaker's pool
            row = clips.rows[k]
            if row["speaker"] not in self.by_speaker:
                raise DataError(f"{pack}: speaker {row['speaker']} has no reference in the pack")
            if (row["speaker"], row["style"]) not in self.by_style:
                self.by_style[(row["speaker"], row["style"])] = self.by_speaker[row["speaker"]]
        self.pack = Path(pack)

    def attach_prosody(self, corpus: str | Path | None = None) -> None:
        """The pack's prosody targets (it must have been written with ``prosody=True``)."""
        a = self.data.arrays
        if "prosody" not in a:
            raise DataError(f"{self.pack}: packed without prosody targets (--prosody-weight needs them)")
        rows = _split(a["prosody"], a["prosody_lens"])
        self.prosody = {r["id"]: p.astype(np.float32) for r, p in zip(self.data.rows, rows, strict=True)}


def gpt_data(source: str | Path, split: str, tokenizer: PhoneTokenizer) -> GPTData:
    """The GPT recipe's data of ``split``: from a pack where ``source`` is one, else a corpus."""
    return PackedGPTData(source, split) if is_pack(source) else GPTData(source, split, tokenizer)
