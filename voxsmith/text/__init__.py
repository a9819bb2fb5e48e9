"""Bilingual (Chinese/English) text frontend: normalisation, pinyin control, G2P, segmentation,
tokenizers. ``TextFrontend`` (frontend.py) is the entry point; heavy dictionaries (pypinyin,
jieba's word list, CMUdict) load on first use, not at import."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from voxsmith.text.frontend import FrontendResult, TextFrontend
    from voxsmith.text.g2p_zh import polyphone_alternatives
    from voxsmith.text.glossary import Glossary
    from voxsmith.text.tokenizer import BpeTokenizer, PhoneTokenizer, Tokenizer

_EXPORTS = {
    "TextFrontend": "voxsmith.text.frontend",
    "FrontendResult": "voxsmith.text.frontend",
    "Glossary": "voxsmith.text.glossary",
    "polyphone_alternatives": "voxsmith.text.g2p_zh",
    "Tokenizer": "voxsmith.text.tokenizer",
    "PhoneTokenizer": "voxsmith.text.tokenizer",
    "BpeTokenizer": "voxsmith.text.tokenizer",
}
__all__ = [
    "BpeTokenizer",
    "FrontendResult",
    "Glossary",
    "PhoneTokenizer",
    "TextFrontend",
    "Tokenizer",
    "polyphone_alternatives",
]


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'voxsmith.text' has no attribute {name!r}")
