"""The labelled TSV files that train (``train.tsv``) and evaluate (``heldout.tsv``) T2E.

One example a line: ``text<TAB>label<TAB>lang<TAB>kind``; ``#`` starts a comment line.
``label`` is one of ``EMOTIONS``; ``lang`` is ``zh`` or ``en``; ``kind`` is ``instruction``
("用悲伤的语气说") or ``content`` ("我中奖了！").
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from voxsmith.embeddings import EMOTIONS
from voxsmith.errors import DataError

DATA_DIR = Path(__file__).resolve().parent / "data"
TRAIN_TSV = DATA_DIR / "train.tsv"
HELDOUT_TSV = DATA_DIR / "heldout.tsv"
HEAD_FILE = DATA_DIR / "head.safetensors"
LANGS = ("zh", "en")
KINDS = ("instruction", "content")


@dataclass(frozen=True)
class Example:
    text: str
    label: str
    lang: str
    kind: str

    @property
    def label_index(self) -> int:
        return EMOTIONS.index(self.label)


def load_examples(path: str | os.PathLike) -> list[Example]:
    """All examples of a TSV file; ``DataError`` naming the line of any malformed one."""
    p = Path(path)
    if not p.is_file():
        raise DataError(f"{p}: emotion data file not found")
    out: list[Example] = []
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 4:
            raise DataError(
                f"{p}:{n}: expected 4 tab-separated columns (text, label, lang, kind), got {len(cols)}"
            )
        text, label, lang, kind = (c.strip() for c in cols)
        if label not in EMOTIONS or lang not in LANGS or kind not in KINDS or not text:
            raise DataError(
                f"{p}:{n}: bad example {cols!r} (label in {EMOTIONS}, lang in {LANGS}, kind in {KINDS})"
            )
        out.append(Example(text, label, lang, kind))
    if not out:
        raise DataError(f"{p}: no examples")
    return out


def file_sha256(path: str | os.PathLike) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
