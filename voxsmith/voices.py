"""A persistent local voice library: record a voice once, reuse it forever.

Layout (``VOXSMITH_VOICES`` or ``~/.local/share/voxsmith/voices`` by default)::

    <root>/<name>/reference.wav                 the prepared reference (22050 Hz mono, trimmed)
    <root>/<name>/voice.json                    name, source file, seconds, added date
    <root>/<name>/<model_id>.safetensors        cached SpeakerEmbedding, one per model

The reference is kept so that a voice still works with another model (its embedding is
recomputed once and cached); the cache makes repeated use free.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from voxsmith.audio import SAMPLE_RATE, AudioProcessor
from voxsmith.embeddings import SpeakerEmbedding
from voxsmith.errors import ConfigError, DataError

if TYPE_CHECKING:
    from voxsmith.pipeline import IndexTTSModel

NAME_RE = re.compile(r"^[\w][\w .\-]{0,63}$", re.UNICODE)


def default_root() -> Path:
    env = os.environ.get("VOXSMITH_VOICES")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "voxsmith" / "voices"


@dataclass
class Voice:
    name: str
    path: Path  # the voice's directory
    seconds: float
    source: str
    added: str

    @property
    def reference(self) -> Path:
        return self.path / "reference.wav"

    def to_json(self) -> dict:
        return {"name": self.name, "seconds": self.seconds, "source": self.source, "added": self.added,
                "path": str(self.path)}  # fmt: skip


class VoiceLibrary:
    """Named voices on disk; ``embedding(name, model)`` returns a cached ``SpeakerEmbedding``."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()

    def _dir(self, name: str) -> Path:
        if not NAME_RE.match(name) or name in (".", ".."):
            raise ConfigError(
                f"voice name {name!r}: use letters, digits, spaces, '.', '-' or '_' (at most 64 characters)"
            )
        return self.root / name

    def add(self, name: str, reference: str | os.PathLike, *, overwrite: bool = False) -> Voice:
        """Store a prepared copy of ``reference`` under ``name`` (an error if it exists, unless ``overwrite``)."""
        target = self._dir(name)
        if target.exists() and not overwrite:
            raise ConfigError(f"voice {name!r} already exists in {self.root}; remove it first or overwrite")
        audio = AudioProcessor.prepare_reference(
            AudioProcessor.load(reference), SAMPLE_RATE, name=str(reference)
        )
        self.root.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=self.root))
        try:
            AudioProcessor.save(audio, staging / "reference.wav")
            meta = {"name": name, "seconds": round(audio.seconds, 3), "source": str(Path(reference).resolve()),
                    "added": time.strftime("%Y-%m-%dT%H:%M:%S")}  # fmt: skip
            (staging / "voice.json").write_text(
                json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8"
            )
            if target.exists():
                shutil.rmtree(target)
            os.replace(staging, target)  # the voice appears complete or not at all
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
        return self.get(name)

    def get(self, name: str) -> Voice:
        d = self._dir(name)
        meta_path = d / "voice.json"
        if not meta_path.is_file():
            known = ", ".join(v.name for v in self.list()) or "none"
            raise DataError(f"no voice named {name!r} in {self.root} (voices: {known})")
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return Voice(
            name, d, float(meta.get("seconds", 0.0)), str(meta.get("source", "")), str(meta.get("added", ""))
        )

    def list(self) -> list[Voice]:
        if not self.root.is_dir():
            return []
        return [self.get(p.name) for p in sorted(self.root.iterdir()) if (p / "voice.json").is_file()]

    def remove(self, name: str) -> None:
        voice = self.get(name)
        shutil.rmtree(voice.path)

    def embedding(self, name: str, model: IndexTTSModel) -> SpeakerEmbedding:
        """The voice's embedding for ``model``: from the cache, or extracted once and cached."""
        voice = self.get(name)
        cache = voice.path / f"{model.model_id}.safetensors"
        if cache.is_file():
            return SpeakerEmbedding.load(cache)
        emb = model.speaker_encoder(voice.reference)
        emb.meta["voice"] = name
        emb.save(cache)
        return emb
