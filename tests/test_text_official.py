"""Official text mode against the reference implementation's outputs (frontend.json, 67 cases)."""

from __future__ import annotations

import json

import pytest

from voxsmith.text.official import (
    OfficialTextNormalizer,
    correct_pinyin,
    map_punctuation,
    tokenize_by_cjk_char,
    use_chinese,
)

# Inputs where the official normaliser (WeTextProcessing) does something voxsmith does not copy:
KNOWN_DIFFERENCES = {
    # WeText joins only the first thousands group: 一千两百三十四,五六七台 (voxsmith: the full number)
    "我们在2024年卖出了1,234,567台设备，增长了23.5%！",
    # WeText lower-cases "doctor" and drops the final period after "Street"
    "Who's there? It's me, Dr. Smith, from No. 10 Downing St.",
    # WeText rewrites SSDs -> SSD's and PCIe -> PCIE
    "Here are some highly-rated M.2 NVMe SSDs: Samsung 9100 PRO PCIe 5.0 SSD M.2, $139.99",
}


@pytest.fixture(scope="module")
def cases(official_fixtures):
    data = json.loads((official_fixtures / "text_frontend" / "frontend.json").read_text(encoding="utf-8"))
    rows = data["sentences"] + data["official_front_py_main_cases"]
    assert len(rows) == 67
    return rows


def test_pretokenizer_reproduces_every_case(cases):
    for c in cases:
        assert tokenize_by_cjk_char(c["normalized"]) == c["pre_tokenized_tokenize_by_CJK_char"]


def test_use_chinese_matches(cases):
    for c in cases:
        if "use_chinese" in c:
            assert use_chinese(c["input"]) == c["use_chinese"], c["input"]


def test_normalizer_matches_all_but_the_documented_cases(cases):
    normalizer = OfficialTextNormalizer()
    differing = set()
    for c in cases:
        got = normalizer.normalize(c["input"])
        if got != c["normalized"]:
            differing.add(c["input"])
        else:
            assert normalizer.pretokenize(c["input"]) == c["pre_tokenized_tokenize_by_CJK_char"]
    assert differing == KNOWN_DIFFERENCES


def test_helpers():
    assert (
        correct_pinyin("XUAN4") == "XVAN4"
        and correct_pinyin("jue2") == "JVE2"
        and correct_pinyin("gan3") == "gan3"
    )
    assert map_punctuation("“你好”……（test）$", zh=True) == "'你好'…'test'."
    assert map_punctuation("a$b") == "a$b"


def test_frontend_official_mode_feeds_bpe_the_official_text(cases, tmp_path):
    import sentencepiece as spm

    from voxsmith.text.frontend import TextFrontend
    from voxsmith.text.tokenizer import BpeTokenizer

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(c["pre_tokenized_tokenize_by_CJK_char"] for c in cases), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp_path / "bpe"),
        vocab_size=800,
        model_type="bpe",
        character_coverage=1.0,
        hard_vocab_limit=False,
        minloglevel=2,
    )
    fe = TextFrontend.official(tmp_path / "bpe.model")
    assert fe.max_tokens == 120 and isinstance(fe.tokenizer, BpeTokenizer)
    differing = set()
    for c in cases:
        result = fe.process(c["input"])
        joined = BpeTokenizer.pretokenize(" ".join(s.bpe_text for s in result.segments))
        if joined != c["pre_tokenized_tokenize_by_CJK_char"]:
            differing.add(c["input"])
        elif len(result.segments) == 1:
            assert result.tokens == fe.tokenizer.sp.encode(
                c["pre_tokenized_tokenize_by_CJK_char"], out_type=int
            )
    assert differing == KNOWN_DIFFERENCES
