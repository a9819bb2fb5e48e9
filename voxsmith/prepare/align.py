"""Cut one transcript of a long recording into the texts of its slices, guided by ASR.

Each slice is transcribed by the ASR judge; the transcripts, concatenated in order, are aligned
to the given transcript token by token (Levenshtein, one global alignment, so a slice the ASR
got wrong cannot drag its neighbours along). A slice's text is the stretch of the *given*
transcript (with its punctuation and spelling) that its ASR tokens align to; the ASR text
itself is only the guide, and the disagreement filter later compares the two.

Tokens: single Hanzi, and runs of Latin letters/digits (words); compared after NFKC, lower
case and Traditional -> Simplified. Cost: O(N*M) time and N*M bytes for N ASR and M
transcript tokens (a one-hour recording: ~200 MB), refused above ``MAX_CELLS``.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np

from voxsmith.errors import DataError

MAX_CELLS = 300_000_000  # alignment matrix size refused (bytes); split such recordings first
_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]|[^\W_]+", re.UNICODE)
_DIAG, _UP, _LEFT = 0, 1, 2  # match/substitute, skip an ASR token, skip a transcript token


def tokens(text: str) -> list[tuple[str, int]]:
    """``[(key, char offset)]`` of the comparable tokens of ``text``."""
    from voxsmith.eval.scoring import to_simplified

    out = []
    for m in _TOKEN.finditer(text):
        tok = m.group(0)
        if len(tok) > 1 and re.search(r"[\u3400-\u9fff]", tok):  # Hanzi glued to letters: one per char
            for k, ch in enumerate(tok):
                out.append((to_simplified(unicodedata.normalize("NFKC", ch)).lower(), m.start() + k))
            continue
        out.append((to_simplified(unicodedata.normalize("NFKC", tok)).lower(), m.start()))
    return out


def align_path(ref: list[str], hyp: list[str]) -> list[int]:
    """For each hyp token, the index of the ref token it is aligned with or, for an inserted
    hyp token, of the next ref token (non-decreasing; values in 0..len(ref))."""
    n, m = len(hyp), len(ref)
    if n == 0:
        return []
    if n * (m + 1) > MAX_CELLS:
        raise DataError(
            f"a transcript of {m} tokens against {n} recognised tokens is too long to align in one "
            f"piece; split the recording (or its transcript) into parts of under ~30 minutes"
        )
    vocab: dict[str, int] = {}
    r = np.array([vocab.setdefault(t, len(vocab)) for t in ref], dtype=np.int64)
    h = [vocab.setdefault(t, len(vocab)) for t in hyp]
    ar = np.arange(m + 1)
    prev = ar.copy()  # D[0][j] = j skipped transcript tokens
    ptr = np.empty((n + 1, m + 1), dtype=np.uint8)
    ptr[0] = _LEFT
    for i in range(1, n + 1):
        up = prev + 1
        sub = prev[:-1] + (r != h[i - 1])
        c = up.copy()
        c[1:] = np.minimum(sub, up[1:])
        choice = np.full(m + 1, _UP, dtype=np.uint8)
        choice[1:][sub <= up[1:]] = _DIAG
        d = np.minimum.accumulate(c - ar) + ar  # D[i][j] = min(c[j], D[i][j-1] + 1)
        ptr[i] = np.where(d < c, _LEFT, choice)
        prev = d
    out = [0] * n
    i, j = n, m
    while i > 0:
        op = ptr[i, j]
        if op == _LEFT:
            j -= 1
            continue
        i -= 1
        if op == _DIAG:
            j -= 1
        out[i] = j
    return out


def split_transcript(text: str, hyps: list[str]) -> list[str]:
    """The part of ``text`` said in each slice, given the ASR transcript of each slice (in order).

    A slice whose ASR found nothing gets ``""``; transcript words the ASR missed at a boundary
    go to the later slice, words before the first and after the last slice to the first and last.
    """
    ref = tokens(text)
    hyp_tokens = [tokens(hy) for hy in hyps]
    flat = [t for toks in hyp_tokens for t, _ in toks]
    path = align_path([t for t, _ in ref], flat)
    starts: list[int | None] = []
    pos = 0
    for toks in hyp_tokens:
        starts.append(path[pos] if toks else None)
        pos += len(toks)
    bounds = [0] * (len(hyps) + 1)
    bounds[-1] = len(ref)
    nxt = len(ref)
    for k in range(len(hyps) - 1, -1, -1):  # an empty slice starts where the next one does
        s = starts[k]
        nxt = nxt if s is None else s
        bounds[k] = nxt
    first = next((k for k, s in enumerate(starts) if s is not None), None)
    if first is not None:
        bounds[first] = 0
    offsets = [off for _, off in ref] + [len(text)]
    out = []
    for k in range(len(hyps)):
        a, b = bounds[k], bounds[k + 1]
        if starts[k] is None or a >= b:
            out.append("")
            continue
        end = len(text) if b == len(ref) else offsets[b]
        out.append(" ".join(text[offsets[a] : end].split()))
    return out
