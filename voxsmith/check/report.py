"""The checker's verdict on one clip, and its JSON form (the ``voxsmith check --json`` contract).

    {"ok": bool,
     "syllables": [{"text": str, "expected": str, "heard": str, "confidence": float, "ok": bool}, ...],
     "content": {"cer": float | null, "skipped": [{"text", "index"}], "repeated": [{"text", "index"}]}}

``syllables`` follows the Chinese syllables of the text in order, as ``voxsmith frontend``
lists them; ``ok`` is false when any syllable or the content fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voxsmith.check.content import ContentResult


@dataclass
class SyllableCheck:
    """One Chinese syllable: what the text wants, what the recogniser heard, the decision."""

    text: str  # the character (or the pinyin as the user wrote it)
    expected: str  # the reading the frontend chose (or the user fixed)
    heard: str  # the most likely reading among the candidates judged ("" = could not align)
    confidence: float  # calibrated probability that ``expected`` was said
    ok: bool
    index: int  # position in the text's syllable list
    polyphone: bool = False  # the character has other readings in use
    alternatives: tuple[str, ...] = ()  # those other readings
    judged: bool = True  # False: reported only, its ``ok`` is not a verdict (non-polyphone, no check_all)
    margin: float | None = None  # polyphones: log-likelihood of expected minus best other reading (nats)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "expected": self.expected,
            "heard": self.heard,
            "confidence": round(self.confidence, 4),
            "ok": self.ok,
        }


@dataclass
class CheckReport:
    """Pronunciation of every syllable plus the content check of one clip."""

    syllables: list[SyllableCheck] = field(default_factory=list)
    content: ContentResult = field(default_factory=lambda: ContentResult(None))

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.syllables) and self.content.ok

    @property
    def misread(self) -> list[SyllableCheck]:
        """Syllables judged wrong, in order."""
        return [s for s in self.syllables if not s.ok]

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "syllables": [s.to_dict() for s in self.syllables],
            "content": self.content.to_dict(),
        }
