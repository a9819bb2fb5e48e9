"""Greedy CTC decoding and the edit distance behind the unit error rates of the content
encoder's and the checker's validation."""

from __future__ import annotations

import torch


def greedy_ctc(scores: torch.Tensor, blank: int = 0) -> list[int]:
    """(T, U) logits or log-probs -> the best path with repeats merged and blanks dropped."""
    out, last = [], -1
    for i in scores.argmax(-1).tolist():
        if i != last and i != blank:
            out.append(i)
        last = i
    return out


def edit_distance(a: list[int], b: list[int]) -> int:
    """Levenshtein distance (insertions, deletions and substitutions all cost 1)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def pooled_unit_error(counts: dict[str, tuple[int, int]], lang: str | None = None) -> float:
    """Unit error rate from per-language ``{lang: (unit errors, units)}`` counts: of ``lang``, or
    of every language (None)."""
    rows = [v for k, v in counts.items() if lang in (None, k)]
    return sum(e for e, _ in rows) / max(1, sum(t for _, t in rows))
