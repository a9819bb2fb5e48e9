"""Splitting long text into segments under a token budget.

Cut points have levels: 1 sentence ends, 2 clause punctuation (commas), 3 word boundaries,
4 between any two units. A span over budget is cut at level-1 points and the pieces packed
greedily; a piece still over budget is cut at the next level, and so on. Level-3 points never
fall inside a word or an expanded number; level 4 is the last resort for a single word or
number longer than the budget.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

SENTENCE, CLAUSE, WORD, ANY = 1, 2, 3, 4


@dataclass(frozen=True)
class Cut:
    """A position where a new segment may start, and how good a place it is (lower = better)."""

    pos: int
    level: int


def split_spans(
    start: int,
    end: int,
    cuts: Sequence[Cut],
    measure: Callable[[int, int], int],
    max_tokens: int,
) -> list[tuple[int, int]]:
    """Split ``[start, end)`` into consecutive spans with ``measure(span) <= max_tokens``.

    ``measure(a, b)`` is the token count of the text between ``a`` and ``b``. A span that cannot
    be brought under budget (one unit longer than the budget) is kept whole, with a warning.
    """
    if max_tokens < 1:
        from voxsmith.errors import ConfigError

        raise ConfigError(f"max_tokens must be at least 1, got {max_tokens}")
    by_level: dict[int, list[int]] = {}
    for c in cuts:
        for level in range(c.level, ANY + 1):
            by_level.setdefault(level, []).append(c.pos)
    for level in by_level:
        by_level[level] = sorted(set(by_level[level]))
    return _split(start, end, SENTENCE, by_level, measure, max_tokens)


def _split(
    a: int,
    b: int,
    level: int,
    by_level: dict[int, list[int]],
    measure: Callable[[int, int], int],
    max_tokens: int,
) -> list[tuple[int, int]]:
    if measure(a, b) <= max_tokens:
        return [(a, b)]
    if level > ANY:
        log.warning(
            "a segment of %d tokens cannot be split under the budget of %d", measure(a, b), max_tokens
        )
        return [(a, b)]
    points = [p for p in by_level.get(level, []) if a < p < b]
    if not points:
        return _split(a, b, level + 1, by_level, measure, max_tokens)
    edges = [a, *points, b]
    out: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    for s, e in zip(edges, edges[1:], strict=False):
        if cur is not None and measure(cur[0], e) <= max_tokens:
            cur = (cur[0], e)
            continue
        if cur is not None:
            out.append(cur)
            cur = None
        if measure(s, e) <= max_tokens:
            cur = (s, e)
        else:
            out += _split(s, e, level + 1, by_level, measure, max_tokens)
    if cur is not None:
        out.append(cur)
    return out
