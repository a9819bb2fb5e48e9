"""Lexicon cues for explicit emotion words ("愤怒地质问", "say it gently"), negation-aware.

The embedding head reads the gist of a text; these cues make an explicit instruction win
over it. A negated cue is read two ways:

- imperative ("不要生气", "别害怕", "don't be angry", "stop sounding sad"): the speaker is
  asked *not* to show the emotion, so it is pushed down and calm is pushed up;
- declarative ("我不开心", "I'm not angry"): the emotion is pushed down; for happy, the
  opposite (sad / melancholic) is pushed up.

``cue_vector(text)`` returns (8,) cue strengths in the order of ``EMOTIONS`` (each clipped to
[-1.5, 1.5]) and the list of hits, for the backend to add (× a scale learned in training)
to the head's logits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

import numpy as np

from voxsmith.embeddings import EMOTIONS

# Strong terms (weight 1) and weak or ambiguous ones (weight 0.5), per emotion. A term may
# appear under two emotions (惊喜 = surprised + happy). Chinese terms match as substrings,
# longest first; English entries are regular expressions matched on word boundaries.
# fmt: off
ZH_STRONG: dict[str, tuple[str, ...]] = {
    "happy": (
        "高兴", "开心", "快乐", "欢快", "愉快", "喜悦", "欢喜", "兴奋", "欣喜", "雀跃", "兴高采烈", "喜气洋洋", "欢天喜地", "眉开眼笑", "笑着",
        "笑意", "带着笑", "乐呵呵", "喜滋滋", "开开心心", "高高兴兴", "欢欢喜喜", "幸福", "惊喜", "又惊又喜"
    ),
    "angry": (
        "生气", "愤怒", "恼火", "气愤", "发火", "怒吼", "怒气", "暴怒", "恼怒", "愤恨", "气冲冲", "火冒三丈", "暴跳如雷", "咬牙切齿", "怒气冲冲",
        "怒斥", "斥责", "质问", "大骂", "怒不可遏", "气呼呼", "动怒", "发怒", "吼"
    ),
    "sad": (
        "悲伤", "伤心", "难过", "悲痛", "哀伤", "悲哀", "哭腔", "哭着", "哽咽", "抽泣", "心碎", "泣不成声", "痛哭", "悲恸", "伤心欲绝",
        "悲痛欲绝", "含泪", "流泪", "眼泪", "哭泣"
    ),
    "afraid": (
        "害怕", "恐惧", "惊恐", "恐慌", "惊慌", "胆怯", "畏惧", "战战兢兢", "心惊胆战", "哆哆嗦嗦", "吓坏", "惊慌失措", "颤抖", "发抖", "惧怕",
        "恐怖", "胆战心惊", "毛骨悚然", "吓得"
    ),
    "disgusted": (
        "厌恶", "恶心", "反感", "嫌弃", "嫌恶", "鄙视", "鄙夷", "作呕", "轻蔑", "不屑", "嫌弃地", "憎恶", "反胃", "冷笑", "令人作呕", "嘲笑",
        "嘲讽"
    ),
    "melancholic": (
        "低落", "忧郁", "惆怅", "消沉", "沮丧", "郁闷", "失落", "颓废", "无精打采", "心灰意冷", "郁郁寡欢", "落寞", "有气无力", "提不起劲", "忧伤",
        "苦闷", "颓丧", "低沉", "怅然", "伤感"
    ),
    "surprised": (
        "惊讶", "吃惊", "震惊", "惊奇", "诧异", "难以置信", "不敢相信", "目瞪口呆", "大吃一惊", "惊喜", "又惊又喜", "惊叹", "惊愕"
    ),
    "calm": (
        "平静", "冷静", "平和", "淡定", "温柔", "温和", "平淡", "中性", "心平气和", "轻声细语", "柔和", "舒缓", "放松", "平稳", "自然的语气",
        "正常语气", "正常读", "不带情绪", "不要带情绪", "别带情绪", "不带感情", "没有感情", "从容", "不紧不慢", "慢条斯理", "波澜不惊"
    ),
}
ZH_WEAK: dict[str, tuple[str, ...]] = {
    "happy": (
        "激动", "欢呼", "乐", "笑"
    ),
    "angry": (
        "凶", "不耐烦", "骂", "滚", "怒"
    ),
    "sad": (
        "哭",
    ),
    "afraid": (
        "紧张", "不安", "救命", "吓", "凶手"
    ),
    "disgusted": (
        "讨厌", "脏", "臭"
    ),
    "melancholic": (
        "空落落", "寂寞", "孤独", "迷茫", "发呆"
    ),
    "surprised": (
        "竟然", "居然", "没想到", "天哪", "天啊", "意外", "惊"
    ),
    "calm": (
        "轻声", "慢慢", "正常", "好好说"
    ),
}
EN_STRONG: dict[str, tuple[str, ...]] = {
    "happy": (
        r"happ(y|ily|iness)", r"joy(ful|fully|ous)?", r"cheerful(ly)?", r"delight(ed|edly)?", r"glad(ly)?",
        r"upbeat", r"excited(ly)?", r"gleeful(ly)?", r"elated", r"thrilled", r"overjoyed",
        r"smil(e|es|ed|ing)", r"laugh(ing|s|ed)?", r"jubilant"
    ),
    "angry": (
        r"angr(y|ily|ier)", r"anger", r"furious(ly)?", r"mad", r"rage", r"enraged", r"irritat(ed|edly)",
        r"irritabl[ey]", r"annoyed", r"livid", r"hostile", r"outraged", r"fuming", r"infuriated",
        r"yell(ing)?", r"shout(ing)?"
    ),
    "sad": (
        r"sad(ly|ness)?", r"sorrow(ful|fully)?", r"heartbroken", r"tear(s|ful|fully)", r"cry(ing)?",
        r"cried", r"sobbing", r"sob", r"griev(e|ing)", r"grief", r"mournful(ly)?", r"weep(ing)?",
        r"unhappy", r"choke up"
    ),
    "afraid": (
        r"afraid", r"scared", r"frightened", r"fear(ful|fully)?", r"terrified", r"terror",
        r"panic(ked|ky)?", r"trembling", r"shaky", r"dread", r"horrified", r"petrified", r"nervous(ly)?",
        r"timid(ly)?"
    ),
    "disgusted": (
        r"disgust(ed|edly|ing)?", r"revolt(ed|ing)", r"repuls(ed|ive|ion)", r"gross(ed)? out", r"grossest",
        r"contempt(uous)?", r"distaste", r"loathing", r"nause(ated|ous)", r"scorn(ful)?", r"sneer(ing)?",
        r"gag", r"appalled", r"disdain(ful)?"
    ),
    "melancholic": (
        r"melanchol(y|ic)", r"gloom(y|ily)", r"depress(ed|ing|ion)", r"dejected", r"downcast",
        r"despondent", r"listless(ly)?", r"wistful(ly)?", r"low-spirited", r"downhearted", r"brooding",
        r"forlorn", r"given up", r"discouraged", r"low mood"
    ),
    "surprised": (
        r"surpris(e|ed|edly)", r"astonish(ed|ment)", r"amaz(ed|ement)", r"shocked", r"stunned",
        r"disbelief", r"startled", r"taken aback", r"can'?t believe (your|my) (ears|eyes)", r"gasp"
    ),
    "calm": (
        r"calm(ly)?", r"neutral(ly)?", r"gentl(e|y)", r"softly", r"relaxed", r"peaceful(ly)?",
        r"soothing(ly)?", r"evenly", r"composed", r"steady", r"plainly", r"no emotion", r"without emotion",
        r"emotionless", r"news anchor", r"matter-of-fact", r"unemotional(ly)?"
    ),
}
EN_WEAK: dict[str, tuple[str, ...]] = {
    "happy": (
        r"yay", r"hooray", r"celebrat(e|ing)"
    ),
    "angry": (
        r"how dare you", r"hate"
    ),
    "sad": (
        r"passed away", r"funeral"
    ),
    "afraid": (
        r"help me", r"scream(ing)?"
    ),
    "disgusted": (
        r"ew+", r"yuck", r"gross"
    ),
    "melancholic": (
        r"empty", r"lonely", r"blue"
    ),
    "surprised": (
        r"wow", r"whoa", r"no way"
    ),
    "calm": (
        r"quiet(ly)?", r"soft", r"plain", r"normal(ly)?", r"natural(ly)?"
    ),
}

# Words that contain a cue or a negator but mean neither (音乐 is music, 特别 is "especially",
# 忍不住哭 is crying, not "not crying"): they claim their span first and are cut from negation windows.
ZH_BLOCKERS = (
    "音乐", "乐器", "俱乐部", "可乐", "特别", "别人", "分别", "告别", "区别", "级别", "莫名", "未来", "不禁", "不由得", "不得不", "忍不住",
    "不停", "不断", "不住", "差不多", "心脏", "内脏", "滚动", "滚烫"
)

# Negators, longest first; "imperative" ones ask the speaker not to show the emotion.
ZH_IMPERATIVE = (
    "千万不要", "千万别", "用不着", "不要", "不用", "不必", "无需", "不许", "别", "勿", "莫", "甭"
)
ZH_DECLARATIVE = (
    "一点都不", "一点也不", "并不", "毫不", "从不", "没有", "不太", "不", "没", "未"
)
EN_IMPERATIVE = (
    "don't", "dont", "do not", "no need to", "stop", "never", "without", "less", "not too"
)
EN_DECLARATIVE = (
    "not", "isn't", "wasn't", "aren't", "n't", "no longer", "hardly"
)
# fmt: on
NEGATION_WINDOW_ZH = 4  # characters before a cue, inside its clause, searched for a negator
NEGATION_WINDOW_EN = 4  # words before a cue, inside its clause
CLAUSE_BREAK = re.compile(r"[，。！？；：、,.!?;:…]|\bbut\b")
CUE_CLIP = 1.5  # one emotion word repeated ("生气，很生气") should not count double
IMPERATIVE_CALM = 1.5  # calm cue from "don't be X", per unit of X's strength


@dataclass(frozen=True)
class CueHit:
    """One lexicon match: ``term`` at ``[start, end)`` of the text, its (8,) emotion ``vector``."""

    term: str
    start: int
    end: int
    vector: np.ndarray
    negation: str  # "" | "imperative" | "declarative"

    def describe(self) -> str:
        name = EMOTIONS[int(np.argmax(self.vector))]
        prefix = {"": "", "imperative": "not-", "declarative": "neg-"}[self.negation]
        return f"{prefix}{name}:{self.term}"


@dataclass(frozen=True)
class _Lexicon:
    zh: dict[str, np.ndarray | None]  # term -> vector; None = blocker
    zh_pattern: re.Pattern  # all terms, longest first, so the longest term at a position wins
    en: dict[str, np.ndarray]  # regex -> vector
    en_pattern: re.Pattern


def _vectors(strong: dict[str, tuple[str, ...]], weak: dict[str, tuple[str, ...]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for table, weight in ((strong, 1.0), (weak, 0.5)):
        for emotion, terms in table.items():
            k = EMOTIONS.index(emotion)
            for term in terms:
                v = out.setdefault(term, np.zeros(len(EMOTIONS), np.float32))
                v[k] = max(v[k], weight)
    return out


@cache
def _lexicon() -> _Lexicon:
    zh: dict[str, np.ndarray | None] = {**_vectors(ZH_STRONG, ZH_WEAK), **dict.fromkeys(ZH_BLOCKERS)}
    en = _vectors(EN_STRONG, EN_WEAK)
    alternation = "|".join(f"(?:{p})" for p in sorted(en, key=len, reverse=True))
    return _Lexicon(
        zh=zh,
        zh_pattern=re.compile("|".join(re.escape(t) for t in sorted(zh, key=len, reverse=True))),
        en=en,
        en_pattern=re.compile(f"(?<![a-z'])(?:{alternation})(?![a-z])", re.IGNORECASE),
    )


@cache
def _en_vector(word: str) -> np.ndarray:
    """Vector of a matched English word (lower-case): the first pattern that matches it whole."""
    return next(v for p, v in _lexicon().en.items() if re.fullmatch(p, word, re.IGNORECASE))


def _negation(text: str, start: int, is_zh: bool) -> str:
    """Kind of negator just before ``text[start]`` in the same clause ("" if none)."""
    before = CLAUSE_BREAK.split(text[:start])[-1]
    if is_zh:
        for blocker in ZH_BLOCKERS:
            before = before.replace(blocker, "·" * len(blocker))
        window = before[-NEGATION_WINDOW_ZH:]
        for kind, negators in (("imperative", ZH_IMPERATIVE), ("declarative", ZH_DECLARATIVE)):
            if any(n in window for n in negators):
                return kind
        return ""
    window = " " + " ".join(before.lower().split()[-NEGATION_WINDOW_EN:]) + " "
    for kind, negators in (("imperative", EN_IMPERATIVE), ("declarative", EN_DECLARATIVE)):
        if any(f" {n} " in window or (n == "n't" and "n't " in window) for n in negators):
            return kind
    return ""


def find_cues(text: str) -> list[CueHit]:
    """Every lexicon term in ``text``, in order (Chinese: leftmost, then longest; then English words)."""
    lex = _lexicon()
    hits: list[CueHit] = []
    for m in lex.zh_pattern.finditer(text):
        vector = lex.zh[m.group(0)]
        if vector is not None:  # a blocker just claims its span
            hits.append(CueHit(m.group(0), m.start(), m.end(), vector, _negation(text, m.start(), True)))
    for m in lex.en_pattern.finditer(text):
        vector = _en_vector(m.group(0).lower())
        hits.append(CueHit(m.group(0), m.start(), m.end(), vector, _negation(text, m.start(), False)))
    return sorted(hits, key=lambda h: h.start)


def cue_vector(text: str) -> tuple[np.ndarray, list[CueHit]]:
    """(8,) summed cue strengths for ``text`` and the hits behind them."""
    hits = find_cues(text)
    total = np.zeros(len(EMOTIONS), np.float32)
    calm, sad, low, happy = (EMOTIONS.index(e) for e in ("calm", "sad", "melancholic", "happy"))
    for h in hits:
        if not h.negation:
            total += h.vector
            continue
        total -= h.vector
        if h.negation == "imperative" and h.vector[calm] <= 0:
            # "don't be sad": the head still reads sadness in the words, so the ask for calm
            # has to outweigh it; sad and melancholic go down together.
            total[calm] += IMPERATIVE_CALM * float(h.vector.max())
            total[sad] -= 0.5 * h.vector[low]
            total[low] -= 0.5 * h.vector[sad]
        elif h.negation == "declarative" and h.vector[happy] > 0:
            total[sad] += 0.5 * h.vector[happy]
            total[low] += 0.5 * h.vector[happy]
    return np.clip(total, -CUE_CLIP, CUE_CLIP), hits
