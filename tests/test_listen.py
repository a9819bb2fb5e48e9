"""Listening for set readings: with a glossary term or an inline reading in a segment, its
best-read candidates are rendered and the pronunciation checker's hearing of those syllables
picks one (``listen_candidates``)."""

from __future__ import annotations

import logging

import pytest
import torch

from voxsmith.check.report import SyllableCheck
from voxsmith.errors import CheckpointError
from voxsmith.text.glossary import Glossary


class FakeChecker:
    """Hears the set readings right from the ``right_from``-th call on (1-based), else the rival;
    its confidence in them on the k-th call is ``sure[k - 1]`` (0.9 past the list's end)."""

    def __init__(self, right_from: int, sure: tuple[float, ...] = ()):
        self.right_from, self.sure, self.calls, self.frontend = right_from, sure, [], None

    def hear(self, audio, tokens):
        self.calls.append(tokens)
        right = len(self.calls) >= self.right_from
        conf = self.sure[len(self.calls) - 1] if len(self.calls) <= len(self.sure) else 0.9
        return [
            SyllableCheck(t.text, t.reading, t.reading if right or not t.alternatives else t.alternatives[-1],
                          conf, True, t.syllable, bool(t.alternatives), t.alternatives)
            for t in tokens if t.kind == "zh"
        ]  # fmt: skip


@pytest.fixture
def listening(short_model, monkeypatch):
    """Three candidates, all heard; rank_codes returns three known code sequences."""
    p = short_model.parts
    ranked = [torch.full((8,), k + 1, dtype=torch.long) for k in range(3)]
    monkeypatch.setattr(p, "code_candidates", 4)
    monkeypatch.setattr(p, "listen_candidates", 3)
    monkeypatch.setattr(p, "rank_codes", lambda *a, **k: [c.clone() for c in ranked])
    monkeypatch.setattr(short_model.frontend, "glossary", Glossary.from_dict({"会稽": "kuai4 ji1"}))
    yield ranked
    short_model._checker = None


def test_the_first_candidate_heard_as_set_is_kept_and_no_more_are_rendered(short_model, short_spk, listening):
    short_model._checker = fake = FakeChecker(right_from=2)
    res = short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=0)
    assert torch.equal(res.codes[0], listening[1]) and len(fake.calls) == 2
    assert res.listened == [{"segment": 0, "rendered": 2, "heard_as_set": True, "confidence": 0.9}]
    # the tokens heard carry the everyday reading as the set syllable's rival
    kuai = [t for t in fake.calls[0] if t.reading == "kuai4"]
    assert len(kuai) == 1 and "hui4" in kuai[0].alternatives


def test_an_inline_reading_is_listened_for_too(short_model, short_spk, listening):
    short_model.frontend.glossary = None
    short_model._checker = fake = FakeChecker(right_from=3)
    res = short_model.synthesize("他‹还|huan2›是来了。", speaker_embedding=short_spk, seed=0)
    assert torch.equal(res.codes[0], listening[2]) and len(fake.calls) == 3
    assert [t.alternatives[-1] for t in fake.calls[0] if t.reading == "huan2"] == ["hai2"]


def test_none_heard_as_set_keeps_the_best_read(short_model, short_spk, listening):
    short_model._checker = fake = FakeChecker(right_from=99)
    res = short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=0)
    assert torch.equal(res.codes[0], listening[0]) and len(fake.calls) == 3
    assert res.listened == [{"segment": 0, "rendered": 3, "heard_as_set": False, "confidence": 0.9}]


def test_a_take_heard_as_set_but_not_surely_waits_for_a_surer_one(
    short_model, short_spk, listening, monkeypatch
):
    monkeypatch.setattr(short_model.parts, "listen_confidence", 0.8)
    # all three heard as set; the first at 0.6, the second at 0.85: the second is taken, no third rendered
    short_model._checker = fake = FakeChecker(right_from=1, sure=(0.6, 0.85, 0.99))
    res = short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=0)
    assert torch.equal(res.codes[0], listening[1]) and len(fake.calls) == 2
    assert res.listened == [{"segment": 0, "rendered": 2, "heard_as_set": True, "confidence": 0.85}]
    # none sure enough: all are rendered and the surest one heard as set is kept
    short_model._checker = fake = FakeChecker(right_from=1, sure=(0.6, 0.7, 0.5))
    res = short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=0)
    assert torch.equal(res.codes[0], listening[1]) and len(fake.calls) == 3
    assert res.listened == [{"segment": 0, "rendered": 3, "heard_as_set": True, "confidence": 0.7}]
    # a surer take heard otherwise never beats one heard as set
    short_model._checker = fake = FakeChecker(right_from=3, sure=(0.95, 0.95, 0.55))
    res = short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=0)
    assert torch.equal(res.codes[0], listening[2]) and res.listened[0]["heard_as_set"]


def test_without_a_confidence_asked_the_first_heard_as_set_is_taken(short_model, short_spk, listening):
    assert short_model.parts.listen_confidence == 0.0
    short_model._checker = fake = FakeChecker(right_from=1, sure=(0.3, 0.99, 0.99))
    res = short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=0)
    assert torch.equal(res.codes[0], listening[0]) and len(fake.calls) == 1


def test_text_without_set_readings_is_not_listened_for(short_model, short_spk, listening):
    short_model._checker = fake = FakeChecker(right_from=1)
    res = short_model.synthesize("他在学校读书。", speaker_embedding=short_spk, seed=0)
    assert fake.calls == [] and res.listened == []


def test_a_checker_that_cannot_load_is_a_warning_and_synthesis_goes_on(
    short_model, short_spk, listening, monkeypatch, caplog
):
    from voxsmith.check.checker import PronunciationChecker

    def missing(*a, **k):
        raise CheckpointError("checker.safetensors: file not found")

    monkeypatch.setattr(PronunciationChecker, "load", staticmethod(missing))
    short_model._checker = None
    with caplog.at_level(logging.WARNING):
        res = short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=0)
        short_model.synthesize("他在会稽读书。", speaker_embedding=short_spk, seed=1)
    assert torch.equal(res.codes[0], listening[0])  # the best-read, as without listening
    assert sum("not listened for" in r.message for r in caplog.records) == 1  # warned once


def test_keep_take_stops_at_the_first_sure_take_and_otherwise_ranks_wrong_then_sure_then_rank():
    from voxsmith.pipeline import keep_take

    seen = []

    def takes(items):
        for it in items:
            seen.append(it)
            yield it

    assert keep_take(takes([(1, 0.99), (0, 0.5), (0, 0.995), (0, 1.0)]), 0.99) == (2, 3, True)
    assert len(seen) == 3  # the fourth was never heard
    assert keep_take([(1, 0.9), (0, 0.6), (0, 0.7), (2, 1.0)], 0.99) == (2, 4, True)
    assert keep_take([(2, 0.9), (1, 0.2), (1, 0.4)], 0.5) == (2, 3, False)
    assert keep_take([(0, 0.3), (0, 0.3)], 0.99) == (0, 2, True)  # a tie goes to the best-read
    assert keep_take([(0, 0.3), (0, 0.9)], 0.0) == (0, 1, True)  # 0: the first heard as set
    with pytest.raises(ValueError):
        keep_take([], 0.5)
