"""Prosodic emotion styles: one documented recipe per emotion category, at graded strengths.

The 8 categories are those of DESIGN.md, in the fixed order ``happy, angry, sad, afraid,
disgusted, melancholic, surprised, calm``, plus ``neutral`` (no change). Each recipe edits
WORLD features of a neutral reading; at strength ``s`` in (0, 1] additive parameters
(semitones, dB) are scaled by ``s`` and ratios (range, tempo) are raised to the power ``s``.

Recipes follow the direction of the acoustic cues reported for vocal emotion (Scherer 1986;
Banse & Scherer 1996; Juslin & Laukka 2003): high-arousal emotions (happy, angry, afraid,
surprised) raise f0 level and speed; sad and melancholic lower f0, narrow its range, slow
down and soften; anger is loud with a flat (bright) spectrum; fear has an unsteady voice;
surprise has a wide range and a final rise. The magnitudes are voxsmith's own choices.

| style       | f0 st | range | tempo | energy dB | tilt dB/oct | breath | other                         |
|-------------|-------|-------|-------|-----------|-------------|--------|-------------------------------|
| happy       | +3    | x1.35 | x1.08 | +2        | +1.0        | 0      | formants up (smile, warp -.03) |
| angry       | +2    | x1.30 | x1.12 | +5        | +2.5        | -0.4   | jitter 0.15 st                 |
| sad         | -2    | x0.55 | x0.82 | -4        | -2.0        | +0.35  | tremor 5 Hz 0.3 st, fall -1.5 st |
| afraid      | +4    | x1.20 | x1.12 | -1        | 0           | +0.30  | tremor 6.5 Hz 0.8 st, jitter   |
| disgusted   | -2.5  | x0.70 | x0.86 | 0         | -1.0        | 0      | fall -2 st, formants down .03  |
| melancholic | -3    | x0.45 | x0.85 | -3        | -2.5        | +0.20  | monotone                       |
| surprised   | +5    | x1.60 | x1.05 | +2        | +1.0        | 0      | final rise +4 st               |
| calm        | -0.5  | x0.80 | x0.92 | -1.5      | -0.5        | +0.05  |                                |

``expected()`` gives the measurable direction of each recipe against neutral (f0 mean,
f0 spread as a std in semitones, speaking rate, energy, spectral tilt), for the judges to
verify; 0 means the recipe makes no claim (a change smaller than the measurement noise).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from voxsmith.data import world
from voxsmith.data.world import WorldFeatures
from voxsmith.errors import ConfigError

EMOTIONS = ("happy", "angry", "sad", "afraid", "disgusted", "melancholic", "surprised", "calm")
STYLES = ("neutral",) + EMOTIONS
STRENGTHS = (0.33, 0.67, 1.0)  # graded strengths used by the corpus
_RATIOS = ("f0_range", "tempo")  # parameters interpolated geometrically
NEUTRAL_F0_STD_ST = 2.5  # typical f0 std of a neutral engine reading, semitones


@dataclass(frozen=True)
class StyleRecipe:
    """Prosodic change of one style at full strength; defaults are neutral (no change)."""

    f0_shift_st: float = 0.0  # f0 level change, semitones
    f0_range: float = 1.0  # scale of f0 excursions around the utterance mean
    tempo: float = 1.0  # speaking-rate factor (> 1 faster)
    energy_db: float = 0.0  # loudness change, dB
    tilt_db: float = 0.0  # spectral tilt change, dB/octave re 1 kHz (> 0 brighter)
    breath: float = 0.0  # aperiodicity: > 0 breathier, < 0 tenser
    warp: float = 0.0  # formant shift (all-pass factor; < 0 formants up)
    declination_st: float = 0.0  # f0 fall (< 0) or rise over the whole utterance, semitones
    final_rise_st: float = 0.0  # f0 rise over the last quarter, semitones
    tremor_hz: float = 0.0  # f0 tremor rate
    tremor_st: float = 0.0  # f0 tremor depth (peak), semitones
    jitter_st: float = 0.0  # frame-to-frame random f0 perturbation (std), semitones

    def at(self, strength: float) -> StyleRecipe:
        """This recipe scaled to ``strength`` in [0, 1] (tremor rate is kept)."""
        if not 0.0 <= strength <= 1.0:
            raise ConfigError(f"style strength must be in [0, 1], got {strength}")
        values = {}
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name == "tremor_hz":
                values[f.name] = v
            elif f.name in _RATIOS:
                values[f.name] = float(v**strength)
            else:
                values[f.name] = float(v * strength)
        return replace(self, **values)

    def expected(self) -> dict[str, int]:
        """Sign (+1, -1, 0) of the change against neutral of each measurable quantity."""

        def sign(x: float, eps: float) -> int:
            return 0 if abs(x) < eps else (1 if x > 0 else -1)

        level = self.f0_shift_st + 0.25 * self.final_rise_st
        # f0 spread (std in semitones) of a typical neutral reading, then of this style
        s0 = NEUTRAL_F0_STD_ST
        var = (self.f0_range * s0) ** 2 + self.declination_st**2 / 12 + self.final_rise_st**2 / 20
        var += self.tremor_st**2 / 2 + self.jitter_st**2
        spread = 0.5 * np.log(var / s0**2)
        return {
            "f0_mean": sign(level, 0.75),
            "f0_std": sign(float(spread), 0.05),
            "rate": sign(float(np.log(self.tempo)), 0.03),
            "energy": sign(self.energy_db, 1.0),
            "tilt": sign(self.tilt_db, 0.75),
        }

    def apply(self, feat: WorldFeatures, rng: np.random.Generator) -> WorldFeatures:
        """Features with this style applied (energy is applied later, as a loudness target)."""
        out = feat.copy()
        if self.warp or self.tilt_db:
            out.sp = world.warp_envelope(out.sp, self.warp)
            if self.tilt_db:
                out.sp = out.sp * world.tilt_gain(out.freqs(), self.tilt_db)[None, :]
        out.f0 = reshape_f0(out.f0, self, out.frame_period, rng)
        if self.breath:
            out.ap = world.breathiness(out, self.breath)
        if self.tempo != 1.0:
            out = world.time_stretch(out, self.tempo)
        return out


def reshape_f0(f0: np.ndarray, r: StyleRecipe, frame_ms: float, rng: np.random.Generator) -> np.ndarray:
    """(T,) f0 with level, range, declination, final rise, tremor and jitter applied."""
    v = f0 > 0
    if not v.any():
        return f0.copy()
    st = world.semitones(f0)
    mean = float(np.nanmean(st[v]))
    idx = np.flatnonzero(v)
    pos = np.zeros_like(f0)
    span = max(1, idx[-1] - idx[0])
    pos[v] = (idx - idx[0]) / span  # 0..1 over the voiced part of the utterance
    new = mean + r.f0_range * (st - mean) + r.f0_shift_st
    new = new + r.declination_st * (pos - 0.5)
    if r.final_rise_st:
        tail = np.clip((pos - 0.75) / 0.25, 0.0, 1.0)
        new = new + r.final_rise_st * tail**2
    if r.tremor_st and r.tremor_hz:
        t = np.arange(f0.shape[0]) * frame_ms / 1000.0
        phase = rng.uniform(0, 2 * np.pi)
        new = new + r.tremor_st * np.sin(2 * np.pi * r.tremor_hz * t + phase)
    if r.jitter_st:
        new = new + rng.normal(0.0, r.jitter_st, size=f0.shape)
    out = world.from_semitones(new, v)
    return np.clip(out, 40.0, 1100.0) * v


RECIPES: dict[str, StyleRecipe] = {
    "neutral": StyleRecipe(),
    "happy": StyleRecipe(
        f0_shift_st=3.0, f0_range=1.35, tempo=1.08, energy_db=2.0, tilt_db=1.0, warp=-0.03
    ),
    "angry": StyleRecipe(
        f0_shift_st=2.0, f0_range=1.3, tempo=1.12, energy_db=5.0, tilt_db=2.5, breath=-0.4, jitter_st=0.15
    ),
    "sad": StyleRecipe(
        f0_shift_st=-2.0, f0_range=0.55, tempo=0.82, energy_db=-4.0, tilt_db=-2.0, breath=0.35,
        declination_st=-1.5, tremor_hz=5.0, tremor_st=0.3,
    ),
    "afraid": StyleRecipe(
        f0_shift_st=4.0, f0_range=1.2, tempo=1.12, energy_db=-1.0, breath=0.3, tremor_hz=6.5,
        tremor_st=0.8, jitter_st=0.2,
    ),
    "disgusted": StyleRecipe(
        f0_shift_st=-2.5, f0_range=0.7, tempo=0.86, tilt_db=-1.0, warp=0.03, declination_st=-2.0
    ),
    "melancholic": StyleRecipe(
        f0_shift_st=-3.0, f0_range=0.45, tempo=0.85, energy_db=-3.0, tilt_db=-2.5, breath=0.2
    ),
    "surprised": StyleRecipe(
        f0_shift_st=5.0, f0_range=1.6, tempo=1.05, energy_db=2.0, tilt_db=1.0, final_rise_st=4.0
    ),
    "calm": StyleRecipe(f0_shift_st=-0.5, f0_range=0.8, tempo=0.92, energy_db=-1.5, tilt_db=-0.5, breath=0.05),
}  # fmt: skip


def recipe(style: str, strength: float = 1.0) -> StyleRecipe:
    """The recipe of ``style`` scaled to ``strength`` (neutral ignores the strength)."""
    if style not in RECIPES:
        raise ConfigError(f"unknown style {style!r} (known: {', '.join(STYLES)})")
    return RECIPES[style] if style == "neutral" else RECIPES[style].at(strength)


def emotion_vector(style: str, strength: float) -> list[float]:
    """The 8-dim emotion weights of a clip in DESIGN.md order (neutral: all zero)."""
    vec = [0.0] * len(EMOTIONS)
    if style != "neutral":
        vec[EMOTIONS.index(style)] = float(strength)
    return vec
