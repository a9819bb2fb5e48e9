"""Evaluation manifest parsing, the speaker pool, and summary statistics (no models needed)."""

from __future__ import annotations

import json

import pytest

from voxsmith.errors import DataError
from voxsmith.eval.manifest import load_manifest, load_pool
from voxsmith.eval.prosody import prosody_deltas
from voxsmith.eval.summary import equal_error_rate, summarize


def _write(path, rows):
    path.write_text(
        "".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8"
    )
    return path


def test_manifest_resolves_paths_and_keeps_extra_fields(tmp_path):
    m = _write(
        tmp_path / "m.jsonl",
        [
            {
                "id": "a",
                "path": "gen/a.wav",
                "text": "你好",
                "lang": "zh",
                "ref_path": "/refs/x.wav",
                "other_speaker_refs": {"y": "refs/y.wav", "z": ["z1.wav", "z2.wav"]},
                "style": "happy",
                "style_strength": 1,
                "engine": "tiny",
            },
            {"path": "b.wav", "speaker": "s1", "other_speaker_refs": ["o.wav"]},
        ],
    )
    a, b = load_manifest(m)
    assert a.path == tmp_path / "gen/a.wav" and str(a.ref_path) == "/refs/x.wav"
    assert a.other_refs == {"y": [tmp_path / "refs/y.wav"], "z": [tmp_path / "z1.wav", tmp_path / "z2.wav"]}
    assert a.style_strength == 1.0 and a.meta == {"engine": "tiny"} and not a.is_neutral
    assert a.speaker_key == "/refs/x.wav"
    assert b.id == "line2" and b.speaker_key == "s1" and b.is_neutral
    assert b.other_refs == {"o.wav": [tmp_path / "o.wav"]}


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "m.jsonl:2: not valid JSON"),
        ('{"text": "no path"}', "m.jsonl:2: missing required field 'path'"),
        ('{"path": "x.wav", "lang": "fr"}', "m.jsonl:2: lang 'fr'"),
        ('{"path": "x.wav", "style_strength": "high"}', "style_strength"),
        ('{"id": "a", "path": "y.wav"}', "duplicate id 'a'"),
        ('{"path": "x.wav", "other_speaker_refs": 3}', "other_speaker_refs"),
    ],
)
def test_bad_manifest_lines_name_file_and_line(tmp_path, line, message):
    m = _write(tmp_path / "m.jsonl", [{"id": "a", "path": "a.wav"}, line])
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        load_manifest(m)


def test_missing_or_empty_manifest(tmp_path):
    with pytest.raises(DataError, match="not found"):
        load_manifest(tmp_path / "none.jsonl")
    with pytest.raises(DataError, match="no items"):
        load_manifest(_write(tmp_path / "e.jsonl", [""]))


def test_pool_prefers_neutral_clips_and_caps_per_speaker(tmp_path):
    rows = [{"path": f"s{i}.wav", "speaker": "A", "style": "angry" if i < 2 else "neutral"} for i in range(5)]
    rows.append({"path": "b.wav", "speaker": "B"})
    pool = load_pool(_write(tmp_path / "p.jsonl", rows), pool_clips=4)
    assert pool["A"] == [tmp_path / n for n in ("s2.wav", "s3.wav", "s4.wav", "s0.wav")]
    assert pool["B"] == [tmp_path / "b.wav"]
    with pytest.raises(DataError, match="speaker"):
        load_pool(_write(tmp_path / "q.jsonl", [{"path": "x.wav"}]))


def test_equal_error_rate():
    assert equal_error_rate([0.9, 0.8, 0.95], [0.1, 0.2, 0.3])[0] == 0.0  # separable
    eer, threshold = equal_error_rate([0.9, 0.8, 0.5, 0.7], [0.1, 0.6, 0.3, 0.2])
    assert eer == pytest.approx(0.25) and 0.5 <= threshold <= 0.7  # one genuine below one impostor
    assert equal_error_rate([0.5], []) is None


def test_prosody_deltas_are_differences_and_rate_ratio():
    d = prosody_deltas({"f0_mean_st": 5.0, "energy_db": -18.0, "rate": 6.0}, {"f0_mean_st": 2.0, "rate": 4.0})
    assert d["d_f0_mean_st"] == 3.0 and d["rate_ratio"] == 1.5 and d["d_energy_db"] is None


def test_summary_means_per_language_and_style():
    rows = [
        {"lang": "zh", "style": "neutral", "duration_s": 2.0, "asr_text": "x", "asr_lang": "zh", "cer": 0.0,
         "asr_edits": 0, "asr_ref_len": 10, "sim_ref": 0.9, "sim_other": 0.5, "sim_margin": 0.4,
         "f0_mean_hz": 100.0, "f0_mean_st": 0.0, "rate": 4.0, "rate_lang": "zh"},
        {"lang": "zh", "style": "happy", "duration_s": 1.0, "asr_text": "y", "asr_lang": "zh", "cer": 0.5,
         "asr_edits": 1, "asr_ref_len": 2, "sim_ref": 0.6, "sim_other": 0.7, "sim_margin": -0.1,
         "f0_mean_hz": 130.0, "f0_mean_st": 4.5, "rate": 5.0, "rate_lang": "zh", "d_f0_mean_st": 4.5},
        {"lang": "en", "style": "happy", "error": "bad file"},
    ]  # fmt: skip
    s = summarize(rows, impostor_scores=[0.5, 0.7, 0.2], group_by=("style", "missing"))
    assert (s["n_items"], s["n_failed"]) == (3, 1)
    assert s["duration"]["total_s"] == 3.0
    assert s["asr"]["zh"]["mean"] == pytest.approx(0.25) and s["asr"]["zh"]["micro"] == pytest.approx(1 / 12)
    assert "en" not in s["asr"]
    assert s["sim"]["ref_mean"] == pytest.approx(0.75) and s["sim"]["identified"] == 0.5
    assert s["styles"]["happy"]["d_f0_mean_st"] == 4.5 and s["styles"]["neutral"]["rate_zh"] == 4.0
    assert set(s["groups"]) == {"style"} and s["groups"]["style"]["happy"]["n"] == 1
