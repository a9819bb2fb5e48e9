"""Goodness of pronunciation: how much better the intended reading explains a syllable than
the readings it could be confused with, and the calibrated decision on that margin.

For token ``k`` (aligned frames from ``align.viterbi_align``) the window runs from just
after token ``k-2`` to just before token ``k+2``; the CTC log-likelihood of
``units(k-1) + candidate + units(k+1)`` over that window scores each candidate reading of
``k`` in its real context. All windows and candidates go through one batched
``F.ctc_loss`` call (in chunks), on the columns of the units involved only.

    margin = LL(intended) - max LL(other candidate)     (nats; > 0: the intended wins)

With a tone judge (``check.tone``), each candidate's LL gains ``tone_weight * log p_tone``
of its tone, so pitch weighs in wherever the candidates' tones differ.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from voxsmith.check.expected import ExpectedToken, syllable_units, tone_variants
from voxsmith.check.tone import tone_of
from voxsmith.models.units import units_to_ids

CHUNK = 256  # windows per ctc_loss call
MARGIN_CLIP = 50.0  # nats; an impossible candidate (no CTC path in the window) counts as this far off


@dataclass
class TokenScore:
    """Log-likelihood of every candidate reading of one Chinese syllable."""

    reading: str
    alternatives: tuple[str, ...]  # other polyphone readings
    lls: dict[str, float] = field(default_factory=dict)  # candidate -> window log-likelihood
    tone_lp: np.ndarray | None = None  # (5,) the tone judge's log p(tone 1..5), if any
    tone_weight: float = 0.0  # its weight in ``score``

    def score(self, candidate: str) -> float:
        """The recogniser's LL of ``candidate`` plus the weighted tone judgement of its tone."""
        ll = self.lls[candidate]
        if self.tone_lp is None or not self.tone_weight:
            return ll
        return ll + self.tone_weight * float(self.tone_lp[tone_of(candidate) - 1])

    def margin(self, intended: str, others: tuple[str, ...] | list[str]) -> float:
        """score(intended) - max score(others), clipped to +-MARGIN_CLIP."""
        rivals = [self.score(o) for o in others if o != intended]
        if not rivals:
            return MARGIN_CLIP
        own, rival = self.score(intended), max(rivals)
        if not math.isfinite(own) and not math.isfinite(rival):
            return 0.0  # neither fits the window: no evidence either way
        return float(np.clip(own - rival, -MARGIN_CLIP, MARGIN_CLIP))

    @property
    def poly_margin(self) -> float | None:
        return self.margin(self.reading, self.alternatives) if self.alternatives else None

    @property
    def tone_margin(self) -> float:
        return self.margin(self.reading, tone_variants(self.reading))

    def best(self, candidates: tuple[str, ...] | list[str]) -> str:
        """The candidate with the highest score (the intended reading wins ties)."""
        return max(candidates, key=lambda c: (self.score(c), c == self.reading))


def _window(k: int, spans: np.ndarray, n_frames: int) -> tuple[int, int]:
    a = int(spans[k - 2, 1]) + 1 if k >= 2 else 0
    b = int(spans[k + 2, 0]) if k + 2 < len(spans) else n_frames
    return a, b


def window_log_likelihoods(
    log_probs: torch.Tensor,
    token_ids: list[list[int]],
    spans: np.ndarray,
    queries: list[tuple[int, list[int]]],
) -> np.ndarray:
    """CTC log-likelihood of each query ``(token k, candidate unit ids)`` in k's context window.

    log_probs: (T, U) log-posteriors; token_ids: unit ids per token; spans: (K, 2) token
    frames. Returns (Q,) float64, ``-inf`` where the candidate cannot fit the window.
    """
    out = np.empty(len(queries))
    n_frames = log_probs.shape[0]
    for c0 in range(0, len(queries), CHUNK):
        chunk = queries[c0 : c0 + CHUNK]
        wins, targets = [], []
        for k, cand in chunk:
            left = token_ids[k - 1] if k >= 1 else []
            right = token_ids[k + 1] if k + 1 < len(token_ids) else []
            wins.append(_window(k, spans, n_frames))
            targets.append(left + list(cand) + right)
        # only the columns of the units in these targets (and blank) take part in any path
        vocab = sorted({0} | {u for t in targets for u in t})
        remap = {u: i for i, u in enumerate(vocab)}
        cols = log_probs[:, vocab]  # (T, V)
        t_max = max(b - a for a, b in wins)
        batch = torch.zeros(t_max, len(chunk), len(vocab))
        for i, (a, b) in enumerate(wins):
            batch[: b - a, i] = cols[a:b]
        flat = torch.tensor([remap[u] for t in targets for u in t], dtype=torch.long)
        loss = F.ctc_loss(
            batch,
            flat,
            torch.tensor([b - a for a, b in wins]),
            torch.tensor([len(t) for t in targets]),
            blank=0,
            reduction="none",
            zero_infinity=False,
        )
        out[c0 : c0 + len(chunk)] = -loss.double().numpy()
    out[~np.isfinite(out)] = -np.inf
    return out


