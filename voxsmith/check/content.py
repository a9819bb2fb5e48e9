"""Content check with the ASR judge: CER against the text, and spans skipped or repeated.

The transcript and the intended text are tokenised alike (``eval.scoring.normalize_tokens``:
Hanzi one by one, Latin words whole, numbers read out) and aligned by edit distance.
A *skipped* span is a run of at least ``min_span`` reference tokens the transcript leaves
out; a *repeated* span is a run of at least ``min_span`` inserted tokens equal to the
tokens right before or after it (autoregressive TTS loops: 我们今天今天去). A toned pinyin
the user wrote in the text (``银HANG2``) matches any single Hanzi.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from voxsmith.eval.common import AudioInput
from voxsmith.eval.scoring import guess_lang, normalize_tokens

_PINYIN_TOKEN = re.compile(r"^[a-zv]+[1-5]$")
_HANZI = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


@dataclass(frozen=True)
class Span:
    """A stretch of the intended text: its tokens joined, and where it starts (token index)."""

    text: str
    index: int

    def to_dict(self) -> dict:
        return {"text": self.text, "index": self.index}


@dataclass
class ContentResult:
    """What the ASR judge heard against the text; ``cer`` is None when the check did not run."""

    cer: float | None
    skipped: list[Span] = field(default_factory=list)
    repeated: list[Span] = field(default_factory=list)
    transcript: str = ""
    max_cer: float = 0.25

    @property
    def ok(self) -> bool:
        return self.cer is None or (self.cer <= self.max_cer and not self.skipped and not self.repeated)

    def to_dict(self) -> dict:
        """``{"cer", "skipped", "repeated"}`` as in the ``voxsmith check --json`` contract."""
        return {
            "cer": None if self.cer is None else round(self.cer, 4),
            "skipped": [s.to_dict() for s in self.skipped],
            "repeated": [s.to_dict() for s in self.repeated],
        }


def _same(ref: str, hyp: str) -> bool:
    return ref == hyp or (_PINYIN_TOKEN.match(ref) is not None and _HANZI.fullmatch(hyp) is not None)


def align_tokens(ref: list[str], hyp: list[str]) -> list[tuple[str, int, int]]:
    """Edit-distance alignment: ``(op, i, j)`` with op in ``=`` (match), ``s``, ``d`` (ref[i]
    missing), ``i`` (hyp[j] extra); i/j index ref/hyp (the other is the position reached)."""
    n, m = len(ref), len(hyp)
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        cost[i][0] = i
    for j in range(m + 1):
        cost[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            sub = cost[i - 1][j - 1] + (0 if _same(ref[i - 1], hyp[j - 1]) else 1)
            cost[i][j] = min(sub, cost[i - 1][j] + 1, cost[i][j - 1] + 1)
    ops: list[tuple[str, int, int]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + (0 if _same(ref[i - 1], hyp[j - 1]) else 1):
            ops.append(("=" if _same(ref[i - 1], hyp[j - 1]) else "s", i - 1, j - 1))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + 1:
            ops.append(("d", i - 1, j))
            i -= 1
        else:
            ops.append(("i", i, j - 1))
            j -= 1
    return ops[::-1]


def join_tokens(tokens: list[str]) -> str:
    """Hanzi side by side, Latin words with spaces between them."""
    out = ""
    for tok in tokens:
        if out and not _HANZI.match(tok) and not _HANZI.match(out[-1]):
            out += " "
        out += tok
    return out


def find_spans(ref: list[str], hyp: list[str], min_span: int = 2) -> tuple[list[Span], list[Span], int]:
    """Skipped and repeated spans of ``hyp`` against ``ref``, and the number of edits."""
    ops = align_tokens(ref, hyp)
    skipped: list[Span] = []
    repeated: list[Span] = []
    edits = sum(op != "=" for op, _, _ in ops)
    k = 0
    while k < len(ops):
        op = ops[k][0]
        end = k
        while end < len(ops) and ops[end][0] == op:
            end += 1
        run = ops[k:end]
        if op == "d" and len(run) >= min_span:
            skipped.append(Span(join_tokens([ref[i] for _, i, _ in run]), run[0][1]))
        elif op == "i" and len(run) >= min_span:
            j0, j1 = run[0][2], run[-1][2] + 1
            piece, n = hyp[j0:j1], j1 - j0
            if hyp[max(0, j0 - n) : j0] == piece or hyp[j1 : j1 + n] == piece:
                repeated.append(Span(join_tokens(piece), run[0][1]))
        k = end
    return skipped, repeated, edits


class ContentChecker:
    """Transcribes with an ``AsrJudge`` (by default faster-whisper base, greedy, its encoder
    context fitted to the clip: ~0.7 s for a 5 s clip on 2 cores) and scores the transcript
    against the text."""

    def __init__(self, judge=None, max_cer: float = 0.25, min_span: int = 2) -> None:
        self._judge = judge
        self.max_cer = max_cer
        self.min_span = min_span

    @property
    def judge(self):
        if self._judge is None:
            from voxsmith.eval.asr import AsrJudge
            from voxsmith.eval.whisper import WhisperBackend, WhisperConfig

            self._judge = AsrJudge(WhisperBackend(WhisperConfig(beam_size=1, fit_window=True)))
        return self._judge

    def check(self, audio: AudioInput, reference: str) -> ContentResult:
        """``reference``: the text as it should be heard (the frontend's normalised text)."""
        lang = guess_lang(reference)
        ref = normalize_tokens(reference, lang)
        if not ref:
            return ContentResult(None, max_cer=self.max_cer)
        transcript = self.judge.transcribe(audio, lang)
        hyp = normalize_tokens(transcript.text, lang)
        skipped, repeated, edits = find_spans(ref, hyp, self.min_span)
        return ContentResult(edits / len(ref), skipped, repeated, transcript.text, self.max_cer)
