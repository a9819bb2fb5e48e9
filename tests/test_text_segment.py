"""Segmentation under a token budget: sentence ends first, then commas, never inside words/numbers."""

from __future__ import annotations

import pytest

from voxsmith.errors import ConfigError
from voxsmith.text.frontend import TextFrontend
from voxsmith.text.segment import ANY, CLAUSE, SENTENCE, WORD, Cut, split_spans


def test_split_spans_prefers_the_best_level():
    text = "aaaa.bbbb,cccc dddd"
    cuts = [Cut(5, SENTENCE), Cut(10, CLAUSE), Cut(15, WORD)] + [Cut(i, ANY) for i in range(1, len(text))]

    def measure(a, b):
        return b - a

    assert split_spans(0, len(text), cuts, measure, 100) == [(0, 19)]
    assert split_spans(0, len(text), cuts, measure, 14) == [(0, 5), (5, 19)]
    assert split_spans(0, len(text), cuts, measure, 10) == [(0, 5), (5, 10), (10, 19)]
    assert split_spans(0, len(text), cuts, measure, 6) == [(0, 5), (5, 10), (10, 15), (15, 19)]
    assert split_spans(0, len(text), cuts, measure, 3) == [
        (0, 3),
        (3, 5),
        (5, 8),
        (8, 10),
        (10, 13),
        (13, 15),
        (15, 18),
        (18, 19),
    ]
    with pytest.raises(ConfigError):
        split_spans(0, 4, [], measure, 0)


def _check_budget(result, fe):
    for seg, ids in zip(result.segments, result.segment_tokens, strict=True):
        assert 0 < len(ids) <= fe.max_tokens, seg.text


def test_sentences_are_packed_and_cut_at_sentence_ends():
    fe = TextFrontend(max_tokens=40)
    text = "今天天气很好。我们去公园散步吧！公园里有很多花。孩子们在草地上玩耍。"
    result = fe.process(text)
    _check_budget(result, fe)
    assert len(result.segments) > 1
    assert all(s.text[-1] in "。！" for s in result.segments)
    assert "".join(s.text for s in result.segments) == result.normalized


def test_long_sentence_is_cut_at_commas_then_words():
    fe = TextFrontend(max_tokens=30)
    text = "虽然今天的天气不太好，但是我们还是决定出去走走，顺便去超市买一些水果和蔬菜回来"
    result = fe.process(text)
    _check_budget(result, fe)
    assert result.segments[0].text.endswith("，")
    joined = "".join(s.text for s in result.segments)
    assert joined == result.normalized
    words = TextFrontend().zh.words(result.normalized)
    boundaries = {sum(len(w) for w in words[:k]) for k in range(len(words) + 1)}
    pos = 0
    for s in result.segments:
        pos += len(s.text)
        assert pos in boundaries  # never inside a word


def test_numbers_are_never_split():
    text = "他的存款一共有123456789元，你信吗"
    number = "一亿两千三百四十五万六千七百八十九"
    fe = TextFrontend(max_tokens=40)
    result = fe.process(text)
    _check_budget(result, fe)
    assert len(result.segments) > 1
    assert any(number in s.text for s in result.segments)
    # A number longer than the whole budget is the one case where it has to be cut.
    tiny = TextFrontend(max_tokens=12)
    cut = tiny.process(text)
    _check_budget(cut, tiny)
    assert not any(number in s.text for s in cut.segments)


def test_english_is_cut_between_words():
    fe = TextFrontend(max_tokens=25)
    result = fe.process("The quick brown fox jumps over the lazy dog and runs into the forest")
    _check_budget(result, fe)
    assert len(result.segments) > 1
    words = set(result.normalized.split())
    for s in result.segments:
        assert set(s.text.split()) <= words
