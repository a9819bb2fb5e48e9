"""Where the text of a recording comes from: a file next to it, a CSV, or else the ASR judge.

Looked up in this order for ``RAW/dir/take1.wav``:

1. ``RAW/dir/take1.txt`` or ``RAW/dir/take1.lab`` (UTF-8, the whole text of the recording;
   line breaks count as spaces);
2. a row of the transcripts CSV (default ``RAW/transcripts.csv``, or ``--transcripts FILE``)::

       file,text
       dir/take1.wav,"Hello there, this is the first take."
       dir/take2,第二条录音的文本。

   The header row ``file,text`` is required; ``file`` is relative to the CSV's folder, the
   extension may be left out; text with commas must be quoted (standard CSV);
3. nothing: each clip is transcribed by the ASR judge.

An empty or undecodable transcript file counts as absent (logged), so the ASR fills in.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path

from voxsmith.errors import DataError

log = logging.getLogger(__name__)

SIDECAR_EXTENSIONS = (".txt", ".lab")
DEFAULT_CSV = "transcripts.csv"


@dataclass(frozen=True)
class GivenText:
    """A transcript supplied by the user, and where it was found."""

    text: str
    origin: str  # "file" (sidecar .txt/.lab) or "csv"


def clean_text(text: str) -> str:
    """One line: whitespace runs (line breaks included) become single spaces."""
    return " ".join(text.split())


def _read_sidecar(path: Path) -> str | None:
    try:
        text = clean_text(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError) as exc:
        log.warning("%s: transcript unreadable (%s); the ASR judge will transcribe instead", path, exc)
        return None
    if not text:
        log.warning("%s: transcript is empty; the ASR judge will transcribe instead", path)
        return None
    return text


def read_csv(path: Path) -> dict[str, str]:
    """``{relative path without extension: text}`` from a ``file,text`` CSV.

    Raises ``DataError`` naming the file and line for a missing header or a malformed row.
    """
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: transcripts CSV is unreadable ({exc})") from exc
    rows = list(csv.reader(lines))
    if not rows or [c.strip().lower() for c in rows[0][:2]] != ["file", "text"]:
        raise DataError(f"{path}: the first line must be the header 'file,text'")
    out: dict[str, str] = {}
    for n, row in enumerate(rows[1:], 2):
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != 2:
            raise DataError(
                f"{path} line {n}: expected 2 columns (file,text), got {len(row)}; quote text that has commas"
            )
        name, text = row[0].strip().replace("\\", "/"), clean_text(row[1])
        if not name:
            raise DataError(f"{path} line {n}: empty file name")
        if text:
            out[_key(name)] = text
    return out


def _key(rel: str) -> str:
    p = Path(rel)
    return (p.with_suffix("") if p.suffix.lower() in (".wav", ".flac", ".mp3", ".ogg") else p).as_posix()


@dataclass
class TranscriptIndex:
    """Transcripts of the recordings under ``raw`` (sidecar files first, then the CSV)."""

    raw: Path
    csv_rows: dict[str, str] = field(default_factory=dict)  # key (relative to raw, no extension) -> text

    @classmethod
    def build(cls, raw: Path, csv_path: Path | None = None) -> TranscriptIndex:
        """Index ``raw``; ``csv_path`` None = ``raw/transcripts.csv`` when it exists.

        Raises ``DataError`` for an explicit CSV that is missing or malformed.
        """
        raw = Path(raw)
        explicit = csv_path is not None
        path = Path(csv_path) if explicit else raw / DEFAULT_CSV
        if not path.is_file():
            if explicit:
                raise DataError(f"{path}: transcripts CSV not found")
            return cls(raw)
        rows = read_csv(path)
        base = path.parent.resolve()
        rel_rows = {}
        for k, text in rows.items():
            try:  # CSV names are relative to the CSV's folder; the index is relative to raw
                rel_rows[(base / k).resolve().relative_to(raw.resolve()).as_posix()] = text
            except ValueError:
                log.warning("%s: %s is outside %s; ignored", path, k, raw)
        return cls(raw, rel_rows)

    def lookup(self, rel: str) -> GivenText | None:
        """The user's transcript of the recording ``rel`` (relative to raw), if any."""
        audio = self.raw / rel
        for ext in SIDECAR_EXTENSIONS:
            side = audio.with_suffix(ext)
            if side.is_file():
                text = _read_sidecar(side)
                if text:
                    return GivenText(text, "file")
        text = self.csv_rows.get(_key(rel))
        return GivenText(text, "csv") if text else None
