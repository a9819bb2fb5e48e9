"""``voxsmith eval run`` and the ``voxsmith eval`` CLI, in-process, on tiny real speech."""

from __future__ import annotations

import json

import pytest

from tests.eval_speech import SENTENCE_A, SENTENCE_B, espeak, flite
from voxsmith.cli.main import main
from voxsmith.eval.report import EvalConfig, evaluate_manifest, write_json


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Two flite speakers (refs + clips) and an espeak neutral/high-pitch pair."""
    d = tmp_path_factory.mktemp("evalrun")
    flite(d / "awb_ref.wav", SENTENCE_B, "awb")
    flite(d / "slt_ref.wav", SENTENCE_A, "slt")
    flite(d / "awb_gen.wav", SENTENCE_A, "awb")
    flite(d / "slt_gen.wav", SENTENCE_B, "slt")
    espeak(d / "es_neutral.wav", SENTENCE_A, pitch=40)
    espeak(d / "es_high.wav", SENTENCE_A, pitch=90)
    return d


def _manifest(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_eval_run_two_items_report_keys(corpus, tmp_path):
    m = _manifest(
        tmp_path / "m.jsonl",
        [
            {"id": "g1", "path": str(corpus / "awb_gen.wav"), "text": SENTENCE_A, "lang": "en",
             "speaker": "awb", "ref_path": str(corpus / "awb_ref.wav"), "engine": "flite"},
            {"id": "g2", "path": str(corpus / "slt_gen.wav"), "text": SENTENCE_B, "lang": "en",
             "speaker": "slt", "ref_path": str(corpus / "slt_ref.wav"), "engine": "flite"},
        ],
    )  # fmt: skip
    report = evaluate_manifest(m, config=EvalConfig(progress=False))
    assert set(report) >= {"version", "created", "judges", "manifest", "summary", "items"}
    g1, g2 = report["items"]
    for row in (g1, g2):
        assert set(row) >= {
            "duration_s",
            "sim_ref",
            "sim_other",
            "other_speaker",
            "sim_margin",
            "asr_text",
            "wer",
        }
        assert set(row) >= {"mos_sig", "mos_bak", "mos_ovrl", "f0_mean_hz", "f0_std_st", "energy_db", "rate"}
        assert row["sim_ref"] > row["sim_other"]  # each clip is closest to its own reference voice
        assert row["wer"] < 0.2 and row["rate_from"] == "text"
    assert g1["other_speaker"] == "slt" and g2["other_speaker"] == "awb"
    s = report["summary"]
    assert s["n_items"] == 2 and s["n_failed"] == 0
    assert s["sim"]["eer"] == 0.0 and s["sim"]["identified"] == 1.0
    assert s["asr"]["en"]["n"] == 2 and set(s["mos"]) == {"sig", "bak", "ovrl", "p808"}
    assert s["groups"]["engine"]["flite"]["n"] == 2
    out = write_json(report, tmp_path / "r" / "report.json")
    assert json.loads(out.read_text())["summary"]["n_items"] == 2


def test_eval_run_pool_styles_deltas_and_failures(corpus, tmp_path):
    # a corpus judged against itself: the pool gives each speaker's centroid (leaving the clip out)
    m = _manifest(
        tmp_path / "c.jsonl",
        [
            {"id": "a1", "path": str(corpus / "awb_ref.wav"), "speaker": "awb"},
            {"id": "a2", "path": str(corpus / "awb_gen.wav"), "speaker": "awb"},
            {"id": "s1", "path": str(corpus / "slt_ref.wav"), "speaker": "slt"},
            {"id": "s2", "path": str(corpus / "slt_gen.wav"), "speaker": "slt"},
            {"id": "n", "path": str(corpus / "es_neutral.wav"), "speaker": "es", "text": SENTENCE_A,
             "lang": "en", "style": "neutral"},
            {"id": "h", "path": str(corpus / "es_high.wav"), "speaker": "es", "text": SENTENCE_A,
             "lang": "en", "style": "high", "baseline_path": str(corpus / "es_neutral.wav")},
            {"id": "x", "path": str(tmp_path / "missing.wav"), "speaker": "es"},
        ],
    )  # fmt: skip
    report = evaluate_manifest(m, config=EvalConfig(judges=("sim", "prosody"), progress=False), pool=m)
    rows = {r["id"]: r for r in report["items"]}
    assert rows["a1"]["sim_ref"] > rows["a1"]["sim_other"] and rows["a1"]["other_speaker"] != "awb"
    assert "asr_text" not in rows["a1"] and "mos_ovrl" not in rows["a1"]
    assert rows["h"]["baseline"] == "path" and rows["h"]["d_f0_mean_st"] > 3.0
    assert rows["h"]["rate_ratio"] == pytest.approx(1.0, abs=0.1)  # same text, same speed
    assert "not found" in rows["x"]["error"]
    s = report["summary"]
    assert s["n_failed"] == 1 and s["styles"]["high"]["d_f0_mean_st"] > 3.0
    assert s["sim"]["eer"] is not None and s["sim"]["n_impostor_scores"] >= 6


def test_cli_judges_print_json(corpus, capsys):
    awb_ref, awb_gen, slt_gen = (str(corpus / n) for n in ("awb_ref.wav", "awb_gen.wav", "slt_gen.wav"))
    assert main(["eval", "sim", awb_ref, awb_gen, "--json"]) == 0
    same = json.loads(capsys.readouterr().out)["sim"]
    assert main(["eval", "sim", awb_gen, slt_gen, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["sim"] < same

    assert main(["eval", "asr", awb_gen, "--lang", "en", "--ref-text", SENTENCE_A, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"text", "lang", "wer"} and out["wer"] < 0.2

    assert main(["eval", "mos", awb_gen, "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"sig", "bak", "ovrl", "p808"}

    assert main(["eval", "prosody", awb_gen, "--text", SENTENCE_A, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["lang"] == "en" and out["units"] == 13 and out["f0_mean_hz"] > 50


def test_cli_run_writes_json_and_html(corpus, tmp_path, capsys):
    m = _manifest(
        tmp_path / "m.jsonl",
        [
            {"path": str(corpus / "awb_gen.wav"), "text": SENTENCE_A, "lang": "en",
             "ref_path": str(corpus / "awb_ref.wav")},
            {"path": str(corpus / "slt_gen.wav"), "text": SENTENCE_B, "lang": "en",
             "ref_path": str(corpus / "slt_ref.wav")},
        ],
    )  # fmt: skip
    out = tmp_path / "report.json"
    argv = [
        "eval",
        "run",
        "--manifest",
        str(m),
        "--out",
        str(out),
        "--judges",
        "sim,prosody",
        "--html",
        "--json",
    ]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["report"] == str(out) and json.loads(out.read_text())["summary"]["n_items"] == 2
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "data:image/png;base64," in page and "line1" in page


def test_cli_errors_are_one_line(tmp_path, capsys):
    assert main(["eval", "sim", str(tmp_path / "a.wav"), str(tmp_path / "b.wav")]) == 2
    assert "a.wav: file not found" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x"}\n')
    assert main(["eval", "run", "--manifest", str(bad), "--out", str(tmp_path / "r.json")]) == 2
    assert "missing required field 'path'" in capsys.readouterr().err
    assert main(["eval", "run", "--manifest", str(bad), "--out", "r.json", "--judges", "vibes"]) == 2
    assert "judges must be" in capsys.readouterr().err
