"""Chinese G2P (polyphones) and English G2P (dictionary, acronyms, espeak-ng, letter rules)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from voxsmith.text import g2p_en
from voxsmith.text.g2p_en import EnglishG2P, ipa_to_arpabet, letter_rules, spell
from voxsmith.text.g2p_zh import ChineseG2P, is_polyphone, polyphone_alternatives
from voxsmith.text.lexicon import load_lexicon

POLYPHONES = Path(__file__).parent / "data" / "polyphones.tsv"


def _rows():
    rows = []
    for line in POLYPHONES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sentence, pos, char, reading = line.split("\t")
            rows.append((sentence, int(pos), char, reading))
    return rows


def test_polyphone_set_is_well_formed():
    rows = _rows()
    assert len(rows) >= 120
    assert len({r[2] for r in rows}) >= 40
    for sentence, pos, char, reading in rows:
        assert sentence[pos] == char, sentence
        assert reading in polyphone_alternatives(char), (char, reading)


def test_polyphone_accuracy_beats_pypinyin_and_reaches_97_percent():
    from pypinyin import Style, lazy_pinyin

    g2p = ChineseG2P()
    rows = _rows()
    ours = sum(g2p.convert(s)[p] == r for s, p, _, r in rows)
    base = sum(
        lazy_pinyin(s, style=Style.TONE3, neutral_tone_with_five=True, errors=lambda x: list(x))[p] == r
        for s, p, _, r in rows
    )
    assert ours >= 0.97 * len(rows), f"{ours}/{len(rows)}"
    assert ours > base


def test_readings_per_character_and_lexical_tones():
    out = ChineseG2P().convert("一个人不去，Hi 行长")
    assert out[:5] == ["yi1", "ge4", "ren2", "bu4", "qu4"]  # no 一/不 sandhi
    assert out[5:9] == [None, None, None, None]
    assert out[9:] == ["hang2", "zhang3"]


def test_phrase_neutral_tones():
    assert ChineseG2P().convert("我们商量一下")[2:4] == ["shang1", "liang5"]


def test_phrase_table_overrides_the_dictionary():
    # pypinyin's phrase dictionary has 麻将 ma2 jiang1; the standard reading is má jiàng
    assert ChineseG2P().convert("打麻将的时候")[1:3] == ["ma2", "jiang4"]


def test_segmentation_uses_word_frequencies():
    lex = load_lexicon()
    assert lex.segment("我们要认真地学习") == ["我们", "要", "认真", "地", "学习"]
    assert ChineseG2P().words("银行, 长大") == ["银行", ",", " ", "长大"]


def test_polyphone_alternatives():
    assert polyphone_alternatives("行") == ["xing2", "hang2"]
    assert is_polyphone("长") and not is_polyphone("我")
    assert "tuo2" not in polyphone_alternatives("他")  # archaic readings left out
    assert polyphone_alternatives("A") == []


def test_english_dictionary_and_acronyms():
    g = EnglishG2P()
    got = dict(g.convert("Hello SSD IndexTTS NASA iPhone it's"))
    assert got["Hello"] == ["HH", "AH0", "L", "OW1"]
    assert got["SSD"] == spell("SSD") == ["EH1", "S", "EH1", "S", "D", "IY1"]
    assert got["IndexTTS"][:6] == ["IH1", "N", "D", "EH0", "K", "S"] and got["IndexTTS"][6:] == spell("TTS")
    assert got["NASA"] == ["N", "AE1", "S", "AH0"]
    assert got["it's"] == ["IH1", "T", "S"]


def test_ipa_mapping_and_letter_rules():
    assert ipa_to_arpabet("həlˈoʊ") == ["HH", "AH0", "L", "OW1"]
    assert ipa_to_arpabet("ɡlɪmˈɪɹiə") == ["G", "L", "IH0", "M", "IH1", "R", "IY0", "AH0"]
    phones = letter_rules("glimmeria")
    assert phones[:4] == ["G", "L", "IH1", "M"] and all(
        p in g2p_en.CONSONANTS or p[:-1] in g2p_en.VOWELS for p in phones
    )


def test_unknown_words_without_espeak_use_letter_rules(monkeypatch):
    monkeypatch.setattr(g2p_en.shutil, "which", lambda name: None)
    assert dict(EnglishG2P().convert("zorblax"))["zorblax"] == letter_rules("zorblax")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is optional (apt package)")
def test_unknown_words_with_espeak():
    phones = dict(EnglishG2P().convert("bloomixy glimmeria"))
    assert phones["bloomixy"][:3] == ["B", "L", "UW1"]
    assert phones["glimmeria"] == ["G", "L", "IH0", "M", "IH1", "R", "IY0", "AH0"]


def test_cache_builds_once_and_survives_a_read_only_directory(tmp_path, monkeypatch):
    from voxsmith.text.cache import cached_text

    monkeypatch.setenv("VOXSMITH_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    def build():
        calls.append(1)
        return "table"

    assert cached_text("t.txt", build) == "table" and cached_text("t.txt", build) == "table"
    assert len(calls) == 1 and (tmp_path / "cache" / "t.txt").read_text() == "table"
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("VOXSMITH_CACHE_DIR", str(blocker / "sub"))  # cannot be created
    assert cached_text("t.txt", build) == "table" and len(calls) == 2


def test_pinyin_tables_match_pypinyin():
    from pypinyin import Style, lazy_pinyin

    from voxsmith.text.pinyin_tables import pinyin_tables

    tables = pinyin_tables()
    assert tables.char_readings("行")[:2] == ("xing2", "hang2")
    assert tables.phrase("银行") == ("yin2", "hang2") and tables.phrase("一个") == ("yi1", "ge4")
    for word in ("重庆", "音乐", "长城", "朝阳"):
        assert list(tables.phrase(word)) == lazy_pinyin(word, style=Style.TONE3, neutral_tone_with_five=True)
