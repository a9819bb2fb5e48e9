"""Pinyin syllables, inline pinyin, ‹字|pin1› annotations and the glossary."""

from __future__ import annotations

import pytest

from voxsmith.errors import TextError
from voxsmith.text.controls import parse_controls
from voxsmith.text.glossary import Glossary
from voxsmith.text.pinyin import (
    FINALS,
    INITIALS,
    canonical_toneless,
    is_valid_toned,
    parse_toned,
    split_syllable,
    valid_syllables,
)


def test_inventory_covers_every_pypinyin_reading():
    from pypinyin.constants import PINYIN_DICT
    from pypinyin.contrib.tone_convert import to_normal

    inventory = valid_syllables()
    assert 400 < len(inventory) < 450
    missing = {
        to_normal(p, v_to_u=False)
        for v in PINYIN_DICT.values()
        for p in v.split(",")
        if to_normal(p, v_to_u=False) not in inventory
    }
    assert missing <= {"ê"}  # written "ea" in voxsmith's ASCII inventory


@pytest.mark.parametrize(
    "raw, canonical",
    [
        ("hang2", "hang2"),
        ("HANG2", "hang2"),
        ("XVAN4", "xuan4"),
        ("jve2", "jue2"),
        ("lv4", "lv4"),
        ("lü4", "lv4"),
        ("nue4", "nve4"),
        ("yv2", "yu2"),
        ("shang5", "shang5"),
        ("er2", "er2"),
    ],
)
def test_parse_toned_canonicalises(raw, canonical):
    assert parse_toned(raw) == canonical


@pytest.mark.parametrize("raw, needle", [("xing7", "tone must be 1-5"), ("qzz2", "not a Mandarin syllable")])
def test_parse_toned_errors_name_syllable_and_position(raw, needle):
    with pytest.raises(TextError) as err:
        parse_toned(raw, 5)
    assert raw in str(err.value) and "character 5" in str(err.value) and needle in str(err.value)


def test_validity():
    assert is_valid_toned("zhuang1") and is_valid_toned("NG2")
    assert not is_valid_toned("zhuang6") and not is_valid_toned("bla3") and not is_valid_toned("hang")
    assert canonical_toneless("qzz") is None


@pytest.mark.parametrize(
    "toned, parts",
    [
        ("zhang3", ("zh", "ang3")),
        ("yuan2", ("", "van2")),
        ("xu1", ("x", "v1")),
        ("jun4", ("j", "vn4")),
        ("shi4", ("sh", "iii4")),
        ("zi3", ("z", "ii3")),
        ("liu2", ("l", "iou2")),
        ("gui4", ("g", "uei4")),
        ("lun2", ("l", "uen2")),
        ("wo3", ("", "uo3")),
        ("er2", ("", "er2")),
        ("lv4", ("l", "v4")),
        ("hng5", ("h", "ng5")),
    ],
)
def test_split_syllable(toned, parts):
    assert split_syllable(toned) == parts


def test_every_syllable_splits_into_the_phone_inventory():
    for syl in valid_syllables():
        ini, fin = split_syllable(syl + "1")
        assert ini in INITIALS + ("",), syl
        assert fin[:-1] in FINALS, (syl, fin)


def _locks(text, glossary=None):
    ctrl = parse_controls(text, glossary)
    return ctrl, [(lk.display, lk.readings, lk.chars) for lk in ctrl.locks]


def test_inline_pinyin_upper_and_lower_case():
    ctrl, locks = _locks("他在银HANG2工作，不要chong2蹈覆辙")
    assert locks == [("HANG2", ("hang2",), ""), ("chong2", ("chong2",), "")]
    assert ctrl.expand() == "他在银HANG2工作，不要chong2蹈覆辙"
    assert "HANG2" not in ctrl.text  # replaced by a placeholder for the normaliser


def test_inline_pinyin_v_for_u_and_sequences():
    _, locks = _locks("晕XVAN4是，绿lv4色，去yin2hang2办事")
    assert locks[0][1] == ("xuan4",) and locks[1][1] == ("lv4",) and locks[2][1] == ("yin2", "hang2")


@pytest.mark.parametrize(
    "text",
    ["用beta1测试", "我下载了MP3文件", "CosyVoice2很好", "一张A4纸", "这是5G网络", "Python 3很流行"],
)
def test_letter_digit_tokens_that_are_not_pinyin(text):
    _, locks = _locks(text)
    assert locks == []


@pytest.mark.parametrize(
    "text, bad, pos", [("他在银xing7工作", "xing7", 3), ("qzz2好", "qzz2", 0), ("好的qzz2", "qzz2", 2)]
)
def test_invalid_inline_pinyin_is_an_error_with_position(text, bad, pos):
    with pytest.raises(TextError) as err:
        parse_controls(text)
    assert bad in str(err.value) and f"character {pos}" in str(err.value)


def test_english_text_has_no_inline_pinyin():
    _, locks = _locks("hang2 on a second, version beta2")
    assert locks == []


def test_annotation_single_and_multi_character():
    ctrl, locks = _locks("‹行|hang2›业和‹银行|yin2 HANG2›")
    assert locks == [("行", ("hang2",), "行"), ("银行", ("yin2", "hang2"), "银行")]
    assert ctrl.expand() == "行业和银行"


@pytest.mark.parametrize(
    "text, needle",
    [
        ("‹行|hang7›", "hang7"),
        ("‹银行|yin2›", "2 characters but 1 syllables"),
        ("‹abc|hang2›", "Chinese characters"),
        ("好‹行", "unmatched"),
    ],
)
def test_annotation_errors(text, needle):
    with pytest.raises(TextError, match=needle):
        parse_controls(text)


def test_glossary_tsv_pinyin_and_spoken_forms(tmp_path):
    path = tmp_path / "g.tsv"
    path.write_text("# comment\n重庆\tchong2 qing4\nC++\tC plus plus\nAI\tA I\n", encoding="utf-8")
    glossary = Glossary.load(path)
    ctrl, locks = _locks("我在重庆学C++和AI，MAIL不变", glossary)
    assert locks == [("重庆", ("chong2", "qing4"), "重庆")]
    assert "C plus plus" in ctrl.text and "A I" in ctrl.text and "MAIL" in ctrl.text


def test_glossary_yaml_official_format(tmp_path):
    path = tmp_path / "g.yaml"
    path.write_text(
        "M.2: {zh: M 二, en: M dot two}\nNVMe: N V M E\n宜家: {pinyin: yi2 jia1}\n", encoding="utf-8"
    )
    glossary = Glossary.load(path)
    zh = parse_controls("买一块M.2硬盘去宜家", glossary, "zh")
    assert "M 二" in zh.text and zh.locks[0].readings == ("yi2", "jia1")
    en = parse_controls("An M.2 NVMe drive", glossary, "en")
    assert en.text == "An M dot two N V M E drive"


def test_glossary_errors(tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("重庆\tchong2\n", encoding="utf-8")
    with pytest.raises(TextError, match="line 1"):
        Glossary.load(bad)
    with pytest.raises(TextError, match="not found"):
        Glossary.load(tmp_path / "missing.tsv")
    notab = tmp_path / "notab.tsv"
    notab.write_text("重庆 chong2 qing4\n", encoding="utf-8")
    with pytest.raises(TextError, match="term<TAB>reading"):
        Glossary.load(notab)
