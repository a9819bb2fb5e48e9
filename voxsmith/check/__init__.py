"""Pronunciation check: hear toned pinyin, catch misread polyphones and skipped words, fix them.

- ``model.PronRecognizer``: small CTC recogniser over pinyin initials + toned finals (and
  ARPAbet for English words) on Whisper base's encoder states at 50 Hz
  (``whisper_features``; the built-in one) or on log-mel (86 Hz -> 43 Hz), plus pitch;
  ``config.CheckerConfig``; its file (``kind="pron_checker"``) carries the
  ``config.Calibration`` of the decision.
- ``expected``: text -> syllables with readings and polyphone alternatives (TextFrontend).
- ``align``: CTC Viterbi forced alignment; ``gop``: goodness of pronunciation per syllable.
- ``content``: ASR judge CER, skipped and repeated spans.
- ``checker.PronunciationChecker``: the facade (``voxsmith check``); ``report.CheckReport``.
- ``loop.verify_and_fix``: the model-agnostic check-and-regenerate loop.

Importing this package loads no model; recogniser and ASR judge load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxsmith.check.checker import PronunciationChecker
    from voxsmith.check.loop import VerifyReport, verify_and_fix
    from voxsmith.check.report import CheckReport, SyllableCheck

_EXPORTS = {
    "PronunciationChecker": "voxsmith.check.checker",
    "CheckReport": "voxsmith.check.report",
    "SyllableCheck": "voxsmith.check.report",
    "VerifyReport": "voxsmith.check.loop",
    "verify_and_fix": "voxsmith.check.loop",
}
__all__ = [
    "CheckReport",
    "PronunciationChecker",
    "SyllableCheck",
    "VerifyReport",
    "verify_and_fix",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'voxsmith.check' has no attribute {name!r}")
