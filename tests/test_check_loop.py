"""The check loop (voxsmith.check.loop) with a fake synthesiser and fake checkers: forced readings,
sentence pieces, retries, the best try kept, pinned (glossary or inline) syllables."""

from __future__ import annotations

import numpy as np
import pytest

from voxsmith.audio import Audio
from voxsmith.check.content import ContentResult, Span
from voxsmith.check.loop import split_sentences, verify_and_fix
from voxsmith.check.overrides import force_readings
from voxsmith.check.report import CheckReport, SyllableCheck
from voxsmith.errors import CheckpointError
from voxsmith.text.frontend import TextFrontend


def test_force_readings_and_sentence_split():
    text, not_forced = force_readings("他在银行工作了25年，头发很长。", {3: "hang2", 8: "er4", 14: "chang2"})
    assert text == "他在银‹行|hang2›工作了25年，头发很‹长|chang2›。" and not_forced == [8]
    text, not_forced = force_readings("他在‹银行|yin2 hang2›工作", {3: "xing2"})
    assert not_forced == [3] and text == "他在‹银行|yin2 hang2›工作"
    assert split_sentences("你好。他在‹行。|hang2›工作！好吗") == ["你好。", "他在‹行。|hang2›工作！", "好吗"]


def test_forcing_one_reading_pins_the_neighbours_it_would_move():
    # ‹空|kong1› breaks the word 空调, so the frontend would read 调 as diao4 on the next try
    frontend = TextFrontend()
    keep = [s.pinyin for s in frontend.process("空调坏了。").syllables]
    assert keep[:2] == ["kong1", "tiao2"]
    bare, _ = force_readings("空调坏了。", {0: "kong1"}, frontend)
    assert [s.pinyin for s in frontend.process(bare).syllables][1] != "tiao2"
    text, not_forced = force_readings("空调坏了。", {0: "kong1"}, frontend, keep=keep)
    assert text == "‹空|kong1›‹调|tiao2›坏了。" and not_forced == []
    assert [s.pinyin for s in frontend.process(text).syllables] == keep


def test_loop_keeps_the_intended_readings_of_the_text_as_written():
    class KongChecker(FakeChecker):
        def check(self, audio: Audio, text: str) -> CheckReport:
            rows = [
                SyllableCheck(s.text, s.pinyin, s.pinyin, 0.9, True, k)
                for k, s in enumerate(self.frontend.process(text).syllables)
            ]
            if "‹空|kong1›" not in text:
                rows[0] = SyllableCheck("空", "kong1", "kong4", 0.1, False, 0)
            return CheckReport(rows, ContentResult(0.0, [], []))

    tts = FakeTTS()
    _, rep = verify_and_fix(tts, "空调坏了。", KongChecker(tts))
    assert rep.ok and rep.attempts == 2
    assert tts.calls[1][0] == "‹空|kong1›‹调|tiao2›坏了。"
    assert [f["text"] for f in rep.fixes] == ["空"]


class FakeTTS:
    """Reads 行 as xing2 unless forced (``honour``), skips words with the seeds in ``skip_seeds``."""

    def __init__(self, honour: bool = True, skip_seeds: tuple[int, ...] = ()):
        self.honour, self.skip_seeds = honour, skip_seeds
        self.calls: list[tuple[str, int]] = []

    def __call__(self, text: str, seed: int) -> Audio:
        self.calls.append((text, seed))
        return Audio(np.full(2205, len(self.calls) / 1000, dtype=np.float32), 22050)


class FakeChecker:
    """Judges what FakeTTS said, from the call number stored in the samples."""

    def __init__(self, tts: FakeTTS):
        self.tts, self.frontend = tts, TextFrontend()

    def check(self, audio: Audio, text: str) -> CheckReport:
        said_text, seed = self.tts.calls[int(round(audio.samples[0] * 1000)) - 1]
        assert said_text == text
        rows = []
        for k, s in enumerate(self.frontend.process(text).syllables):
            heard = s.pinyin
            if s.text == "行" and not (self.tts.honour and "‹行|hang2›" in text):
                heard = "xing2"
            rows.append(
                SyllableCheck(
                    s.text, s.pinyin, heard, 0.9 if heard == s.pinyin else 0.1, heard == s.pinyin, k
                )
            )
        skipped = [Span("工作", 4)] if seed in self.tts.skip_seeds else []
        return CheckReport(rows, ContentResult(0.2 if skipped else 0.0, skipped, []))


def test_loop_forces_the_wrong_polyphone_through_pinyin():
    tts = FakeTTS()
    audio, rep = verify_and_fix(tts, "今天天气很好。他在银行工作。", FakeChecker(tts))
    assert rep.ok and rep.attempts == 2 and not rep.remaining
    assert rep.fixes == [
        {"attempt": 2, "action": "pinyin", "index": 9, "text": "行", "expected": "hang2", "heard": "xing2"}
    ]
    # only the failing sentence is regenerated, same seed, reading forced
    assert tts.calls[2] == ("他在银‹行|hang2›工作。", 0) and len(tts.calls) == 3
    assert audio.seconds == pytest.approx(2 * 0.1 + 0.2)


def test_loop_resamples_on_a_skip():
    tts = FakeTTS(skip_seeds=(0,))
    _, rep = verify_and_fix(tts, "他在银‹行|hang2›工作。", FakeChecker(tts), seed=0)
    assert rep.ok and rep.attempts == 2
    assert [f["action"] for f in rep.fixes] == ["resample"] and tts.calls[-1][1] == 1
    assert "skipped 工作" in rep.fixes[0]["reason"]


