"""ttskit 0.3.8 as a voxsmith engine: 24 Mandarin Mellotron speakers with a MelGAN vocoder.

ttskit ships its multi-speaker ("mspk") Mellotron and MelGAN weights inside the wheel; only
its cloning mode ("rtvc") downloads weights, and voxsmith never uses that mode. The speaker
is chosen by name (ttskit hashes the name into its speaker vector), so only the 24 names it
was trained on are real voices.

ttskit predates current torch and librosa, so loading it needs three shims, applied only
while ttskit is imported and its models are loaded, then removed again:

- ``torch.load`` with ``weights_only=False`` (its checkpoints are pickled modules);
- keyword wrappers for ``librosa.util.pad_center`` and ``librosa.filters.mel``, which
  ttskit calls positionally (librosa 0.10 made those arguments keyword-only).

Install: ``pip install --no-deps ttskit==0.3.8`` plus aukit phkit pydub dotmap inflect
unidecode setproctitle, and apt ``libportaudio2``.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from typing import Any

import numpy as np

from voxsmith.audio import Audio, AudioProcessor
from voxsmith.data.engines import Engine, Voice, decode_wav_bytes
from voxsmith.errors import EngineError

log = logging.getLogger(__name__)

# The 24 speaker names ttskit's mspk model was trained on, in its own order.
TTSKIT_SPEAKERS = (
    "Aibao", "Aicheng", "Aida", "Aijia", "Aijing", "Aimei", "Aina", "Aiqi", "Aitong", "Aiwei",
    "Aixia", "Aiya", "Aiyu", "Aiyue", "Siyue", "Xiaobei", "Xiaogang", "Xiaomei", "Xiaomeng",
    "Xiaowei", "Xiaoxue", "Xiaoyun", "Yina", "biaobei",
)  # fmt: skip

MAX_CLAUSE_CHARS = 30  # ttskit's own split length; longer inputs lose attention
PAUSE_S = {",": 0.15, ".": 0.3}  # silence inserted between clauses
MAX_S_PER_CHAR = 0.6  # a clause longer than this per character is a failed attention: retry
RETRIES = 3  # seeds tried for one clause before giving up

_CLAUSE_RE = re.compile(r"[^，。！？；：、,.!?;:…]+[，。！？；：、,.!?;:…]*")
_ENDS = set("。！？；!?;…")


@contextlib.contextmanager
def _ttskit_shims() -> Iterator[None]:
    """Patch torch.load and two librosa functions while ttskit loads; restore afterwards."""
    import librosa.filters
    import librosa.util
    import torch

    orig_load, orig_pad, orig_mel = torch.load, librosa.util.pad_center, librosa.filters.mel

    def load(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("weights_only", False)  # pickled nn.Modules from 2021
        return orig_load(*args, **kwargs)

    def pad_center(data: Any, size: int | None = None, *args: Any, **kwargs: Any) -> Any:
        if args:
            kwargs.setdefault("axis", args[0])
        return orig_pad(data, size=size, **kwargs)

    def mel(
        sr: float, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None, **kw: Any
    ):
        return orig_mel(sr=sr, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, **kw)

    torch.load, librosa.util.pad_center, librosa.filters.mel = load, pad_center, mel
    try:
        yield
    finally:
        torch.load, librosa.util.pad_center, librosa.filters.mel = orig_load, orig_pad, orig_mel


def split_clauses(text: str) -> list[tuple[str, str]]:
    """``(clause, pause_kind)`` pieces of at most ``MAX_CLAUSE_CHARS`` characters."""
    out: list[tuple[str, str]] = []
    for m in _CLAUSE_RE.finditer(text):
        piece = m.group(0).strip()
        if not re.search(r"\w", piece):
            continue
        kind = "." if piece[-1] in _ENDS else ","
        while len(piece) > MAX_CLAUSE_CHARS:
            out.append((piece[:MAX_CLAUSE_CHARS], ","))
            piece = piece[MAX_CLAUSE_CHARS:]
        if re.search(r"\w", piece):
            out.append((piece, kind))
    return out


class TtskitEngine(Engine):
    """The 24 Mandarin speakers of ttskit's multi-speaker Mellotron (22050 Hz)."""

    name = "ttskit"
    install = (
        "pip install --no-deps ttskit==0.3.8 aukit phkit && "
        "pip install pydub dotmap inflect unidecode setproctitle && apt-get install libportaudio2"
    )
    langs = ("zh",)

    def __init__(self) -> None:
        self._sdk: Any = None

    def available(self) -> bool:
        import importlib.util

        return all(importlib.util.find_spec(m) is not None for m in ("ttskit", "aukit", "phkit", "pydub"))

    def voices(self) -> list[Voice]:
        return [Voice("ttskit", n, ("zh",), "?") for n in TTSKIT_SPEAKERS]

    def _load(self) -> Any:
        if self._sdk is not None:
            return self._sdk
        root = logging.getLogger()
        level, handlers = root.level, list(root.handlers)
        try:
            with _ttskit_shims(), open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
                from ttskit import sdk_api

                # The first call loads mspk Mellotron + MelGAN from the wheel (no download:
                # the files are present with the sizes ttskit checks).
                sdk_api.tts_sdk_base("你好。", speaker=TTSKIT_SPEAKERS[0], audio="1")
        except Exception as exc:
            raise EngineError(
                f"ttskit failed to load ({exc.__class__.__name__}: {exc}); {self.install}"
            ) from exc
        finally:
            # ttskit calls logging.basicConfig(level=INFO) at import; undo it.
            root.setLevel(level)
            for h in list(root.handlers):
                if h not in handlers:
                    root.removeHandler(h)
        self._sdk = sdk_api
        return sdk_api

    def _clause(self, clause: str, voice: Voice) -> np.ndarray:
        import torch

        sdk = self._load()
        digest = hashlib.sha1(f"{voice.name}|{clause}".encode()).digest()
        for attempt in range(RETRIES):
            # Mellotron keeps prenet dropout on at inference: seed it for repeatable output.
            torch.manual_seed(int.from_bytes(digest[:4], "little") + attempt)
            wav = sdk.tts_sdk_base(clause, speaker=voice.name, audio="1")
            audio = decode_wav_bytes(wav)
            n_chars = max(1, len(re.findall(r"\w", clause)))
            if 0.05 * n_chars < audio.seconds <= MAX_S_PER_CHAR * n_chars + 0.8:
                return AudioProcessor.trim_silence(audio.samples, audio.sample_rate, pad_ms=30.0)
            log.debug("ttskit %s: %.2f s for %d chars, retrying", voice.name, audio.seconds, n_chars)
        raise EngineError(f"ttskit {voice.name}: attention failed {RETRIES} times on {clause!r}")

    def _synthesize(self, text: str, voice: Voice, lang: str) -> Audio:
        sr = 22050
        pieces: list[np.ndarray] = []
        clauses = split_clauses(text)
        if not clauses:
            raise EngineError(f"ttskit: no readable characters in {text[:40]!r}")
        for i, (clause, kind) in enumerate(clauses):
            pieces.append(self._clause(clause, voice))
            if i + 1 < len(clauses):
                pieces.append(np.zeros(int(PAUSE_S[kind] * sr), dtype=np.float32))
        return Audio(np.concatenate(pieces).astype(np.float32), sr)
