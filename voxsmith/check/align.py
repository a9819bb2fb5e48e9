"""CTC forced alignment (Viterbi) of a known unit sequence to frame posteriors.

The CTC topology for targets ``y_1..y_L`` has ``S = 2L + 1`` states, blanks at even and
labels at odd indices. A path may stay in a state, step to the next, or skip a blank
between two different labels. ``viterbi_align`` returns the best path's frame span of
every target unit; ``token_spans`` groups unit spans into syllable/word spans.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEG = -1e30  # log(0) that stays finite under addition


@dataclass(frozen=True)
class Alignment:
    """Frame spans of target units on the best CTC path."""

    spans: np.ndarray  # (L, 2) int: first and last frame (inclusive) of each target unit
    log_prob: float  # log-probability of the best path
    n_frames: int


def viterbi_align(log_probs: np.ndarray, targets: list[int], blank: int = 0) -> Alignment | None:
    """Best CTC path of ``targets`` through ``log_probs`` (T, U); None if no path fits in T frames.

    Each target gets at least one frame. Cost O(T * L), vectorised over states.
    """
    lp = np.asarray(log_probs, dtype=np.float64)
    t_len, n = lp.shape[0], len(targets)
    if n == 0 or t_len == 0:
        return None
    labels = np.full(2 * n + 1, blank, dtype=np.int64)
    labels[1::2] = targets
    s_len = len(labels)
    # a skip s-2 -> s is allowed into a label state whose label differs from the one two back
    skip = np.zeros(s_len, dtype=bool)
    skip[3::2] = labels[3::2] != labels[1:-2:2]
    emit = lp[:, labels]  # (T, S)
    dp = np.full(s_len, NEG)
    dp[0] = emit[0, 0]
    if s_len > 1:
        dp[1] = emit[0, 1]
    back = np.zeros((t_len, s_len), dtype=np.int8)  # 0 stay, 1 from s-1, 2 from s-2
    for t in range(1, t_len):
        stay = dp
        step = np.concatenate(([NEG], dp[:-1]))
        jump = np.where(skip, np.concatenate(([NEG, NEG], dp[:-2])), NEG)
        choice = np.argmax(np.stack([stay, step, jump]), axis=0)
        dp = np.choose(choice, [stay, step, jump]) + emit[t]
        back[t] = choice
    ends = [s_len - 1, s_len - 2] if s_len > 1 else [0]
    last = max(ends, key=lambda s: dp[s])
    if dp[last] <= NEG / 2:
        return None
    states = np.empty(t_len, dtype=np.int64)
    s = last
    for t in range(t_len - 1, -1, -1):
        states[t] = s
        s -= int(back[t, s])
    if states[0] > 1:
        return None  # the path would have to start past the first label: infeasible
    spans = np.zeros((n, 2), dtype=np.int64)
    seen = np.zeros(n, dtype=bool)
    for t, st in enumerate(states):
        if st % 2 == 1:
            j = st // 2
            if not seen[j]:
                spans[j, 0] = t
                seen[j] = True
            spans[j, 1] = t
    if not seen.all():
        return None
    return Alignment(spans, float(dp[last]), t_len)


def token_spans(alignment: Alignment, unit_counts: list[int]) -> np.ndarray:
    """(K, 2) first/last frame of each token from the spans of its ``unit_counts[k]`` units."""
    out = np.zeros((len(unit_counts), 2), dtype=np.int64)
    j = 0
    for k, c in enumerate(unit_counts):
        out[k] = (alignment.spans[j, 0], alignment.spans[j + c - 1, 1])
        j += c
    return out
