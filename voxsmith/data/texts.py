"""Deterministic, phonetically rich sentence generator for Chinese and English.

Sources: the templates and word lists in ``texts_zh.py`` and ``texts_en.py``, written by hand
for voxsmith (everyday vocabulary, polyphone and homograph sentences, numbers, questions,
Mandarin sentences with embedded English words). Nothing is downloaded.

Generation: template slots are filled from the word lists (and random numbers) with a seeded
``numpy`` generator into a candidate pool; sentences are then picked greedily for phonetic
coverage: from each window of ``window`` candidates the one that adds the most pronunciation
units not yet covered (toned pinyin syllables, initials and finals for zh; ARPAbet phones and
phone pairs for en) is kept. The same seed always gives the same sentences in the same order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from voxsmith.data import texts_en, texts_zh
from voxsmith.errors import ConfigError

KINDS_ZH = {"statement": 0.42, "question": 0.22, "number": 0.18, "mixed": 0.10, "polyphone": 0.08}
KINDS_EN = {"statement": 0.45, "question": 0.25, "number": 0.20, "homograph": 0.10}
_DETERMINERS = {"The", "A", "An", "My", "Our", "Your", "Her", "His", "They", "We", "You", "Jacob's"}


@dataclass(frozen=True)
class Sentence:
    """One sentence of the pool."""

    id: str  # "zh-0042": language and position in the pool
    lang: str  # "zh" or "en" (mixed sentences are "zh": Mandarin is the matrix language)
    text: str  # written form (digits, symbols, Latin words as written)
    kind: str  # statement | question | number | polyphone | mixed | homograph


@dataclass(frozen=True)
class TextConfig:
    """Size of the sentence pool of one language."""

    n_sentences: int = 2400  # sentences kept per language
    window: int = 4  # candidates drawn and compared for each kept sentence


def _number_slots(rng: np.random.Generator, lang: str) -> dict[str, str]:
    r = rng.integers
    hour = int(r(1, 12)) if lang == "en" else int(r(6, 23))
    price = f"{int(r(5, 999))}" if r(2) else f"{int(r(5, 300))}.{int(r(1, 10))}"
    ordinals = ("first", "2nd", "3rd", "4th", "5th", "11th", "12th", "21st", "22nd", "33rd")
    return {
        "year": str(int(r(1950, 2031))),
        "year2": str(int(r(1990, 2031))),
        "month": str(int(r(1, 13))),
        "month_name": texts_en.MONTHS[int(r(12))],
        "day": str(int(r(1, 29))),
        "hour": str(hour),
        "hour_am": str(int(r(7, 12))),
        "minute": f"{int(r(0, 12)) * 5:02d}" if lang == "en" else str(int(r(1, 12)) * 5),
        "price": price,
        "dollars": str(int(r(5, 500))),
        "cents": f"{int(r(0, 100)):02d}",
        "temp": str(int(r(-5, 39))),
        "small": str(int(r(2, 10))),
        "pct": str(int(r(2, 90))) if r(3) else f"{int(r(1, 30))}.5",
        "dist": f"{int(r(2, 30))}.{int(r(1, 10))}" if r(2) else str(int(r(2, 43))),
        "area": str(int(r(18, 260))),
        "count": str(int(r(15, 61))),
        "pages": str(int(r(80, 900))),
        "height": f"1.{int(r(50, 95))}",
        "weight": str(int(r(40, 95))),
        "weekday": texts_zh.WEEKDAYS[int(r(7))],
        "phone": (
            f"1{int(r(30, 90))}{int(r(0, 10**8)):08d}" if lang == "zh" else f"555-{int(r(100, 10000)):04d}"
        ),
        "ordinal": ordinals[int(r(len(ordinals)))],
    }


def _fill(template: str, slots: dict[str, tuple[str, ...]], rng: np.random.Generator, lang: str) -> str:
    values = _number_slots(rng, lang)
    for name, words in slots.items():
        first = words[int(rng.integers(len(words)))]
        values[name] = first
        others = [w for w in words if w != first]
        values[name + "2"] = others[int(rng.integers(len(others)))] if others else first
    person = values.get("person", "")
    head = person.split(" ")[0] if person else ""
    lower = head in _DETERMINERS and head not in ("I",)
    values["person_l"] = person[:1].lower() + person[1:] if lower else person
    someone = values.get("someone", "")
    values["someone_c"] = someone[:1].upper() + someone[1:]
    return template.format(**values)


def _kind_sources(lang: str) -> dict[str, tuple[tuple[str, ...], bool]]:
    """kind -> (templates or fixed sentences, whether they are templates)."""
    if lang == "zh":
        z = texts_zh
        return {
            "statement": (z.STATEMENTS, True),
            "question": (z.QUESTIONS, True),
            "number": (z.NUMBERS, True),
            "mixed": (z.MIXED, True),
            "polyphone": (z.POLYPHONES, False),
        }
    e = texts_en
    return {
        "statement": (e.STATEMENTS, True),
        "question": (e.QUESTIONS, True),
        "number": (e.NUMBERS, True),
        "homograph": (e.HOMOGRAPHS, False),
    }


def candidates(lang: str, n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` distinct ``(kind, text)`` candidates drawn from the templates in seeded order."""
    if lang not in ("zh", "en"):
        raise ConfigError(f"unknown language {lang!r}: the text generator knows 'zh' and 'en'")
    rng = np.random.default_rng([seed, 0 if lang == "zh" else 1])
    shares = KINDS_ZH if lang == "zh" else KINDS_EN
    sources = _kind_sources(lang)
    slots = texts_zh.SLOTS if lang == "zh" else texts_en.SLOTS
    kinds = list(shares)
    probs = np.array([shares[k] for k in kinds])
    probs = probs / probs.sum()
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    fixed_left = {k: list(src) for k, (src, is_tpl) in sources.items() if not is_tpl}
    attempts = 0
    while len(out) < n and attempts < n * 20:
        attempts += 1
        kind = kinds[int(rng.choice(len(kinds), p=probs))]
        items, is_template = sources[kind]
        if is_template:
            text = _fill(items[int(rng.integers(len(items)))], slots, rng, lang)
        elif fixed_left[kind]:
            text = fixed_left[kind].pop(int(rng.integers(len(fixed_left[kind]))))
        else:
            continue
        if text not in seen:
            seen.add(text)
            out.append((kind, text))
    return out


