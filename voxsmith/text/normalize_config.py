"""Normaliser configuration (reading choices) and the context every rule handler receives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NormalizerConfig:
    """Reading choices of the normaliser. ``official()`` mimics the official IndexTTS normaliser."""

    liang: bool = True  # read 2 as 两 before classifiers (两个) and in 两百/两千/两万
    liang_after_di: bool = False  # also after 第 (第两名): an official quirk, wrong in standard Chinese
    hundred_and: bool = False  # English "four hundred and four" instead of "four hundred four"
    abbreviations: bool = True  # expand English abbreviations (Dr. -> Doctor, No. 5 -> number 5)
    phone_group_sep: str = " "  # between digit groups of a phone number
    digit_keywords: bool = True  # numbers after 电话/号码/room/flight... read digit by digit
    glued_one: str = "一"  # how 1 is read in digit strings glued to letters (test123); official 幺
    bare_codes_as_digits: bool = False  # 3+ digit bare numbers ending a clause read as digits (666)
    plus_zh: str = "多"  # 3000+ -> 三千多 (official 三千加)
    letter_units: bool = True  # 3.2g -> 三点二克 (official keeps single-letter units as letters)
    zero_padded_dates_as_digits: bool = False  # 01月 -> 零一月 (official) instead of 一月
    email_words: bool = True  # read @ and . of e-mail addresses as "at"/"dot"
    en_point_zero: str = "zero"  # the 0 digit after a decimal point ("two point oh" officially)
    en_money_cents: bool = True  # $15.99 -> fifteen dollars and ninety nine cents (else "point")
    en_date_of: bool = False  # "the eighth of september , ..." (official) instead of "September eighth, ..."
    ampm_spelled: bool = True  # "A M" (spoken letters) instead of keeping "AM"
    expand_is_contractions: bool = False  # it's -> it is, who's -> who is (the official rewrite)

    @classmethod
    def official(cls) -> NormalizerConfig:
        """Reading choices of the official normaliser (WeTextProcessing as IndexTTS-2 calls it)."""
        return cls(
            liang_after_di=True,
            hundred_and=True,
            phone_group_sep="",
            digit_keywords=False,
            glued_one="幺",
            bare_codes_as_digits=True,
            plus_zh="加",
            letter_units=False,
            zero_padded_dates_as_digits=True,
            email_words=False,
            en_point_zero="oh",
            en_money_cents=False,
            en_date_of=True,
            ampm_spelled=False,
            expand_is_contractions=True,
        )


@dataclass(frozen=True)
class Ctx:
    """Where a match sits: the whole working text, the language it is read in, the config."""

    text: str
    lang: str  # "zh" or "en"
    config: NormalizerConfig = NormalizerConfig()

    @property
    def liang(self) -> bool:
        return self.config.liang

    @property
    def hundred_and(self) -> bool:
        return self.config.hundred_and
