"""Speech with chosen readings, for the checker benchmarks: ttskit reading toned pinyin.

The rendering (``PinyinTtskit``, ``PinyinSpeaker``: ttskit's ``pinyin`` text cleaner, so
every reading, right or deliberately wrong, is exactly the one asked for; the corpus
speaker's WORLD timbre; third-tone sandhi as ttskit's character path applies it) lives in
``voxsmith.train.checker_data``, which also uses it for the reading-swap training clips.
Here: the held-out speakers of a corpus, and ``CorpusEngineSynth``, a
``synthesize(text, seed)`` for the check loop with ttskit's own G2P for the characters (so
its polyphone mistakes are real) and the ``‹字|pin1›`` annotations of the text honoured.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from voxsmith.audio import Audio, AudioProcessor
from voxsmith.data.speakers import Speaker
from voxsmith.errors import DataError
from voxsmith.text.chars import is_cjk
from voxsmith.train.checker_data import (  # noqa: F401  (re-exported for the benchmarks)
    SR,
    PinyinSpeaker,
    PinyinTtskit,
    clauses_of,
    surface_readings,
)


def test_speakers(corpus: Path, lang: str = "zh") -> list[Speaker]:
    """Held-out (test split) speakers of a corpus that speak ``lang``."""
    d = json.loads((corpus / "speakers.json").read_text(encoding="utf-8"))
    splits = d.get("splits", {})
    out = [Speaker.from_dict(s) for s in d["speakers"] if splits.get(s["id"]) == "test"]
    out = [s for s in out if lang in s.langs]
    if not out:
        raise DataError(f"{corpus}/speakers.json: no test-split speaker speaks {lang}")
    return out


_ANNOTATION = re.compile(r"‹([^‹›|]*)\|([^‹›]*)›")


class CorpusEngineSynth:
    """``synthesize(text, seed)`` with ttskit's own G2P, honouring ``‹字|pin1›`` annotations.

    ``last_readings`` holds the readings actually rendered by the last call (ground truth).
    """

    def __init__(self, voice: str = "Aijia", tts: PinyinTtskit | None = None) -> None:
        self.voice = voice
        self.tts = tts or PinyinTtskit()
        self.last_readings: list[str] = []

    @staticmethod
    def engine_readings(text: str) -> tuple[str, list[str]]:
        """Plain text and the readings ttskit would use, with the annotated ones replacing them."""
        from phkit.chinese import text2pinyin

        plain, fixed = "", {}
        pos = 0
        for m in _ANNOTATION.finditer(text):
            plain += text[pos : m.start()]
            for ch, py in zip(m.group(1), m.group(2).split(), strict=True):
                fixed[len(plain)] = py
                plain += ch
            pos = m.end()
        plain += text[pos:]
        auto = text2pinyin(plain, errors=lambda x: [None for _ in x])
        readings = []
        for i, ch in enumerate(plain):
            if is_cjk(ch):
                readings.append(fixed.get(i) or auto[i] or "")
        return plain, readings

    def __call__(self, text: str, seed: int) -> Audio:
        plain, readings = self.engine_readings(text)
        self.last_readings = readings
        x = self.tts.read(clauses_of(plain, readings), self.voice, seed)
        return Audio(AudioProcessor.normalize_loudness(x, -23.0), SR)
