"""Tokenizers: the fixed phone vocabulary and SentencePiece bpe.model loading."""

from __future__ import annotations

import hashlib

import pytest

from voxsmith.errors import CheckpointError
from voxsmith.text.tokenizer import BpeTokenizer, PhoneTokenizer, Segment


def test_phone_vocabulary_is_fixed():
    tok = PhoneTokenizer()
    vocab = tok.vocab
    assert len(set(vocab)) == len(vocab) == tok.vocab_size == 317
    assert vocab[:7] == ("<pad>", "<unk>", "<bos>", "<eos>", "<zh>", "<en>", "_")
    assert tok.pad_id == 0 and tok.id_of("<zh>") == 4
    # Changing the order breaks every trained built-in model: the digest pins it.
    digest = hashlib.sha256("\n".join(vocab).encode()).hexdigest()[:16]
    assert digest == "ffceae3a0f6f2eb1", f"phone vocabulary changed: {digest}"


def test_phone_encode_decode():
    tok = PhoneTokenizer()
    seg = Segment("你好", ["<zh>", "n", "i3", "h", "ao3", ".", "<en>", "HH", "AH0", "???"])
    ids = tok.encode(seg)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == "<zh> n i3 h ao3 . <en> HH AH0 <unk>"
    assert tok.pieces(seg)[-1] == "<unk>" and tok.count(seg) == 10


@pytest.fixture(scope="module")
def bpe_model(tmp_path_factory):
    import sentencepiece as spm

    from voxsmith.text.official import tokenize_by_cjk_char

    root = tmp_path_factory.mktemp("bpe")
    lines = [
        "他在银行工作", "今天天气很好", "我们一起去学校", "HELLO WORLD", "THIS IS A TEST",
        "大家好,我是INDEXTTS", "不要重蹈覆辙", "晕是一种感觉", "银行行长来了", "GOOD MORNING EVERYONE",
    ] * 20  # fmt: skip
    corpus = root / "corpus.txt"
    corpus.write_text("\n".join(tokenize_by_cjk_char(x) for x in lines), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(root / "bpe"),
        vocab_size=120,
        model_type="bpe",
        character_coverage=1.0,
        user_defined_symbols=["HANG2", "XVAN4", "CHONG2"],
        hard_vocab_limit=False,
        minloglevel=2,
    )
    return root / "bpe.model"


def test_bpe_pretokenizer_spaces_cjk_and_upper_cases():
    assert BpeTokenizer.pretokenize("晕XVAN4是一种感觉，hello！") == "晕 XVAN4 是 一 种 感 觉 ,HELLO!"


def test_bpe_encode_keeps_toned_pinyin_as_one_piece(bpe_model):
    tok = BpeTokenizer(bpe_model)
    seg = Segment("他在银行工作", bpe_text="他在银HANG2工作")
    pieces = tok.pieces(seg)
    assert "HANG2" in pieces  # one piece, not H/A/N/G/2
    assert [p.strip("▁") for p in pieces if p.strip("▁")][:4] == ["他", "在", "银", "HANG2"]
    ids = tok.encode(seg)
    assert all(0 <= i < tok.vocab_size for i in ids) and tok.count(seg) == len(ids)
    assert tok.decode(tok.encode_text("他在银行")).replace(" ", "") == "他在银行"


def test_bpe_missing_or_broken_model(tmp_path):
    with pytest.raises(CheckpointError, match="bpe.model not found"):
        BpeTokenizer(tmp_path / "bpe.model")
    broken = tmp_path / "broken.model"
    broken.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a readable SentencePiece model"):
        BpeTokenizer(broken)
