"""WORLD timbre and style transforms change f0, envelope, timing and noise as intended."""

from __future__ import annotations

import numpy as np
import pytest

from voxsmith.data import world
from voxsmith.data.styles import EMOTIONS, RECIPES, STYLES, emotion_vector, recipe
from voxsmith.data.timbre import Timbre, fit_warp, match_timbre
from voxsmith.errors import ConfigError

SR = 22050
CFG = world.WorldConfig(f0_method="dio")


def vowel(
    f0: float = 150.0, formants=(700.0, 1200.0, 2600.0), seconds: float = 0.8, seed: int = 0
) -> np.ndarray:
    """A synthetic voiced vowel: glottal pulse train through three resonators, with a pause."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    n = int(SR * seconds)
    t = np.arange(n) / SR
    f0_track = f0 * 2.0 ** (3.0 * np.sin(2 * np.pi * 1.5 * t) / 12.0)  # a +-3 semitone contour
    phase = np.cumsum(f0_track / SR)
    src = (np.diff(np.floor(phase), prepend=0.0) > 0).astype(float) + 0.002 * rng.standard_normal(n)
    x = src
    for fc in formants:
        r = np.exp(-np.pi * 90.0 / SR)
        a = [1.0, -2 * r * np.cos(2 * np.pi * fc / SR), r * r]
        x = lfilter([1.0 - r], a, x)
    x = np.concatenate([x, np.zeros(SR // 5)])
    return (0.3 * x / np.max(np.abs(x))).astype(np.float32)


@pytest.fixture(scope="module")
def feat() -> world.WorldFeatures:
    return world.analyze(vowel(), CFG)


def peak_hz(env_db: np.ndarray, lo: float = 400.0, hi: float = 1000.0) -> float:
    freqs = np.linspace(0, SR / 2, env_db.shape[0])
    sel = (freqs >= lo) & (freqs <= hi)
    return float(freqs[sel][np.argmax(env_db[sel])])


def test_analysis_finds_f0_and_resynthesis_keeps_it(feat):
    assert 130 < world.median_f0(feat) < 170
    again = world.analyze(world.synthesize(feat), CFG)
    assert abs(world.median_f0(again) / world.median_f0(feat) - 1.0) < 0.03


def test_f0_scale_moves_f0_by_the_factor(feat):
    out = Timbre(f0_scale=1.5).apply(feat)
    assert world.median_f0(out) / world.median_f0(feat) == pytest.approx(1.5, rel=0.01)
    measured = world.analyze(world.synthesize(out), CFG)
    assert world.median_f0(measured) / world.median_f0(feat) == pytest.approx(1.5, rel=0.05)


def test_positive_warp_moves_formants_down_negative_up(feat):
    base = peak_hz(world.long_term_envelope(feat))
    down = peak_hz(world.long_term_envelope(Timbre(warp=0.1).apply(feat)))
    up = peak_hz(world.long_term_envelope(Timbre(warp=-0.1).apply(feat)))
    assert abs(base - 700) < 80
    assert down < base - 60
    assert up > base + 60


def test_tilt_and_breathiness(feat):
    bright = Timbre(tilt_db=3.0).apply(feat)
    freqs = feat.freqs()
    hi = freqs > 4000
    gain_db = world.long_term_envelope(bright) - world.long_term_envelope(feat)
    assert gain_db[hi].mean() > 5.0  # about two octaves above 1 kHz at +3 dB/octave
    breathy = world.breathiness(feat, 0.5)
    v = feat.voiced
    assert breathy[v][:, hi].mean() > feat.ap[v][:, hi].mean() + 0.1
    tense = world.breathiness(feat, -0.5)
    assert tense[v][:, hi].mean() < feat.ap[v][:, hi].mean()


def test_time_stretch_changes_length_and_keeps_pitch(feat):
    fast = world.time_stretch(feat, 1.25)
    slow = world.time_stretch(feat, 0.8)
    assert fast.n_frames == pytest.approx(feat.n_frames / 1.25, abs=1)
    assert slow.n_frames == pytest.approx(feat.n_frames / 0.8, abs=1)
    assert world.median_f0(fast) == pytest.approx(world.median_f0(feat), rel=0.02)


def test_match_timbre_recovers_a_known_transform():
    src = [world.analyze(vowel(120.0, seed=s), CFG) for s in range(2)]
    target = [Timbre(warp=-0.08, f0_scale=1.6).apply(f) for f in src]
    fit = match_timbre(src, target)
    assert fit.f0_scale == pytest.approx(1.6, rel=0.03)
    assert fit.warp == pytest.approx(-0.08, abs=0.025)
    env = world.long_term_envelope(src[0])
    assert fit_warp(env, env, SR) == 0.0


def test_styles_cover_the_design_emotions_with_graded_strengths():
    assert EMOTIONS == ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")
    assert set(RECIPES) == set(STYLES)
    half = recipe("sad", 0.5)
    assert half.f0_shift_st == pytest.approx(RECIPES["sad"].f0_shift_st * 0.5)
    assert half.tempo == pytest.approx(RECIPES["sad"].tempo ** 0.5)
    assert recipe("neutral", 1.0) == RECIPES["neutral"]
    assert emotion_vector("angry", 0.67)[1] == 0.67 and sum(emotion_vector("neutral", 0)) == 0
    with pytest.raises(ConfigError):
        recipe("bored")
    with pytest.raises(ConfigError):
        recipe("happy", 1.5)


@pytest.mark.parametrize("style", ["happy", "sad", "melancholic", "surprised", "angry"])
def test_style_moves_prosody_the_way_its_recipe_says(feat, style):
    r = recipe(style, 1.0)
    exp = r.expected()
    out = r.apply(feat, np.random.default_rng(0))
    st_in = world.semitones(feat.f0)[feat.voiced]
    st_out = world.semitones(out.f0)[out.voiced]
    if exp["f0_mean"]:
        assert np.sign(np.mean(st_out) - np.mean(st_in)) == exp["f0_mean"]
    if exp["f0_std"]:
        assert np.sign(np.std(st_out) - np.std(st_in)) == exp["f0_std"]
    if exp["rate"]:
        assert np.sign(feat.n_frames - out.n_frames) == exp["rate"]


def test_every_emotion_states_a_direction():
    for style in EMOTIONS:
        exp = recipe(style).expected()
        assert any(exp.values()), style
    assert not any(recipe("neutral").expected().values())
    assert recipe("sad").expected() == {"f0_mean": -1, "f0_std": -1, "rate": -1, "energy": -1, "tilt": -1}
