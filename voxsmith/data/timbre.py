"""Speaker timbre transforms on WORLD features, and fitting one voice onto another.

A ``Timbre`` turns an engine voice into a new speaker: formant shift (all-pass warping of the
spectral envelope), f0 scale, f0 liveliness (range around the clip's own mean), spectral tilt,
breathiness, an optional equaliser curve and a habitual speaking rate.

``match_timbre`` fits the transform that brings a source voice (e.g. an English engine voice)
to the f0 median and long-term spectral envelope of a target voice (e.g. a Mandarin voice):
f0 scale from the medians, warp factor by grid search on the envelopes, and the remaining
envelope difference as a smoothed, clipped equaliser curve. That is how voxsmith builds its
bilingual speakers (see speakers.py): it matches the average colour and pitch of a voice,
not every detail of it, and the speaker judge measures how close the two halves end up.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from voxsmith.data import world
from voxsmith.data.world import WorldFeatures

EQ_POINTS_HZ = (100, 150, 220, 320, 450, 640, 900, 1250, 1750, 2400, 3300, 4500, 6000, 8000, 10500)
EQ_LIMIT_DB = 9.0  # the equaliser never boosts or cuts more than this
WARP_GRID = np.round(np.arange(-0.24, 0.2401, 0.01), 3)  # warp factors searched when matching
MATCH_BAND_HZ = (150.0, 5500.0)  # band where envelopes are compared


@dataclass(frozen=True)
class Timbre:
    """A speaker transform; the default is the identity."""

    warp: float = 0.0  # all-pass factor: > 0 formants down (bigger), < 0 up (smaller)
    f0_scale: float = 1.0  # multiply f0
    f0_range: float = 1.0  # scale f0 excursions (semitones) around the clip's mean
    tilt_db: float = 0.0  # spectral tilt, dB per octave re 1 kHz (> 0 brighter)
    breath: float = 0.0  # aperiodicity change: > 0 breathier, < 0 tenser
    tempo: float = 1.0  # speaking-rate factor (> 1 faster)
    eq_db: tuple[float, ...] = ()  # equaliser gains at EQ_POINTS_HZ (empty = none)

    def is_identity(self) -> bool:
        return self == Timbre()

    def to_dict(self) -> dict:
        d = asdict(self)
        d["eq_db"] = [round(float(x), 2) for x in self.eq_db]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Timbre:
        d = dict(d)
        d["eq_db"] = tuple(float(x) for x in d.get("eq_db", ()))
        return cls(**d)

    def apply(self, feat: WorldFeatures) -> WorldFeatures:
        """New features with this timbre (the input is not modified)."""
        out = feat.copy()
        freqs = out.freqs()
        sp = world.warp_envelope(out.sp, self.warp)
        gain = np.ones_like(freqs)
        if self.tilt_db:
            gain = gain * world.tilt_gain(freqs, self.tilt_db)
        if self.eq_db:
            gain = gain * world.eq_gain(freqs, np.array(EQ_POINTS_HZ, float), np.array(self.eq_db))
        out.sp = sp * gain[None, :]
        v = out.voiced
        if v.any() and (self.f0_scale != 1.0 or self.f0_range != 1.0):
            st = world.semitones(out.f0)
            mean = float(np.nanmean(st[v]))
            st[v] = mean + self.f0_range * (st[v] - mean) + 12.0 * np.log2(self.f0_scale)
            out.f0 = world.from_semitones(st, v)
        if self.breath:
            out.ap = world.breathiness(out, self.breath)
        if self.tempo != 1.0:
            out = world.time_stretch(out, self.tempo)
        return out


def _band(freqs: np.ndarray) -> np.ndarray:
    return (freqs >= MATCH_BAND_HZ[0]) & (freqs <= MATCH_BAND_HZ[1])


def _centered(env_db: np.ndarray, band: np.ndarray) -> np.ndarray:
    return env_db - env_db[band].mean()


def fit_warp(src_env_db: np.ndarray, tgt_env_db: np.ndarray, sample_rate: int) -> float:
    """Warp factor whose warped source envelope is closest (L2 in the band) to the target's."""
    freqs = np.linspace(0.0, sample_rate / 2, src_env_db.shape[0])
    band = _band(freqs)
    tgt = _centered(tgt_env_db, band)
    best, best_err = 0.0, np.inf
    for a in WARP_GRID:
        warped = world.warp_envelope(10.0 ** (src_env_db[None, :] / 10.0), float(a))[0]
        err = float(np.mean((_centered(10.0 * np.log10(warped), band) - tgt)[band] ** 2))
        if err < best_err - 1e-9:
            best, best_err = float(a), err
    return best


def fit_eq(src_env_db: np.ndarray, tgt_env_db: np.ndarray, sample_rate: int) -> tuple[float, ...]:
    """Equaliser gains (dB at EQ_POINTS_HZ) that turn one long-term envelope into the other."""
    freqs = np.linspace(0.0, sample_rate / 2, src_env_db.shape[0])
    band = _band(freqs)
    diff = _centered(tgt_env_db, band) - _centered(src_env_db, band)
    gains = []
    for i, f in enumerate(EQ_POINTS_HZ):
        lo = EQ_POINTS_HZ[i - 1] if i else f / 1.3
        hi = EQ_POINTS_HZ[i + 1] if i + 1 < len(EQ_POINTS_HZ) else f * 1.3
        sel = (freqs >= lo) & (freqs <= hi)
        gains.append(float(np.clip(diff[sel].mean() if sel.any() else 0.0, -EQ_LIMIT_DB, EQ_LIMIT_DB)))
    return tuple(round(g, 2) for g in gains)


def voice_profile(feats: list[WorldFeatures]) -> tuple[float, np.ndarray]:
    """(median f0 in Hz, long-term envelope in dB) of a voice from a few analysed clips."""
    f0 = np.concatenate([f.f0[f.voiced] for f in feats])
    env = np.mean([world.long_term_envelope(f) for f in feats], axis=0)
    return (float(np.median(f0)) if f0.size else 0.0), env


def match_timbre(source: list[WorldFeatures], target: list[WorldFeatures], *, with_eq: bool = True) -> Timbre:
    """The ``Timbre`` that brings the source voice to the target voice's pitch and colour."""
    src_f0, src_env = voice_profile(source)
    tgt_f0, tgt_env = voice_profile(target)
    sr = source[0].sample_rate
    f0_scale = float(np.clip(tgt_f0 / src_f0, 0.4, 2.5)) if src_f0 > 0 and tgt_f0 > 0 else 1.0
    warp = fit_warp(src_env, tgt_env, sr)
    eq: tuple[float, ...] = ()
    if with_eq:
        warped = world.warp_envelope(10.0 ** (src_env[None, :] / 10.0), warp)[0]
        eq = fit_eq(10.0 * np.log10(warped), tgt_env, sr)
    return Timbre(warp=warp, f0_scale=round(f0_scale, 4), eq_db=eq)
