"""ASR scoring: normalisation and CER/WER on hand-made strings (no model needed)."""

from __future__ import annotations

import pytest

from voxsmith.errors import ConfigError, EngineError, TextError
from voxsmith.eval.common import require
from voxsmith.eval.scoring import (
    ErrorCounts,
    cer,
    count_units,
    display_text,
    guess_lang,
    normalize_tokens,
    score_text,
    wer,
)


def test_cer_counts_each_edit_per_character():
    # one substitution (气 -> 汽) and one insertion (啊) over six reference characters
    counts = score_text("今天天气很好", "今天天汽很好啊", "zh")
    assert counts == ErrorCounts(substitutions=1, deletions=0, insertions=1, ref_len=6)
    assert cer("今天天气很好", "今天天汽很好啊") == pytest.approx(2 / 6)
    assert cer("今天天气很好", "今天很好") == pytest.approx(2 / 6)  # two deletions
    assert cer("今天天气很好", "") == 1.0


def test_cer_ignores_punctuation_spaces_and_traditional_script():
    assert cer("你好，世界！", "你 好 世 界") == 0.0
    assert cer("这个苹果很贵。", "這個蘋果很貴") == 0.0


def test_zh_numbers_are_read_out_on_both_sides():
    assert cer("我有3个苹果", "我有三个苹果") == 0.0
    assert cer("我在2024年出生", "我在二零二四年出生") == 0.0
    assert cer("涨了50%", "涨了百分之五十") == 0.0
    assert cer("我有3个苹果", "我有四个苹果") == pytest.approx(1 / 6)


def test_mixed_zh_en_counts_a_latin_word_as_one_unit():
    assert normalize_tokens("我用iPhone拍照", "zh") == ["我", "用", "iphone", "拍", "照"]
    assert cer("我用iPhone拍照", "我用 iphone 拍照。") == 0.0
    assert cer("我用iPhone拍照", "我用爱疯拍照") == pytest.approx(1 / 5 + 1 / 5)  # 1 sub + 1 ins


def test_wer_normalises_case_punctuation_and_numbers():
    assert wer("I have five apples.", "i have 5 apples") == 0.0
    assert wer("Twenty-two oranges, 3.5% more!", "22 oranges 3.5 percent more") == 0.0
    assert wer("It's the 1st time", "its the first time") == 0.0
    assert wer("the cat sat on the mat", "the cat sat on mat") == pytest.approx(1 / 6)
    assert wer("the cat sat", "a dog sat down") == pytest.approx(3 / 3)


def test_wer_spells_compounds_alike_on_both_sides():
    assert wer("near the river bank", "near the riverbank") == 0.0
    assert wer("she sells seashells", "she sells sea shells") == 0.0
    assert wer("a b", "ab c") == pytest.approx(1 / 2)  # only the extra word counts
    assert wer("the riverbank and the river", "the river bank and the river") == 0.0


def test_error_counts_add_up_for_corpus_rates():
    total = score_text("a b c d", "a x c d", "en") + score_text("e f", "e f g", "en")
    assert (total.edits, total.ref_len) == (2, 6)
    assert total.rate == pytest.approx(2 / 6)


def test_empty_reference_and_unknown_language_are_errors():
    with pytest.raises(TextError):
        wer("...", "hello")
    with pytest.raises(ConfigError, match="fr"):
        score_text("bonjour", "bonjour", "fr")


def test_display_text_is_simplified_without_punctuation():
    assert (
        display_text("我買了3.5個蘋果，花了50%的錢。Hello World!", "zh")
        == "我买了3.5个苹果花了50%的钱Hello World"
    )
    assert display_text("  Hello,  world. ", "en") == "Hello, world."


def test_speaking_units_and_language_guess():
    assert count_units("今天天气很好。", "zh") == 6
    assert count_units("我有3个", "zh") == 4
    assert count_units("The quick brown fox.", "en") == 4
    assert guess_lang("今天 OK") == "zh" and guess_lang("okay then") == "en"


def test_missing_package_names_what_to_install():
    with pytest.raises(EngineError, match="pip install voxsmith-no-such-judge"):
        require("voxsmith_no_such_judge_module", "voxsmith-no-such-judge", "a test judge")


def test_digits_in_a_transcript_are_read_as_the_frontend_wrote_the_reference():
    # the corpus reference was written by the frontend (years as pairs, times as times);
    # Whisper writes digits: both must land on the same words
    ref = "He was born in nineteen sixty nine and moved to Toronto in twenty twenty two."
    assert wer(ref, "He was born in 1969 and moved to Toronto in 2022.") == 0.0
    assert wer("The meeting starts at ten twenty.", "The meeting starts at 10:20.") == 0.0
    # a wrong number is still wrong
    assert wer(ref, "He was born in 1968 and moved to Toronto in 2022.") > 0.0