def score_tokens(
    log_probs: torch.Tensor,
    tokens: list[ExpectedToken],
    spans: np.ndarray,
    tones: bool = True,
    tone_lp: np.ndarray | None = None,
    tone_weight: float = 0.0,
) -> list[TokenScore | None]:
    """A ``TokenScore`` per Chinese token (None for English words).

    Candidates: the intended reading, the other polyphone readings and, with ``tones``,
    the intended syllable in the other four tones. ``tone_lp``: (K, 5) tone judgement of
    every token (rows of English words unused), weighed in with ``tone_weight``.
    """
    token_ids = [units_to_ids(list(t.units)) for t in tokens]
    scores: list[TokenScore | None] = []
    queries: list[tuple[int, list[int]]] = []
    owners: list[tuple[TokenScore, str]] = []
    for k, tok in enumerate(tokens):
        if tok.kind != "zh":
            scores.append(None)
            continue
        ts = TokenScore(tok.reading, tok.alternatives)
        if tone_lp is not None:
            ts.tone_lp, ts.tone_weight = tone_lp[k], tone_weight
        cands = dict.fromkeys(
            (tok.reading, *tok.alternatives, *(tone_variants(tok.reading) if tones else ()))
        )
        for cand in cands:
            queries.append((k, units_to_ids(list(syllable_units(cand)))))
            owners.append((ts, cand))
        scores.append(ts)
    if queries:
        lls = window_log_likelihoods(log_probs, token_ids, spans, queries)
        for (ts, cand), ll in zip(owners, lls, strict=True):
            ts.lls[cand] = float(ll)
    return scores


def confidence(margin: float, threshold: float, scale: float) -> float:
    """``sigmoid(scale * (margin - threshold))``: 0.5 at the decision boundary."""
    z = float(np.clip(scale * (margin - threshold), -40.0, 40.0))
    return 1.0 / (1.0 + math.exp(-z))


SLOPE_PRIOR = 1.0  # L2 weight on the confidence slope: finite on perfectly separated margins


def _logistic_slope(pos: np.ndarray, neg: np.ndarray, threshold: float, prior: float = SLOPE_PRIOR) -> float:
    """Slope ``a`` of ``p(correct) = sigmoid(a * (margin - threshold))`` by Newton's method,
    with ``prior * a^2 / 2`` added to the loss: on margins that separate perfectly the
    likelihood alone drives ``a`` up until every confidence reads 0 or 1, which says
    nothing about how far a new clip is from the boundary."""
    x = np.concatenate([pos, neg]) - threshold
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))])
    a = 1.0
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-np.clip(a * x, -40, 40)))
        grad = np.sum((p - y) * x) + prior * a
        hess = np.sum(p * (1 - p) * x * x) + prior + 1e-6
        a = float(np.clip(a - grad / hess, 0.05, 20.0))
    return a


def fit_threshold(
    pos: np.ndarray, neg: np.ndarray, max_false_alarm: float, slack: float = 0.0
) -> tuple[float, float, dict]:
    """Threshold and confidence slope from margins of correct (``pos``) and wrong (``neg``) readings.

    The threshold is the one that best separates the two (most detections minus false
    alarms), lowered if needed until at most ``max_false_alarm`` of the correct readings
    fall below it; with ``slack``, lowered further as long as it still catches all but
    ``slack`` of the wrong readings caught there (when wrong readings sit far below the
    boundary, the lowest such threshold flags fewest correct readings of a new voice, whose
    margins shift); then set in the middle of the gap between that margin and the next
    smaller one (same counts on the fit data, no margin hugged). Returns ``(threshold, slope, stats)``.
    """
    pos, neg = np.sort(np.asarray(pos, float)), np.asarray(neg, float)
    if len(pos) == 0 or len(neg) == 0:
        raise ValueError("calibration needs margins of both correct and wrong readings")
    grid = np.unique(np.concatenate([pos, neg]))
    grid = np.concatenate([grid, [grid[-1] + 1e-3]])
    fa = np.searchsorted(pos, grid, side="left") / len(pos)  # share of pos strictly below
    det = np.array([(neg < t).mean() for t in grid])
    best = float(grid[int(np.argmax(det - fa))])
    cap = float(grid[np.searchsorted(fa, max_false_alarm, side="right") - 1])  # fa[0] == 0
    threshold = min(best, cap)
    if slack > 0:
        keep = det >= det[np.searchsorted(grid, threshold)] - slack
        threshold = float(grid[np.argmax(keep)])  # the lowest threshold that keeps enough
    below = grid[grid < threshold]
    if len(below) and threshold <= grid[-2]:  # not the sentinel above every margin
        threshold = float((threshold + below[-1]) / 2)
    slope = _logistic_slope(pos, neg, threshold)
    stats = {
        "n_correct": int(len(pos)),
        "n_wrong": int(len(neg)),
        "false_alarm": round(float((pos < threshold).mean()), 4),
        "detection": round(float((neg < threshold).mean()), 4),
    }
    return threshold, slope, stats
