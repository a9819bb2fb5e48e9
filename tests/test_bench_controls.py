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
