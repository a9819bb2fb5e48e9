"""Normaliser: the case list, number verbalisers, language context, atoms, robustness."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from voxsmith.errors import TextError
from voxsmith.text import numbers_en as en
from voxsmith.text import numbers_zh as zh
from voxsmith.text.normalize import Normalizer, NormalizerConfig, text_language

CASES = Path(__file__).parent / "data" / "normalize_cases.tsv"


def _cases():
    rows = []
    for line in CASES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            cols = line.split("\t")
            rows.append((cols[0], cols[1], cols[2] if len(cols) > 2 and cols[2] else None))
    return rows


def test_case_list_is_substantial():
    assert len(_cases()) >= 80


@pytest.mark.parametrize("text, expected, lang", _cases())
def test_normalize_cases(text, expected, lang):
    assert Normalizer().normalize(text, lang).text == expected


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "零"),
        (10, "十"),
        (15, "十五"),
        (20, "二十"),
        (110, "一百一十"),
        (200, "两百"),
        (1001, "一千零一"),
        (1010, "一千零一十"),
        (2222, "两千两百二十二"),
        (10000, "一万"),
        (20000, "两万"),
        (120000, "十二万"),
        (100010, "十万零一十"),
        (100100, "十万零一百"),
        (1000000, "一百万"),
        (100000001, "一亿零一"),
        (-7, "负七"),
    ],
)
def test_zh_cardinal(n, words):
    assert zh.cardinal(n) == words


def test_zh_helpers():
    assert zh.cardinal(200, liang=False) == "二百"
    assert zh.decimal("-0.05") == "负零点零五"
    assert zh.digits("13579", one="幺") == "幺三五七九"
    assert zh.fraction("3", "4") == "四分之三"
    assert zh.percent("-2.5") == "负百分之二点五"


@pytest.mark.parametrize(
    "n, words",
    [
        (0, "zero"),
        (13, "thirteen"),
        (40, "forty"),
        (101, "one hundred one"),
        (1234, "one thousand two hundred thirty four"),
        (2000000, "two million"),
    ],
)
def test_en_cardinal(n, words):
    assert en.cardinal(n) == words


def test_en_helpers():
    assert en.cardinal(404, hundred_and=True) == "four hundred and four"
    assert [en.ordinal(k) for k in (1, 2, 3, 5, 12, 20, 21, 100)] == [
        "first",
        "second",
        "third",
        "fifth",
        "twelfth",
        "twentieth",
        "twenty first",
        "one hundredth",
    ]
    assert [en.year(y) for y in (1999, 2000, 2008, 2025, 1905, 1900)] == [
        "nineteen ninety nine",
        "two thousand",
        "two thousand eight",
        "twenty twenty five",
        "nineteen oh five",
        "nineteen hundred",
    ]
    assert en.fraction(1, 2) == "one half" and en.fraction(2, 3) == "two thirds"
    assert en.fraction(7, 33) == "seven over thirty three"
    assert en.decimal("2.0", zero="oh") == "two point oh"


def test_language_by_clause():
    n = Normalizer()
    assert (
        n.normalize("我买了iPhone 15，it costs 999 dollars").text
        == "我买了iPhone 十五，it costs nine hundred ninety nine dollars"
    )
    assert (
        text_language("hello 你好") == "zh"
        and text_language("hello") == "en"
        and text_language("123") == "zh"
    )
    with pytest.raises(TextError, match="unknown language"):
        n.normalize("1", lang="fr")


def test_atoms_cover_each_expansion():
    out = Normalizer().normalize("我有123个苹果和3.5元")
    pieces = [out.text[a:b] for a, b in out.atoms]
    assert pieces == ["一百二十三", "三点五"]


def test_line_breaks_end_sentences():
    assert Normalizer().normalize("第一行\n第二行\n\nlast line\nend").text == "第一行。第二行。last line. end"


def test_official_config_differs_where_documented():
    official = Normalizer(NormalizerConfig.official())
    assert official.normalize("第2名，点赞3000+，效果666").text == "第两名，点赞三千加，效果六六六"
    assert official.normalize("I paid $15.99 for 2.0", lang="en").text == (
        "I paid fifteen point nine nine dollars for two point oh"
    )


def test_no_digit_survives_random_input():
    rng = random.Random(0)
    alphabet = list("0123456789.,:-/+%$¥℃kmgAPM年月日第个ab ，。@&=~") + ["km", "1st", "...", "Sep. "]
    n = Normalizer()
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
        out = n.normalize(text).text
        assert not re.search(r"\d", out), (text, out)
