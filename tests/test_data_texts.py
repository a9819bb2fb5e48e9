"""Sentence generator: deterministic, diverse, phonetically greedy; frontend runs for code-switching."""

from __future__ import annotations

import re

import pytest

from voxsmith.data.frontend import Frontend, runs
from voxsmith.data.texts import TextConfig, candidates, generate
from voxsmith.errors import ConfigError, TextError


def cheap_units(text: str, lang: str) -> list[str]:
    """Characters (zh) or lower-case letter pairs (en): enough to exercise the greedy choice."""
    if lang == "zh":
        return [c for c in text if "\u4e00" <= c <= "\u9fff"]
    t = re.sub(r"[^a-z]", "", text.lower())
    return [t[i : i + 2] for i in range(len(t) - 1)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_generation_is_deterministic_and_seeded(lang):
    cfg = TextConfig(n_sentences=80)
    a = generate(lang, 3, cfg, units_of=cheap_units)
    b = generate(lang, 3, cfg, units_of=cheap_units)
    c = generate(lang, 4, cfg, units_of=cheap_units)
    assert a == b
    assert [s.text for s in a] != [s.text for s in c]
    assert len(a) == 80 and len({s.text for s in a}) == 80
    assert [s.id for s in a[:2]] == [f"{lang}-0000", f"{lang}-0001"]


def test_pools_mix_kinds_numbers_questions_and_special_sentences():
    zh = candidates("zh", 600, 0)
    kinds = {k for k, _ in zh}
    assert kinds == {"statement", "question", "number", "mixed", "polyphone"}
    assert any(re.search(r"\d", t) for k, t in zh if k == "number")
    assert all(re.search(r"[A-Za-z]", t) for k, t in zh if k == "mixed")
    assert all(t.endswith("？") for k, t in zh if k == "question")
    en = candidates("en", 400, 0)
    assert {k for k, _ in en} == {"statement", "question", "number", "homograph"}
    assert not any(re.search(r"[\u4e00-\u9fff]", t) for _, t in en)
    with pytest.raises(ConfigError):
        candidates("fr", 10, 0)


def test_greedy_selection_covers_more_than_the_first_candidates():
    cfg = TextConfig(n_sentences=40, window=4)
    chosen = generate("zh", 0, cfg, units_of=cheap_units)
    first = [t for _, t in candidates("zh", 40, 0)]
    cover = lambda texts: len({u for t in texts for u in cheap_units(t, "zh")})  # noqa: E731
    assert cover([s.text for s in chosen]) > cover(first)


def test_frontend_gives_spoken_form_and_reading_units():
    fe = Frontend()
    a = fe.analyze("我今天用Python写了3个小程序，银行很长。", "zh")
    assert "三" in a.normalized and "3" not in a.normalized
    assert a.units[:4] == ["wo3", "jin1", "tian1", "yong4"]
    assert "P" in a.units and "hang2" in a.units and "," in a.units
    assert a.syllables[-4:] == ["yin2", "hang2", "hen3", "chang2"]
    e = fe.analyze("The train leaves at 9:05.", "en")
    assert "nine" in e.normalized and e.syllables == [] and e.units[-1] == "."
    with pytest.raises(TextError):
        fe.analyze("hello", "fr")


def test_runs_split_code_switched_text():
    assert runs("我刚买了一台新的Apple Watch。你会用Excel表格吗？") == [
        ("zh", "我刚买了一台新的"),
        ("en", "Apple Watch"),
        ("zh", "。你会用"),
        ("en", "Excel"),
        ("zh", "表格吗？"),
    ]
    assert runs("全是中文。") == [("zh", "全是中文。")]
