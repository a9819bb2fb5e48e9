"""Text tokenizers: the slot between the frontend's segments and the GPT's text ids.

``Tokenizer`` is the base: ``encode(segment) -> ids`` with ids in ``[0, vocab_size)``. Two
implementations:

* ``PhoneTokenizer`` - the built-in model's fixed vocabulary of pronunciation units: specials,
  language tags, pauses, Mandarin initials, toned finals, ARPAbet phones with stress. The list is
  written out in code (never learned), so ids are stable across versions and machines.
* ``BpeTokenizer`` - a SentencePiece ``bpe.model`` (the official size). Text goes through the
  official pre-tokeniser: CJK characters spaced, everything upper-cased, toned pinyin kept as one
  piece (``晕 XVAN4 是``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from voxsmith.errors import CheckpointError
from voxsmith.text.g2p_en import CONSONANTS, VOWELS
from voxsmith.text.pinyin import FINALS, INITIALS

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>", "<zh>", "<en>", "_")  # "_" = English word boundary
PAUSES = (",", ".", "?", "!", "…")


@dataclass
class Segment:
    """One piece of normalised text, ready for a tokenizer.

    ``phones``: language tags, pauses, initials/toned finals and ARPAbet phones, in order.
    ``bpe_text``: the same text in the official convention (fixed readings as upper-case pinyin).
    """

    text: str
    phones: list[str] = field(default_factory=list)
    bpe_text: str = ""


class Tokenizer(ABC):
    """Segment -> token ids. ``vocab_size`` bounds the ids; ``pad_id`` pads batches."""

    pad_id: int = 0

    @property
    @abstractmethod
    def vocab_size(self) -> int: ...

    @abstractmethod
    def pieces(self, segment: Segment) -> list[str]:
        """The token strings of a segment."""

    @abstractmethod
    def encode(self, segment: Segment) -> list[int]:
        """Token ids of a segment (no BOS/EOS: the model adds its own start/stop tokens)."""

    @abstractmethod
    def decode(self, ids: list[int]) -> str:
        """A readable rendering of ids (phones joined by spaces, or the BPE text)."""

    def count(self, segment: Segment) -> int:
        """Number of tokens of a segment (what the segmentation budget counts)."""
        return len(self.encode(segment))


class PhoneTokenizer(Tokenizer):
    """Fixed phone/pinyin-unit vocabulary of the built-in model (deterministic ids)."""

    @cached_property
    def vocab(self) -> tuple[str, ...]:
        toned = tuple(f + str(t) for f in FINALS for t in range(1, 6))
        english = CONSONANTS + tuple(v + s for v in VOWELS for s in "012")
        return SPECIALS + PAUSES + INITIALS + toned + english

    @cached_property
    def index(self) -> dict[str, int]:
        return {p: i for i, p in enumerate(self.vocab)}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def unk_id(self) -> int:
        return self.index["<unk>"]

    def id_of(self, phone: str) -> int:
        return self.index.get(phone, self.unk_id)

    def pieces(self, segment: Segment) -> list[str]:
        return [p if p in self.index else "<unk>" for p in segment.phones]

    def encode(self, segment: Segment) -> list[int]:
        return [self.id_of(p) for p in segment.phones]

    def count(self, segment: Segment) -> int:
        return len(segment.phones)

    def decode(self, ids: list[int]) -> str:
        return " ".join(self.vocab[i] if 0 <= i < len(self.vocab) else "<unk>" for i in ids)


class BpeTokenizer(Tokenizer):
    """SentencePiece ``bpe.model`` with the official pre-tokeniser (official checkpoints)."""

    def __init__(self, model_file: str | Path):
        path = Path(model_file)
        if not path.is_file():
            raise CheckpointError(
                f"bpe.model not found at {path}: it ships with the official IndexTTS-2 checkpoint directory"
            )
        import sentencepiece as spm

        try:
            self.sp = spm.SentencePieceProcessor(model_file=str(path))
        except (RuntimeError, OSError) as exc:
            raise CheckpointError(f"{path} is not a readable SentencePiece model: {exc}") from exc
        self.path = path

    @property
    def vocab_size(self) -> int:
        return int(self.sp.get_piece_size())

    @staticmethod
    def pretokenize(text: str) -> str:
        """Official pre-tokenisation of normalised text (punctuation mapped, CJK spaced, upper case)."""
        from voxsmith.text.official import map_punctuation, tokenize_by_cjk_char

        return tokenize_by_cjk_char(map_punctuation(text))

    def encode_text(self, text: str) -> list[int]:
        """Ids of already-normalised text."""
        return list(self.sp.encode(self.pretokenize(text), out_type=int))

    def pieces(self, segment: Segment) -> list[str]:
        return list(self.sp.encode(self.pretokenize(segment.bpe_text or segment.text), out_type=str))

    def encode(self, segment: Segment) -> list[int]:
        return self.encode_text(segment.bpe_text or segment.text)

    def decode(self, ids: list[int]) -> str:
        return str(self.sp.decode(ids))
