"""The emotion benchmark's whole-shift summary (benchmarks/controls.py, ``along_style``)."""

from __future__ import annotations

import pytest

from benchmarks.controls import along_style


def _styles(shifts: dict[str, tuple[dict, dict]]) -> dict:
    return {e: {"shift": dict(m), "corpus_shift": dict(c)} for e, (m, c) in shifts.items()}


def test_share_along_the_style_is_the_projection_in_units_of_the_corpus_spread():
    corpus_a = {"f0_mean": 4.0, "tilt": 0.0}
    corpus_b = {"f0_mean": 0.0, "tilt": -2.0}
    styles = _styles(
        {
            "a": ({"f0_mean": 2.0, "tilt": 0.0}, corpus_a),  # half the style, same direction
            "b": ({"f0_mean": 3.0, "tilt": 0.0}, corpus_b),  # moved, but not the way the style does
        }
    )
    along_style(styles)
    assert styles["a"]["along_style"] == {"share": 0.5, "cos": 1.0}
    assert styles["b"]["along_style"]["share"] == pytest.approx(0.0)
    assert styles["b"]["along_style"]["cos"] == pytest.approx(0.0)
    # units: a measure with large numbers (semitones) does not outweigh one with small (dB/oct)
    styles = _styles({"a": ({"f0_mean": 4.0, "tilt": -2.0}, {"f0_mean": 4.0, "tilt": 2.0})})
    along_style(styles)
    assert styles["a"]["along_style"]["share"] == pytest.approx(0.0)


def test_nothing_is_added_without_corpus_shifts():
    styles = {"a": {"shift": {"f0_mean": 1.0}, "corpus_shift": None}}
    along_style(styles)
    assert "along_style" not in styles["a"]


def test_emotion_clips_come_from_another_speaker_at_full_strength_other_language_first(tmp_path):
    import json

    from benchmarks.controls import emotion_clips
    from voxsmith.data.styles import EMOTIONS

    rows = []
    for spk, lang in (("zh-a", "zh"), ("zh-b", "zh"), ("en-c", "en")):
        for emo in EMOTIONS:
            for strength in (0.5, 1.0):
                rid = f"{spk}_{emo}{int(strength * 100)}"
                (tmp_path / "wavs").mkdir(exist_ok=True)
                (tmp_path / "wavs" / f"{rid}.wav").write_bytes(b"")
                rows.append({"id": rid, "path": f"wavs/{rid}.wav", "speaker": spk, "lang": lang, "style": emo,
                             "style_strength": strength, "split": "test", "text": "x", "normalized": "x",
                             "syllables": [], "phones": [], "units": [], "engine": "flite", "voice": "flite:slt",
                             "emotion": [0.0] * 8, "duration_s": 1.0})  # fmt: skip
    (tmp_path / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    items = [(None, {"speaker": "zh-a", "lang": "zh"}, []), (None, {"speaker": "en-c", "lang": "en"}, [])]
    clips = emotion_clips(tmp_path, items)
    assert set(clips["zh-a"]) == set(EMOTIONS)
    assert all(p.name.startswith("en-c_") and p.name.endswith("100.wav") for p in clips["zh-a"].values())
    assert all(p.name.startswith("zh-") and not p.name.startswith("en-c") for p in clips["en-c"].values())
