"""Chinese word lexicon and segmentation (jieba's dictionary, loaded fast).

Polyphone readings depend on word boundaries (认真/地/学习, not 认真/地学/习), so G2P segments
with jieba's word frequencies: the route through the sentence with the highest product of word
probabilities (jieba's own criterion, without its HMM for unknown words, which G2P does not need).

``jieba.initialize()`` unmarshals a 9 MB prefix dictionary (~0.8 s); voxsmith reads only the
words it needs (frequency >= ``MIN_FREQ``, up to ``MAX_WORD`` characters, plus all single
characters) from jieba's ``dict.txt`` and keeps that list in a small text cache under
``$VOXSMITH_CACHE_DIR`` (default ``~/.cache/voxsmith``), so later processes load it in ~0.1 s.
"""

from __future__ import annotations

import math
import re
from collections.abc import Container
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from voxsmith.text.cache import cached_text, package_file, source_key

MIN_FREQ = 5  # jieba frequency below which multi-character words are dropped (rare names, typos)
MAX_WORD = 6  # longest word considered by the segmenter
EXTRA_FREQ = 50  # frequency given to phrase-table words jieba does not know


@dataclass
class Lexicon:
    """Word frequencies (kept as the cached strings, converted on lookup) and the log total."""

    freqs: dict[str, str]
    floor: float  # log probability of a frequency-1 word: -log(total)

    def logp(self, word: str) -> float | None:
        f = self.freqs.get(word)
        return None if f is None else math.log(int(f)) + self.floor

    def segment(self, run: str, extra: Container[str] = frozenset()) -> list[str]:
        """Most probable segmentation of a run of Chinese characters.

        ``extra`` words (phrase-table entries) count as known words with ``EXTRA_FREQ``.
        """
        n = len(run)
        extra_lp = self.floor + math.log(EXTRA_FREQ)
        best = [0.0] * (n + 1)
        nxt = [n] * (n + 1)
        for i in range(n - 1, -1, -1):
            best[i] = -math.inf
            for j in range(i + 1, min(n, i + MAX_WORD) + 1):
                w = run[i:j]
                lp = self.logp(w)
                if lp is None:
                    if w in extra:
                        lp = extra_lp
                    elif j == i + 1:
                        lp = self.floor
                    else:
                        continue
                elif w in extra:
                    lp = max(lp, extra_lp)
                score = lp + best[j]
                if score > best[i]:
                    best[i], nxt[i] = score, j
        words, i = [], 0
        while i < n:
            words.append(run[i : nxt[i]])
            i = nxt[i]
        return words


def _extract(src: Path) -> str:
    """The cache body: the kept words, their frequencies, the total frequency (one line each)."""
    text = src.read_text(encoding="utf-8")
    words, freqs = [], []
    for w, f in re.findall(r"^(\S+) (\d+)", text, re.M):
        if len(w) == 1 or (len(w) <= MAX_WORD and int(f) >= MIN_FREQ):
            words.append(w)
            freqs.append(f)
    total = sum(int(f) for f in freqs)
    return " ".join(words) + "\n" + " ".join(freqs) + "\n" + str(total)


@lru_cache(maxsize=1)
def load_lexicon() -> Lexicon:
    """The process-wide lexicon (built from jieba's dict.txt once, then read from the cache)."""
    src = package_file("jieba", "dict.txt")
    name = f"lexicon-v3-{source_key(src)}-{MIN_FREQ}-{MAX_WORD}.txt"
    words_line, freqs_line, total = cached_text(name, lambda: _extract(src)).split("\n")
    freqs = dict(zip(words_line.split(" "), freqs_line.split(" "), strict=True))
    return Lexicon(freqs, -math.log(int(total)))
