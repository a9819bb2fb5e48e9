"""Numbers to English words: cardinals, ordinals, decimals, years, fractions, digit strings."""

from __future__ import annotations

ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first", "two": "second", "three": "third", "five": "fifth", "eight": "eighth",
    "nine": "ninth", "twelve": "twelfth",
}  # fmt: skip
_DENOMINATORS = {2: ("half", "halves"), 4: ("quarter", "quarters")}


def _below_thousand(n: int, hundred_and: bool) -> str:
    words = []
    if n >= 100:
        words += [ONES[n // 100], "hundred"]
        n %= 100
        if n and hundred_and:
            words.append("and")
    if n >= 20:
        words.append(TENS[n // 10])
        n %= 10
        if n:
            words.append(ONES[n])
    elif n or not words:
        words.append(ONES[n])
    return " ".join(words)


def cardinal(n: int, hundred_and: bool = False) -> str:
    """``1234 -> one thousand two hundred thirty four`` (``hundred_and`` adds British "and")."""
    if n < 0:
        return "minus " + cardinal(-n, hundred_and)
    if n >= 10**15:
        return digits(str(n))
    words = []
    for value, name in _SCALES:
        if n >= value:
            words += [_below_thousand(n // value, hundred_and), name]
            n %= value
    if n or not words:
        if words and hundred_and and n < 100:
            words.append("and")
        words.append(_below_thousand(n, hundred_and))
    return " ".join(words)


def ordinal(n: int) -> str:
    """``21 -> twenty first``, ``100 -> one hundredth``."""
    words = cardinal(n).split()
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


def digits(s: str, zero: str = "zero") -> str:
    """Each digit as a word: ``"404" -> four zero four``."""
    return " ".join(zero if c == "0" else ONES[int(c)] for c in s if c.isdigit())


def decimal(s: str, zero: str = "zero", hundred_and: bool = False) -> str:
    """``"3.14" -> three point one four``, ``"-0.5" -> minus zero point five``."""
    s = s.replace(",", "")
    sign = "minus " if s.startswith("-") else ""
    whole, _, frac = s.lstrip("+-").partition(".")
    word = cardinal(int(whole or "0"), hundred_and)
    return sign + word + (" point " + digits(frac, zero) if frac else "")


def year(n: int) -> str:
    """Years as spoken: 1999 nineteen ninety nine, 2000 two thousand, 2008 two thousand eight,
    2025 twenty twenty five, 1905 nineteen oh five, 1900 nineteen hundred."""
    if n < 1000 or n >= 10000 or 2000 <= n <= 2009:
        return cardinal(n)
    high, low = divmod(n, 100)
    if low == 0:
        return cardinal(high) + " hundred"
    return cardinal(high) + (" oh " + ONES[low] if low < 10 else " " + cardinal(low))


def fraction(num: int, den: int) -> str:
    """``1/2 -> one half``, ``3/4 -> three quarters``, ``2/3 -> two thirds``, ``7/100 -> seven over one hundred``."""
    if den in _DENOMINATORS:
        one, many = _DENOMINATORS[den]
        return f"{cardinal(num)} {one if num == 1 else many}"
    if 3 <= den <= 20 or den in (100, 1000):
        word = ordinal(den)
        return f"{cardinal(num)} {word if num == 1 else word + 's'}"
    return f"{cardinal(num)} over {cardinal(den)}"