def test_loop_gives_up_after_max_retries():
    tts = FakeTTS(honour=False)
    _, rep = verify_and_fix(tts, "他在银行工作。", FakeChecker(tts), max_retries=2)
    assert not rep.ok and rep.attempts == 3 and len(tts.calls) == 3
    assert [f["action"] for f in rep.fixes] == ["pinyin", "resample"]
    assert rep.remaining == [
        {
            "kind": "syllable",
            "index": 3,
            "text": "行",
            "expected": "hang2",
            "heard": "xing2",
            "confidence": 0.1,
        }
    ]
    assert set(rep.to_dict()) == {"ok", "attempts", "fixes", "remaining"}


def test_loop_returns_the_best_try_not_the_last():
    # try 1: 行 misread; try 2 (forced, not honoured): the same; try 3 (new seed): misread and a skip
    tts = FakeTTS(honour=False, skip_seeds=(1,))
    audio, rep = verify_and_fix(tts, "他在银行工作。", FakeChecker(tts), max_retries=2)
    assert [c[1] for c in tts.calls] == [0, 0, 1]
    assert audio.samples[0] == pytest.approx(0.001)  # the first call's clip
    assert not rep.ok and rep.attempts == 3 and [p["kind"] for p in rep.remaining] == ["syllable"]


# --- training recipe, checkpoint, CLI ----------------------------------------------------


def test_loop_without_a_checker_needs_the_built_in_model(tmp_path, monkeypatch):
    import voxsmith.check.checker as checker_mod

    monkeypatch.setattr(checker_mod, "DEFAULT_MODEL", tmp_path / "checker.safetensors")
    with pytest.raises(CheckpointError, match="not installed"):
        verify_and_fix(FakeTTS(), "他在银行工作。")


def test_loop_keeps_unspeakable_pieces_with_the_sentence_before():
    tts = FakeTTS()
    _, rep = verify_and_fix(tts, "他在银‹行|hang2›工作。……", FakeChecker(tts))
    assert rep.ok and tts.calls == [("他在银‹行|hang2›工作。……", 0)]


class _ScriptedChecker:
    """Judges FakeTTS's try number ``call`` (stored in the samples) by ``hears(call, syllable) ->
    (heard, confidence, ok)``; try ``skips_on`` also skips 稽 (a content problem, CER 0.2)."""

    def __init__(self, fe: TextFrontend, hears, skips_on: int):
        self.frontend, self.hears, self.skips_on = fe, hears, skips_on

    def check(self, audio: Audio, t: str) -> CheckReport:
        call = int(round(audio.samples[0] * 1000))
        rows = [
            SyllableCheck(s.text, s.pinyin, *self.hears(call, s), k)
            for k, s in enumerate(self.frontend.process(t).syllables)
        ]
        skipped = [Span("稽", 5)] if call == self.skips_on else []
        return CheckReport(rows, ContentResult(0.2 if skipped else 0.0, skipped, []))


def test_loop_prefers_the_try_that_reads_a_pinned_syllable_right():
    """Try 1 misreads the pinned 会 (kuai4, set inline) and nothing else; try 2 reads it right
    but misreads another syllable and skips a word. The user's pin wins: try 2 is kept."""
    from voxsmith.check.loop import _pinned

    text = "我们去‹会|kuai4›稽。"
    fe = TextFrontend()
    readings = [s.pinyin for s in fe.process(text).syllables]
    pinned = _pinned(fe, text)
    assert [readings[k] for k in pinned] == ["kuai4"]  # 会 only: the other syllables read as before
    assert _pinned(fe, "他在银‹行|hang2›工作。") == frozenset()

    tts = FakeTTS()

    def hears(call: int, s) -> tuple[str, float, bool]:
        wrong = (call == 1 and s.text == "会") or (call == 2 and s.text == "们")
        heard = ("hui4" if s.text == "会" else "men2") if wrong else s.pinyin
        return heard, 0.1 if wrong else 0.9, not wrong

    audio, rep = verify_and_fix(tts, text, _ScriptedChecker(fe, hears, skips_on=2), max_retries=1)
    assert len(tts.calls) == 2
    assert audio.samples[0] == pytest.approx(0.002)  # the second try, despite more problems
    assert {p.get("text") for p in rep.remaining if p["kind"] == "syllable"} == {"们"}


def test_loop_retries_a_pinned_syllable_heard_wrong_below_the_misread_threshold():
    """Tries 1 and 3 are clean by the checker's verdict, but its best guess for the pinned 会 is
    hui4 (not confident enough to call a misread); the loop spends a retry on it and keeps try 2,
    where kuai4 is heard best, although try 2 has a content problem."""
    text = "我们去‹会|kuai4›稽。"
    fe = TextFrontend()
    tts = FakeTTS()

    def hears(call: int, s) -> tuple[str, float, bool]:
        return ("hui4" if call != 2 and s.text == "会" else s.pinyin), 0.6, True

    audio, rep = verify_and_fix(tts, text, _ScriptedChecker(fe, hears, skips_on=2), max_retries=2)
    assert audio.samples[0] == pytest.approx(0.002)  # try 2 kept
    assert any("pinned reading not heard best" in f.get("reason", "") for f in rep.fixes)
    assert len(tts.calls) == 3  # try 2's content problem earned the last retry; try 3 hears hui4 again
