"""User glossary: fixed readings for terms, applied before normalisation and G2P.

Two file formats (chosen by extension):

* ``.tsv`` / ``.txt``: one ``term<TAB>reading`` per line, ``#`` starts a comment line::

      重庆	chong2 qing4        # a Chinese term -> toned pinyin, one syllable per character
      C++	C plus plus         # any term -> the words to say instead
      宜家	yi2 jia1

* ``.yaml`` / ``.yml`` (the official IndexTTS glossary format, plus a ``pinyin`` key)::

      M.2: {zh: M 二, en: M dot two}   # spoken form per text language
      NVMe: N V M E                   # same spoken form in both languages
      重庆: {pinyin: chong2 qing4}

A reading made only of valid toned syllables is pinyin; anything else is a spoken form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from voxsmith.errors import TextError
from voxsmith.text.chars import is_cjk
from voxsmith.text.pinyin import is_valid_toned, parse_toned


@dataclass(frozen=True)
class GlossaryEntry:
    """One term: either fixed pinyin (one syllable per character) or spoken forms per language."""

    term: str
    pinyin: tuple[str, ...] = ()  # canonical toned syllables; empty for a spoken-form entry
    spoken: dict[str, str] = field(default_factory=dict)  # {"zh": ..., "en": ...} or {"*": ...}

    def spoken_for(self, lang: str) -> str | None:
        return self.spoken.get(lang, self.spoken.get("*"))


def _is_pinyin_reading(reading: str) -> bool:
    parts = reading.split()
    return bool(parts) and all(is_valid_toned(p) for p in parts)


def make_entry(term: str, reading: str | dict, where: str = "") -> GlossaryEntry:
    """Build an entry from a term and its reading (string, or a dict with zh/en/pinyin keys)."""
    term = term.strip()
    if not term:
        raise TextError(f"glossary{where}: empty term")
    if isinstance(reading, dict):
        unknown = set(reading) - {"zh", "en", "pinyin"}
        if unknown:
            raise TextError(f"glossary{where}: term {term!r} has unknown keys {sorted(unknown)}")
        if "pinyin" in reading:
            return make_entry(term, str(reading["pinyin"]), where)
        return GlossaryEntry(term, spoken={k: str(v) for k, v in reading.items()})
    reading = str(reading).strip()
    if not reading:
        raise TextError(f"glossary{where}: term {term!r} has an empty reading")
    if not _is_pinyin_reading(reading):
        return GlossaryEntry(term, spoken={"*": reading})
    syllables = tuple(parse_toned(p) for p in reading.split())
    n_cjk = sum(is_cjk(c) for c in term)
    if n_cjk and (n_cjk != len(term) or n_cjk != len(syllables)):
        raise TextError(
            f"glossary{where}: term {term!r} has {n_cjk} Chinese characters but {len(syllables)} "
            "syllables; give one toned syllable per character"
        )
    return GlossaryEntry(term, pinyin=syllables)


@dataclass
class Glossary:
    """Terms with fixed readings; longer terms win over shorter ones that overlap them."""

    entries: list[GlossaryEntry] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | Path) -> Glossary:
        """Read a ``.tsv``/``.txt`` or ``.yaml``/``.yml`` glossary file (format in the module doc)."""
        path = Path(path)
        if not path.is_file():
            raise TextError(f"glossary file not found: {path}")
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise TextError(f"glossary file {path} is unreadable: {exc}") from exc
        if path.suffix.lower() in (".yaml", ".yml"):
            return cls._from_yaml(text, path)
        entries = []
        for n, line in enumerate(text.splitlines(), 1):
            line = re.sub(r"\s+#.*$", "", line).strip() if not line.lstrip().startswith("#") else ""
            if not line:
                continue
            if "\t" not in line:
                raise TextError(f"glossary {path} line {n}: expected 'term<TAB>reading', got {line!r}")
            term, reading = line.split("\t", 1)
            entries.append(make_entry(term, reading, f" {path} line {n}"))
        return cls(entries)

    @classmethod
    def _from_yaml(cls, text: str, path: Path) -> Glossary:
        import yaml

        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise TextError(f"glossary {path} is not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise TextError(f"glossary {path}: expected a mapping of term -> reading")
        return cls([make_entry(str(k), v, f" {path}") for k, v in data.items()])

    @classmethod
    def from_dict(cls, mapping: dict[str, str | dict]) -> Glossary:
        return cls([make_entry(k, v) for k, v in mapping.items()])

    def pattern(self) -> re.Pattern[str] | None:
        """One regex matching any term (longest first; Latin terms only at word boundaries)."""
        if not self.entries:
            return None
        parts = []
        for e in sorted(self.entries, key=lambda e: len(e.term), reverse=True):
            p = re.escape(e.term)
            if e.term[0].isascii() and e.term[0].isalnum():
                p = r"(?<![A-Za-z0-9])" + p
            if e.term[-1].isascii() and e.term[-1].isalnum():
                p += r"(?![A-Za-z0-9])"
            parts.append(p)
        return re.compile("|".join(parts), re.IGNORECASE)

    def lookup(self, matched: str) -> GlossaryEntry:
        low = matched.lower()
        return next(e for e in self.entries if e.term.lower() == low)
