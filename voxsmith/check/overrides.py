"""Force readings into a text with the frontend's pinyin annotation ``‹字|pin1›``.

The checker names syllables by their index in the frontend's syllable list, which is built
from the *normalised* text. ``force_readings`` finds each syllable's character in the text
the user wrote (through the normalised text, matched back to the input with difflib) and
wraps it in an annotation. A syllable that cannot be forced this way (the user already
fixed it, it was produced by normalisation such as a number, or it is bare pinyin) is
returned as not forced, so the caller can resample instead.

Annotating one character can change how the frontend reads its neighbours: ``‹空|kong1›调``
is no longer the word 空调, so 调 falls back to diao4. ``keep`` names the reading every
syllable must keep; a neighbour that drifts is pinned too, so the text still means what
the user wrote.
"""

from __future__ import annotations

import difflib
import re

from voxsmith.text.chars import is_cjk
from voxsmith.text.frontend import TextFrontend

_ANNOTATION = re.compile(r"‹[^‹›]*›")


def _display_positions(normalized: str, syllable_texts: list[str]) -> list[int | None]:
    """Position in the normalised text of each syllable (None when it cannot be found in order)."""
    out: list[int | None] = []
    cursor = 0
    for text in syllable_texts:
        pos = normalized.find(text, cursor)
        if pos < 0:
            out.append(None)
            continue
        out.append(pos)
        cursor = pos + len(text)
    return out


def _to_input_positions(text: str, normalized: str) -> dict[int, int]:
    """normalised position -> input position, for characters the two texts share unchanged."""
    mapping: dict[int, int] = {}
    sm = difflib.SequenceMatcher(None, text, normalized, autojunk=False)
    for tag, i1, _i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for d in range(j2 - j1):
                mapping[j1 + d] = i1 + d
    return mapping


def force_readings(
    text: str,
    readings: dict[int, str],
    frontend: TextFrontend | None = None,
    keep: list[str] | None = None,
) -> tuple[str, list[int]]:
    """``text`` with syllable ``k`` annotated as ``‹字|readings[k]›``; also the indices not forced.

    With ``keep`` (one reading per syllable of ``text``), any other syllable whose reading
    the annotations change is annotated with its ``keep`` reading as well.
    """
    frontend = frontend or TextFrontend()
    where = _sources(text, frontend)
    out, not_forced = _annotate(text, where, readings)
    if keep is None:
        return out, not_forced
    wanted = dict(readings)
    for _ in range(4):  # each round pins the neighbours the previous round moved
        now = [s.pinyin for s in frontend.process(out).syllables]
        if len(now) != len(keep):
            break
        drift = {k: keep[k] for k, p in enumerate(now) if p != keep[k] and k not in wanted}
        if not drift:
            break
        wanted.update(drift)
        out, not_forced_all = _annotate(text, where, wanted)
        not_forced = [k for k in not_forced_all if k in readings]
    return out, not_forced


def _sources(text: str, frontend: TextFrontend) -> list[int | None]:
    """Position in ``text`` of each syllable's character, None where it cannot be annotated
    (not one CJK character of the input, or inside an annotation already)."""
    result = frontend.process(text)
    syllables = result.syllables
    positions = _display_positions(result.normalized, [s.text for s in syllables])
    to_input = _to_input_positions(text, result.normalized)
    locked = [False] * len(text)
    for m in _ANNOTATION.finditer(text):
        locked[m.start() : m.end()] = [True] * (m.end() - m.start())
    out: list[int | None] = []
    for syl, pos in zip(syllables, positions, strict=True):
        src = to_input.get(pos) if pos is not None else None
        char = syl.text
        ok = src is not None and len(char) == 1 and is_cjk(char) and text[src] == char and not locked[src]
        out.append(src if ok else None)
    return out


def _annotate(text: str, where: list[int | None], readings: dict[int, str]) -> tuple[str, list[int]]:
    edits: dict[int, str] = {}
    not_forced: list[int] = []
    for k, reading in sorted(readings.items()):
        src = where[k] if 0 <= k < len(where) else None
        if src is None:
            not_forced.append(k)
            continue
        edits[src] = f"‹{text[src]}|{reading}›"
    out = text
    for src in sorted(edits, reverse=True):
        out = out[:src] + edits[src] + out[src + 1 :]
    return out, not_forced
