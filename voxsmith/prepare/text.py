"""Manifest text fields of a prepared clip: spoken form, pinyin, phones, units, with the glossary.

The corpus adapter ``voxsmith.data.frontend.Frontend`` gives the fields training reads
(``normalized``, ``syllables`` = toned pinyin per Chinese character, ``phones``, ``units``);
here its text frontend is built with the user's glossary, so a term such as 重庆 gets the
reading the user fixed (chong2 qing4) in ``syllables`` and ``phones``, and a spoken-form entry
(``C++`` -> "C plus plus") shows in ``normalized``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from voxsmith.data.frontend import Frontend, TextAnalysis


class GlossaryFrontend(Frontend):
    """``Frontend`` whose text frontend applies a glossary file (None = no glossary)."""

    def __init__(self, glossary: str | Path | None = None) -> None:
        from voxsmith.text.glossary import Glossary

        super().__init__()
        # parsed now: a broken glossary is one TextError up front, not a drop reason on every clip
        self.glossary = Glossary.load(glossary) if glossary else None

    def _frontend(self) -> Any:
        if self._fe is None:
            from voxsmith.text.frontend import TextFrontend

            self._fe = TextFrontend(glossary=self.glossary)
        return self._fe

    def fields(self, text: str, lang: str) -> dict[str, Any]:
        """``{"normalized", "syllables", "phones", "units"}`` of ``text`` (raises ``TextError``)."""
        a: TextAnalysis = self.analyze(text, lang)
        return {"normalized": a.normalized, "syllables": a.syllables, "phones": a.phones, "units": a.units}
