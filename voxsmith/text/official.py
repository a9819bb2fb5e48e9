"""Official text mode: what IndexTTS-2's ``TextNormalizer`` + ``TextTokenizer`` feed its BPE model.

The official pipeline (indextts/utils/front.py, as described by its fixture outputs) is:

1. pick the Chinese or English normaliser (``use_chinese``: any Chinese, or no Latin letters,
   or a bare e-mail address, or a toned pinyin syllable);
2. ``(what|where|who|...)'s`` -> ``... is``;
3. Chinese: toned pinyin is protected, WeTextProcessing's Chinese normaliser runs, pinyin is
   restored (j/q/x + u written ``v`` and upper-cased: ``XUAN4`` -> ``XVAN4``); English:
   WeTextProcessing's English normaliser;
4. punctuation mapped to a small ASCII set (``，`` -> ``,``, ``“`` -> ``'``, ``……`` -> ``…``);
5. pre-tokenisation: CJK characters spaced, everything upper-cased.

voxsmith reproduces steps 2-3 with its own rule-based normaliser in the official reading style
(``NormalizerConfig.official()``) instead of WeTextProcessing (pynini, ~38 s to build); steps 1,
4 and 5 are reimplemented exactly. ``benchmarks/official_text.py`` and the tests report
which fixture sentences still differ and why.
"""

from __future__ import annotations

import re
from functools import lru_cache

from voxsmith.text.chars import placeholder, placeholder_index

# Official punctuation map (both languages); the Chinese path also maps "$" to ".".
PUNCTUATION = {
    "：": ",", "；": ",", ";": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": " ", "·": "-",
    "、": ",", "...": "…", ",,,": "…", "，，，": "…", "……": "…", "“": "'", "”": "'", '"': "'",
    "‘": "'", "’": "'", "（": "'", "）": "'", "(": "'", ")": "'", "《": "'", "》": "'", "【": "'",
    "】": "'", "[": "'", "]": "'", "—": "-", "～": "-", "~": "-", "「": "'", "」": "'", ":": ",",
}  # fmt: skip
# The official pre-tokeniser's CJK ranges (Hangul Jamo, CJK symbols..Yi, Hangul, compatibility
# ideographs, vertical forms, half-width forms, supplementary ideographic plane).
CJK_RANGES = (
    "\u1100-\u11ff\u2e80-\ua4cf\ua840-\ud7af\uf900-\ufaff\ufe30-\ufe4f\uff65-\uffdc\U00020000-\U0002ffff"
)
PINYIN_TONE_RE = re.compile(
    r"(?<![a-z])((?:[bpmfdtnlgkhjqxzcsryw]|[zcs]h)?(?:[aeiouüv]|[ae]i|u[aio]|ao|ou|i[aue]|[uüv]e|[uvü]ang?"
    r"|uai|[aeiuv]n|[aeio]ng|ia[no]|i[ao]ng)|ng|er)([1-5])",
    re.IGNORECASE,
)
_EMAIL_RE = re.compile(r"^[a-zA-Z0-9]+@[a-zA-Z0-9]+\.[a-zA-Z]+$")


@lru_cache(maxsize=2)
def _punct_re(zh: bool) -> re.Pattern[str]:
    keys = sorted(PUNCTUATION, key=len, reverse=True) + (["$"] if zh else [])
    return re.compile("|".join(re.escape(k) for k in keys))


def map_punctuation(text: str, zh: bool = False) -> str:
    """The official punctuation map (``zh`` adds ``$`` -> ``.``, as the official Chinese path does)."""
    return _punct_re(zh).sub(lambda m: "." if m.group(0) == "$" else PUNCTUATION[m.group(0)], text)


def tokenize_by_cjk_char(line: str, upper: bool = True) -> str:
    """Official pre-tokeniser: every CJK character its own token, tokens joined by one space."""
    parts = re.split(f"([{CJK_RANGES}])", line.strip())
    return " ".join(p.strip().upper() if upper else p.strip() for p in parts if p.strip())


def use_chinese(text: str) -> bool:
    """The official choice of the Chinese normaliser."""
    has_chinese = bool(re.search(r"[\u4e00-\u9fff]", text))
    has_alpha = bool(re.search(r"[a-zA-Z]", text))
    if has_chinese or not has_alpha or _EMAIL_RE.match(text):
        return True
    return bool(PINYIN_TONE_RE.search(text))


def correct_pinyin(pinyin: str) -> str:
    """Official pinyin restoration: after j/q/x, u/ü becomes v and the syllable is upper-cased."""
    if pinyin[0] not in "jqxJQX":
        return pinyin
    return re.sub(r"([jqx])[uü](n|e|an)*(\d)", r"\1v\2\3", pinyin, flags=re.IGNORECASE).upper()


class OfficialTextNormalizer:
    """The official normaliser's behaviour, built on voxsmith's rule-based normaliser."""

    def __init__(self) -> None:
        from voxsmith.text.normalize import Normalizer, NormalizerConfig

        self.normalizer = Normalizer(NormalizerConfig.official())

    def normalize(self, text: str) -> str:
        text = text.replace("\n", " ")  # the official punctuation map turns line breaks into spaces
        if not use_chinese(text):
            return map_punctuation(self.normalizer.normalize(text, lang="en").text)
        saved: list[str] = []

        def protect(m: re.Match[str]) -> str:
            saved.append(m.group(0))
            return placeholder(len(saved) - 1)

        protected = PINYIN_TONE_RE.sub(protect, text.rstrip())
        out = self.normalizer.normalize(protected, lang="zh").text
        out = re.sub("[\ue000-\uefff]", lambda m: correct_pinyin(saved[placeholder_index(m.group(0))]), out)
        return map_punctuation(out, zh=True)

    def pretokenize(self, text: str) -> str:
        """Normalise, then the official pre-tokeniser: what ``sp_model.Encode`` receives."""
        return tokenize_by_cjk_char(self.normalize(text))