def generate(
    lang: str,
    seed: int,
    cfg: TextConfig = TextConfig(),
    units_of: Callable[[str, str], list[str]] | None = None,
) -> list[Sentence]:
    """The sentence pool of one language: ``cfg.n_sentences`` sentences, phonetically greedy.

    ``units_of(text, lang)`` gives the pronunciation units used for coverage (default: the
    corpus frontend's units plus unit pairs); pass a cheap function in tests.
    """
    if units_of is None:
        from voxsmith.data.frontend import Frontend

        fe = Frontend()

        def units_of(text: str, lg: str) -> list[str]:
            u = [x for x in fe.analyze(text, lg).units if x != "sp"]
            return u + [a + "_" + b for a, b in zip(u, u[1:], strict=False)]

    pool = candidates(lang, cfg.n_sentences * cfg.window, seed)
    covered: set[str] = set()
    kept: list[Sentence] = []
    for start in range(0, len(pool), cfg.window):
        if len(kept) >= cfg.n_sentences:
            break
        window = pool[start : start + cfg.window]
        scored = []
        for kind, text in window:
            units = set(units_of(text, lang))
            # Fixed sentences (polyphones, homographs) are always kept: they are the point.
            bonus = 1000 if kind in ("polyphone", "homograph") else 0
            scored.append((len(units - covered) + bonus, kind, text, units))
        best = max(scored, key=lambda s: s[0])
        covered |= best[3]
        kept.append(Sentence(f"{lang}-{len(kept):04d}", lang, best[2], best[1]))
        for s in scored:  # fixed sentences that lost a window are kept too
            if s is not best and s[0] >= 1000 and len(kept) < cfg.n_sentences:
                covered |= s[3]
                kept.append(Sentence(f"{lang}-{len(kept):04d}", lang, s[2], s[1]))
    return kept
