"""``voxsmith frontend`` / ``voxsmith check-text`` run in-process: JSON contract, errors, options."""

from __future__ import annotations

import json

from voxsmith.cli.main import main


def _run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_frontend_json_contract(capsys):
    code, out, _ = _run(capsys, "frontend", "他在银HANG2工作，头发很长。", "--json")
    assert code == 0
    d = json.loads(out)
    assert {"normalized", "segments", "syllables", "tokens"} <= set(d)
    assert isinstance(d["normalized"], str) and all(isinstance(s, str) for s in d["segments"])
    assert d["syllables"][3] == {"text": "HANG2", "pinyin": "hang2"}
    assert d["syllables"][-1] == {"text": "长", "pinyin": "chang2"}
    assert all(isinstance(t, int) for t in d["tokens"]) and d["tokens"]


def test_frontend_text_output_and_options(capsys, tmp_path):
    glossary = tmp_path / "g.tsv"
    glossary.write_text("重庆\tchong2 qing4\n", encoding="utf-8")
    text = "我在重庆。" * 6
    code, out, _ = _run(capsys, "frontend", text, "--glossary", str(glossary), "--max-tokens", "20")
    assert code == 0 and out.startswith("normalized: ") and "重(chong2)" in out
    assert out.count("segment ") >= 2
    code, out, _ = _run(capsys, "frontend", "共3个", "--lang", "en", "--json")
    assert json.loads(out)["normalized"] == "共three个"


def test_frontend_errors_are_one_line(capsys):
    code, out, err = _run(capsys, "frontend", "他在银xing7工作", "--json")
    assert code == 2 and out == ""
    assert err.strip().count("\n") == 0 and "xing7" in err and "character 3" in err
    code, _, err = _run(capsys, "frontend", "   ")
    assert code == 2 and "empty" in err
    code, _, err = _run(capsys, "frontend", "好", "--glossary", "/nonexistent/g.tsv")
    assert code == 2 and "glossary file not found" in err


def test_check_text(capsys):
    code, out, _ = _run(capsys, "check-text", "他长得很高", "--json")
    assert code == 0
    rows = json.loads(out)["polyphones"]
    first = rows[0]
    assert first["char"] == "长" and first["chosen"] == "zhang3" and "chang2" in first["alternatives"]
    code, out, _ = _run(capsys, "check-text", "我是他")
    assert code == 0 and "no polyphonic characters" in out


def test_frontend_with_bpe_model(capsys, tmp_path):
    import sentencepiece as spm

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(["他 在 银 行 工 作", "头 发 很 长", "HELLO WORLD"] * 30), encoding="utf-8")
    spm.SentencePieceTrainer.train(
        input=str(corpus),
        model_prefix=str(tmp_path / "bpe"),
        vocab_size=40,
        model_type="bpe",
        character_coverage=1.0,
        user_defined_symbols=["HANG2"],
        hard_vocab_limit=False,
        minloglevel=2,
    )
    code, out, _ = _run(
        capsys, "frontend", "他在银HANG2工作", "--json", "--bpe-model", str(tmp_path / "bpe.model")
    )
    assert code == 0
    d = json.loads(out)
    sp = spm.SentencePieceProcessor(model_file=str(tmp_path / "bpe.model"))
    assert d["tokens"] == sp.encode("他 在 银 HANG2 工 作", out_type=int)
    code, _, err = _run(capsys, "frontend", "好", "--bpe-model", str(tmp_path / "missing.model"))
    assert code == 2 and "bpe.model not found" in err
