"""TextFrontend: the result contract, controls end to end, errors, the polyphone check."""

from __future__ import annotations

import random

import pytest

from voxsmith.errors import TextError
from voxsmith.text.frontend import TextFrontend
from voxsmith.text.glossary import Glossary


@pytest.fixture(scope="module")
def fe():
    return TextFrontend()


def test_result_contract(fe):
    d = fe.process("他在银HANG2工作，2025年3月1日出发。").to_dict()
    assert d["normalized"] == "他在银HANG2工作，二零二五年三月一日出发。"
    assert d["segments"] == [d["normalized"]]
    assert d["syllables"][:4] == [
        {"text": "他", "pinyin": "ta1"},
        {"text": "在", "pinyin": "zai4"},
        {"text": "银", "pinyin": "yin2"},
        {"text": "HANG2", "pinyin": "hang2"},
    ]
    assert len(d["syllables"]) == 17  # every Chinese syllable, in order
    assert all(isinstance(t, int) for t in d["tokens"]) and d["tokens"] == d["segment_tokens"][0]
    assert d["phones"][0][:5] == ["<zh>", "t", "a1", "z", "ai4"]
    assert d["lang"] == "zh"


def test_annotation_keeps_the_character_and_fixes_the_reading(fe):
    r = fe.process("‹长|zhang3›大以后，‹行|hang2›业")
    assert r.normalized == "长大以后，行业"
    assert [(s.text, s.pinyin) for s in r.syllables][0] == ("长", "zhang3")
    assert r.syllables[-2].pinyin == "hang2"
    assert "HANG2" in r.segments[0].bpe_text and "ZHANG3" in r.segments[0].bpe_text


def test_official_pinyin_spelling_in_bpe_text(fe):
    r = fe.process("晕XUAN4是一种感觉")
    assert r.syllables[1].text == "XUAN4" and r.syllables[1].pinyin == "xuan4"
    assert r.segments[0].bpe_text.startswith("晕XVAN4是")


def test_mixed_chinese_english(fe):
    r = fe.process("我用iPhone 15拍了3张照片. Hello world!")
    assert r.normalized == "我用iPhone 十五拍了三张照片. Hello world!"
    phones = [p for seg in r.segments for p in seg.phones]
    assert "<en>" in phones and "<zh>" in phones and "_" in phones
    assert [s.text for s in r.syllables] == list("我用十五拍了三张照片")


def test_glossary_applies_before_g2p(tmp_path):
    path = tmp_path / "terms.tsv"
    path.write_text("重庆\tchong2 qing4\nC++\tC plus plus\n", encoding="utf-8")
    fe = TextFrontend(glossary=Glossary.load(path))
    r = fe.process("我在重庆写C++")
    assert [s.pinyin for s in r.syllables[2:4]] == ["chong2", "qing4"]
    assert r.normalized == "我在重庆写C plus plus"


@pytest.mark.parametrize("text", ["", "   \n\t", "。。。！", "……", "---"])
def test_nothing_speakable_is_an_error(fe, text):
    with pytest.raises(TextError):
        fe.process(text)


def test_invalid_pinyin_reported_with_position(fe):
    with pytest.raises(TextError, match=r"'xing7' at character 4"):
        fe.process("他在银行xing7工作")


def test_check_lists_polyphones_with_alternatives(fe):
    reports = {r.index: r for r in fe.check("他长得很高，头发很长，‹行|hang2›业")}
    assert reports[1].char == "长" and reports[1].chosen == "zhang3" and "chang2" in reports[1].alternatives
    assert reports[9].chosen == "chang2"
    assert reports[11].char == "行" and reports[11].locked and reports[11].chosen == "hang2"


def test_random_text_never_crashes(fe):
    rng = random.Random(0)
    alphabet = list("他在银行工作长得很高ab Z 1234567890.,，。！?%$℃-:/") + ["hang2", "‹行|hang2›", "AM"]
    for _ in range(200):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 15)))
        try:
            r = fe.process(text)
        except TextError:
            continue
        assert r.tokens and all(0 <= t < fe.tokenizer.vocab_size for t in r.tokens)
