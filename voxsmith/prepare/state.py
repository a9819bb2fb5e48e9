"""Resume state of a dataset folder: which sources are finished, with what settings.

``DATASET/sources.jsonl`` gets one line per finished source (written whole, with an fsync):
the source's fingerprint (path, size, mtime), the hash of its transcript, the settings key and
its ``SourceResult``. A rerun skips a source whose line matches all of them; a killed run loses
only the sources in flight (their half-written wavs are overwritten or removed later). The file
is compacted (rewritten atomically) when a run finishes. ``DATASET/prepare.lock`` keeps a
second ``prepare`` off the same folder.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from voxsmith.fileio import append_line, atomic_write_lines
from voxsmith.prepare.process import SourceResult
from voxsmith.prepare.sources import SourceFile

log = logging.getLogger(__name__)

STATE = "sources.jsonl"
LOCK = "prepare.lock"


@dataclass
class Record:
    """One finished source."""

    fingerprint: dict
    text_sha: str | None
    settings: str
    result: SourceResult

    def matches(self, src: SourceFile, text_sha: str | None, settings: str) -> bool:
        return self.fingerprint == src.fingerprint and self.text_sha == text_sha and self.settings == settings

    def to_dict(self) -> dict:
        return {
            "fingerprint": self.fingerprint,
            "text_sha": self.text_sha,
            "settings": self.settings,
            "result": self.result.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        return cls(
            d["fingerprint"], d.get("text_sha"), str(d["settings"]), SourceResult.from_dict(d["result"])
        )


class SourceStore:
    """The finished sources of a dataset folder (latest record per source path)."""

    def __init__(self, out: Path) -> None:
        self.path = Path(out) / STATE
        self.records: dict[str, Record] = {}
        if self.path.is_file():
            for n, line in enumerate(self.path.read_text(encoding="utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    rec = Record.from_dict(json.loads(line))
                except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                    # a line torn by a kill: that source is simply redone
                    log.warning("%s:%d: unreadable state line skipped (%s)", self.path, n, exc)
                    continue
                self.records[rec.result.rel] = rec

    def done(self, src: SourceFile, text_sha: str | None, settings: str) -> Record | None:
        """The record of ``src`` if it is finished with this transcript and these settings."""
        rec = self.records.get(src.rel)
        return rec if rec is not None and rec.matches(src, text_sha, settings) else None

    def append(self, rec: Record) -> None:
        """Record a finished source (one whole line, flushed to disk)."""
        self.records[rec.result.rel] = rec
        append_line(self.path, json.dumps(rec.to_dict(), ensure_ascii=False))

    def compact(self, keep: list[str]) -> None:
        """Rewrite the file atomically with the records of ``keep`` (source paths) only."""
        recs = [self.records[k] for k in keep if k in self.records]
        self.records = {r.result.rel: r for r in recs}
        atomic_write_lines(self.path, [json.dumps(r.to_dict(), ensure_ascii=False) for r in recs])
