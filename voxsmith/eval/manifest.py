"""The evaluation manifest (``voxsmith eval run --manifest M``) and the speaker pool.

Manifest: JSON Lines, one clip to judge per line. Relative paths are relative to the
manifest's folder. Fields:

    path                required  the generated (or real) clip to judge
    id                  optional  item name (default: ``line<N>``)
    text, lang          optional  the intended text and its language, zh or en: CER/WER and
                                  speaking rate; without ``lang``: zh if the text has Hanzi,
                                  else en (ASR detection when there is no text either);
                                  without ``text`` only the transcript is reported
    ref_path            optional  audio of the intended speaker (e.g. the cloning prompt)
    speaker             optional  the intended speaker's name; with ``--pool`` its real clips
                                  (their centroid, leaving this clip out) are the reference
                                  when ``ref_path`` is absent
    other_speaker_refs  optional  more impostor speakers for "SIM to nearest other speaker":
                                  a list of paths (one speaker each) or {name: path | [paths]}
    style               optional  emotion/style name; "neutral" (or none) marks baselines
    style_strength      optional  number
    baseline_path       optional  the same sentence and speaker said neutrally: prosody deltas
                                  against it (otherwise against the mean of the manifest's
                                  neutral items of the same speaker and language)
    anything else       kept      (engine, split, ...) and usable with ``--group-by``

Every speaker seen in the manifest (by ``speaker``, else by ``ref_path``) and in the pool
is an impostor for the items of the other speakers.

Pool (``--pool P``): JSON Lines with at least ``path`` and ``speaker`` per line, e.g. a
corpus manifest; at most ``pool_clips`` clips per speaker are used, neutral ones first.
Passing the evaluated manifest itself as the pool measures a real corpus.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from voxsmith.errors import DataError
from voxsmith.eval.scoring import LANGS

KNOWN_FIELDS = {
    "id",
    "path",
    "text",
    "lang",
    "speaker",
    "ref_path",
    "other_speaker_refs",
    "style",
    "style_strength",
    "baseline_path",
}
NEUTRAL = "neutral"


@dataclass
class EvalItem:
    """One manifest line, with paths resolved."""

    id: str
    path: Path
    text: str | None = None
    lang: str | None = None
    speaker: str | None = None
    ref_path: Path | None = None
    other_refs: dict[str, list[Path]] = field(default_factory=dict)  # impostor name -> clips
    style: str | None = None
    style_strength: float | None = None
    baseline_path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)  # the other fields, as given

    @property
    def speaker_key(self) -> str | None:
        """Who the clip should sound like: the speaker name, else the reference file."""
        return self.speaker or (str(self.ref_path) if self.ref_path else None)

    @property
    def is_neutral(self) -> bool:
        return self.style in (None, "", NEUTRAL)


def _read_jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    if not path.is_file():
        raise DataError(f"{path}: manifest not found")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}:{n}: not valid JSON ({exc.msg})") from exc
        if not isinstance(row, dict):
            raise DataError(f"{path}:{n}: expected a JSON object, got {type(row).__name__}")
        rows.append((n, row))
    if not rows:
        raise DataError(f"{path}: manifest has no items")
    return rows


def _path(row: dict[str, Any], key: str, base: Path, where: str) -> Path | None:
    value = row.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise DataError(f"{where}: '{key}' must be a non-empty path string, got {value!r}")
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def _other_refs(value: Any, base: Path, where: str) -> dict[str, list[Path]]:
    if value is None:
        return {}
    if isinstance(value, list):
        value = {str(v): v for v in value}
    if not isinstance(value, dict):
        raise DataError(f"{where}: 'other_speaker_refs' must be a list of paths or an object name -> paths")
    out = {}
    for name, paths in value.items():
        paths = [paths] if isinstance(paths, str) else paths
        if not isinstance(paths, list) or not all(isinstance(p, str) and p for p in paths) or not paths:
            raise DataError(f"{where}: other_speaker_refs[{name!r}] must be a path or a list of paths")
        out[str(name)] = [Path(p) if Path(p).is_absolute() else base / p for p in paths]
    return out


def _optional_str(row: dict[str, Any], key: str, where: str) -> str | None:
    value = row.get(key)
    if value is not None and not isinstance(value, str):
        raise DataError(f"{where}: '{key}' must be a string, got {value!r}")
    return value


def load_manifest(path: str | Path) -> list[EvalItem]:
    """Parse and check a manifest; raises ``DataError`` with file:line for a bad line."""
    path = Path(path)
    base = path.parent
    items, seen = [], set()
    for n, row in _read_jsonl(path):
        where = f"{path}:{n}"
        clip = _path(row, "path", base, where)
        if clip is None:
            raise DataError(f"{where}: missing required field 'path'")
        lang = _optional_str(row, "lang", where)
        if lang is not None and lang not in LANGS:
            raise DataError(f"{where}: lang {lang!r} is not one of {', '.join(LANGS)}")
        strength = row.get("style_strength")
        if strength is not None and not isinstance(strength, int | float):
            raise DataError(f"{where}: 'style_strength' must be a number, got {strength!r}")
        item_id = str(row.get("id") or f"line{n}")
        if item_id in seen:
            raise DataError(f"{where}: duplicate id {item_id!r}")
        seen.add(item_id)
        items.append(
            EvalItem(
                id=item_id,
                path=clip,
                text=_optional_str(row, "text", where),
                lang=lang,
                speaker=_optional_str(row, "speaker", where),
                ref_path=_path(row, "ref_path", base, where),
                other_refs=_other_refs(row.get("other_speaker_refs"), base, where),
                style=_optional_str(row, "style", where),
                style_strength=None if strength is None else float(strength),
                baseline_path=_path(row, "baseline_path", base, where),
                meta={k: v for k, v in row.items() if k not in KNOWN_FIELDS},
            )
        )
    return items


def load_pool(path: str | Path, pool_clips: int = 8) -> dict[str, list[Path]]:
    """Speaker -> up to ``pool_clips`` real clips (neutral-style ones first, file order)."""
    path = Path(path)
    neutral: dict[str, list[Path]] = {}
    styled: dict[str, list[Path]] = {}
    for n, row in _read_jsonl(path):
        where = f"{path}:{n}"
        speaker, clip = row.get("speaker"), _path(row, "path", path.parent, where)
        if not isinstance(speaker, str) or not speaker or clip is None:
            raise DataError(f"{where}: a pool line needs 'path' and 'speaker'")
        bucket = neutral if row.get("style") in (None, "", NEUTRAL) else styled
        bucket.setdefault(speaker, []).append(clip)
    return {
        spk: (neutral.get(spk, []) + styled.get(spk, []))[:pool_clips]
        for spk in sorted(set(neutral) | set(styled))
    }
