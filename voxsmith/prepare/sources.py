"""The audio files of a RAW folder: found recursively, identified stably across runs.

A ``SourceFile`` carries what a rerun needs to decide whether the file is already done
(its path relative to RAW, size and modification time) and the prefix of its clip ids.
Hidden files and folders (``.name``) are skipped, so editor and OS droppings are ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from voxsmith.errors import DataError

AUDIO_EXTENSIONS = (".wav", ".flac", ".mp3", ".ogg")  # what soundfile decodes (libsndfile >= 1.1)


@dataclass(frozen=True)
class SourceFile:
    """One input recording under RAW."""

    rel: str  # path relative to RAW, with forward slashes (the key of resume state)
    size: int  # bytes
    mtime_ns: int  # modification time
    seconds: float  # duration from the file header; 0.0 when the header is unreadable

    def path(self, raw: Path) -> Path:
        return raw / self.rel

    @property
    def fingerprint(self) -> dict:
        """What must be unchanged for a finished file to be skipped on a rerun."""
        return {"rel": self.rel, "size": self.size, "mtime_ns": self.mtime_ns}

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> SourceFile:
        return cls(str(d["rel"]), int(d["size"]), int(d["mtime_ns"]), float(d["seconds"]))


def slug(text: str, limit: int = 24) -> str:
    """A file-name-safe token (letters, digits, ``-``; other runs become ``-``), at most ``limit``."""
    out = re.sub(r"[^0-9A-Za-z]+", "-", text).strip("-")
    return out[:limit].strip("-") or "x"


def clip_prefix(speaker: str, rel: str) -> str:
    """Clip ids of a source: ``<speaker>_<stem>_<hash of the relative path>``.

    The hash keeps ids unique when two folders hold files of the same name.
    """
    digest = hashlib.sha1(rel.encode("utf-8")).hexdigest()[:6]
    return f"{slug(speaker)}_{slug(Path(rel).stem)}_{digest}"


def header_seconds(path: Path) -> float:
    """Duration from the file header without decoding (0.0 if the header cannot be read)."""
    import soundfile as sf

    try:
        info = sf.info(str(path))
        return info.frames / float(info.samplerate) if info.samplerate > 0 else 0.0
    except Exception:  # a corrupt file: the decoder reports it properly later
        return 0.0


def find_sources(raw: Path) -> list[SourceFile]:
    """Every audio file under ``raw`` (recursively), sorted by relative path.

    Raises ``DataError`` when ``raw`` is not a folder or holds no audio file.
    """
    raw = Path(raw)
    if not raw.is_dir():
        raise DataError(f"{raw}: not a folder (expected a folder of recordings)")
    found = []
    for path in sorted(raw.rglob("*")):
        rel = path.relative_to(raw)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in AUDIO_EXTENSIONS and path.is_file():
            st = path.stat()
            found.append(SourceFile(rel.as_posix(), st.st_size, st.st_mtime_ns, header_seconds(path)))
    if not found:
        raise DataError(f"{raw}: no audio files found (looked recursively for {', '.join(AUDIO_EXTENSIONS)})")
    return found
