"""The swappable T2E slot: ``backend(text) -> EmotionWeights``, with one input check for all."""

from __future__ import annotations

import unicodedata
from abc import ABC, abstractmethod

from voxsmith.emotion_text.result import EmotionWeights
from voxsmith.errors import TextError

MAX_CHARS = 1000  # an emotion prompt is a sentence or two; a page of text is a mistake


def check_text(text: object) -> str:
    """The text a backend may see: a non-empty string with at least one letter or CJK character.

    Control characters become spaces and runs of whitespace collapse. Raises ``TextError``
    for a non-string, empty/blank text, text over ``MAX_CHARS``, or text with no word at all
    (only digits, punctuation or symbols, e.g. ``"!!!"`` or ``"12345"``).
    """
    if not isinstance(text, str):
        raise TextError(f"emotion text must be a string, got {type(text).__name__}")
    clean = "".join(" " if unicodedata.category(c).startswith("C") else c for c in text)
    clean = " ".join(clean.split())
    if not clean:
        raise TextError("emotion text is empty")
    if len(clean) > MAX_CHARS:
        raise TextError(
            f"emotion text is {len(clean)} characters long; at most {MAX_CHARS} (one or two sentences)"
        )
    if not any(unicodedata.category(c).startswith("L") for c in clean):
        raise TextError(f"emotion text {clean[:40]!r} has no words (only digits, punctuation or symbols)")
    return clean


class T2EBackend(ABC):
    """Text → emotion. Subclasses implement ``_predict`` on text that passed ``check_text``.

    ``backend(text)`` returns ``EmotionWeights`` whose ``weights`` is (8,) in the order
    happy, angry, sad, afraid, disgusted, melancholic, surprised, calm.
    """

    name: str = "base"

    def __call__(self, text: str) -> EmotionWeights:
        return self._predict(check_text(text))

    @abstractmethod
    def _predict(self, text: str) -> EmotionWeights: ...
