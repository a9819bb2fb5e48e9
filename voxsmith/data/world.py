"""WORLD vocoder features and the transforms that make new speakers and prosodic styles.

A clip is analysed once into per-frame features (f0, spectral envelope, aperiodicity), the
speaker's timbre transform and the style transform edit those features, and one synthesis
makes the waveform. Every corpus clip goes through this path, neutral ones included, so the
vocoder's colouring is shared by all styles and cannot be learned as an emotion cue.

Shapes: ``f0`` (T,) Hz with 0 for unvoiced frames; ``sp`` (T, F) power spectral envelope and
``ap`` (T, F) aperiodicity in [0, 1], with F = fft_size // 2 + 1 bins from 0 Hz to sr/2.

Frequency warping is the first-order all-pass map used in mel-cepstral analysis:
``phi(w) = w + 2 atan(a sin w / (1 - a cos w))``. The new envelope at frequency ``w`` is the old
one at ``phi(w)``: ``a > 0`` moves formants down (a longer vocal tract, a "bigger" voice),
``a < 0`` moves them up.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from voxsmith.errors import AudioError, EngineError


@dataclass(frozen=True)
class WorldConfig:
    """WORLD analysis settings (one set for the whole corpus)."""

    sample_rate: int = 22050  # Hz; engines' audio is resampled to this first
    frame_period: float = 5.0  # ms between frames
    fft_size: int = 1024  # CheapTrick/D4C FFT size -> 513 envelope bins
    f0_floor: float = 60.0  # Hz, lowest f0 searched
    f0_ceil: float = 700.0  # Hz, highest f0 searched
    f0_method: str = "harvest"  # "harvest" (robust, ~0.2x real time) or "dio" (fast, for tests)


@dataclass
class WorldFeatures:
    """WORLD parameters of one clip."""

    f0: np.ndarray  # (T,) Hz, 0 = unvoiced
    sp: np.ndarray  # (T, F) power spectral envelope
    ap: np.ndarray  # (T, F) aperiodicity in [0, 1]
    sample_rate: int
    frame_period: float  # ms

    @property
    def n_frames(self) -> int:
        return int(self.f0.shape[0])

    @property
    def voiced(self) -> np.ndarray:
        return self.f0 > 0

    def freqs(self) -> np.ndarray:
        """(F,) centre frequency of each envelope bin in Hz."""
        return np.linspace(0.0, self.sample_rate / 2, self.sp.shape[1])

    def copy(self) -> WorldFeatures:
        return replace(self, f0=self.f0.copy(), sp=self.sp.copy(), ap=self.ap.copy())


def _pyworld():
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyworld imports pkg_resources
            import pyworld
    except Exception as exc:
        raise EngineError(f"WORLD vocoder unavailable ({exc}): pip install pyworld") from exc
    return pyworld


def track_f0(samples: np.ndarray, cfg: WorldConfig = WorldConfig()) -> tuple[np.ndarray, np.ndarray]:
    """f0 ``(T,)`` in Hz (0 unvoiced) of (N,) float samples at ``cfg.sample_rate``, and the
    frame times ``(T,)`` in seconds: ``cfg.f0_method`` ("dio" refined by StoneMask, or
    "harvest") every ``cfg.frame_period`` ms."""
    pw = _pyworld()
    x = np.ascontiguousarray(samples, dtype=np.float64)
    sr = cfg.sample_rate
    if cfg.f0_method == "dio":
        f0, t = pw.dio(x, sr, f0_floor=cfg.f0_floor, f0_ceil=cfg.f0_ceil, frame_period=cfg.frame_period)
        return pw.stonemask(x, f0, t, sr), t
    if cfg.f0_method == "harvest":
        return pw.harvest(x, sr, f0_floor=cfg.f0_floor, f0_ceil=cfg.f0_ceil, frame_period=cfg.frame_period)
    raise AudioError(f"unknown f0 method {cfg.f0_method!r} (use 'harvest' or 'dio')")


def analyze(samples: np.ndarray, cfg: WorldConfig = WorldConfig()) -> WorldFeatures:
    """Analyse (N,) float samples at ``cfg.sample_rate`` into WORLD features."""
    pw = _pyworld()
    x = np.ascontiguousarray(samples, dtype=np.float64)
    if x.size < cfg.fft_size:
        raise AudioError(f"{x.size} samples is too short for WORLD analysis")
    sr = cfg.sample_rate
    f0, t = track_f0(x, cfg)
    sp = pw.cheaptrick(x, f0, t, sr, f0_floor=cfg.f0_floor, fft_size=cfg.fft_size)
    ap = pw.d4c(x, f0, t, sr, fft_size=cfg.fft_size)
    # Harvest voices too much (it carries f0 through fricatives and pauses); resynthesis would
    # then buzz there. D4C's own voicing decision (all bins aperiodic) unvoices those frames.
    f0 = np.where(ap[:, : ap.shape[1] // 12].mean(axis=1) > 0.999, 0.0, f0)
    return WorldFeatures(f0, sp, ap, sr, cfg.frame_period)


def synthesize(feat: WorldFeatures) -> np.ndarray:
    """(N,) float32 waveform from WORLD features."""
    pw = _pyworld()
    f0 = np.ascontiguousarray(feat.f0, dtype=np.float64)
    sp = np.ascontiguousarray(np.maximum(feat.sp, 1e-16), dtype=np.float64)
    ap = np.ascontiguousarray(np.clip(feat.ap, 0.0, 1.0), dtype=np.float64)
    y = pw.synthesize(f0, sp, ap, feat.sample_rate, feat.frame_period)
    return np.asarray(y, dtype=np.float32)


def silence(n_frames: int, like: WorldFeatures) -> WorldFeatures:
    """``n_frames`` of unvoiced near-silence with the bins of ``like``."""
    bins = like.sp.shape[1]
    floor = float(np.percentile(like.sp, 1)) if like.sp.size else 1e-12
    return WorldFeatures(
        np.zeros(n_frames),
        np.full((n_frames, bins), max(floor, 1e-14)),
        np.ones((n_frames, bins)),
        like.sample_rate,
        like.frame_period,
    )


def concat(parts: list[WorldFeatures]) -> WorldFeatures:
    """Join clips along time (same sample rate, frame period and bins)."""
    if not parts:
        raise AudioError("nothing to concatenate")
    first = parts[0]
    return WorldFeatures(
        np.concatenate([p.f0 for p in parts]),
        np.concatenate([p.sp for p in parts]),
        np.concatenate([p.ap for p in parts]),
        first.sample_rate,
        first.frame_period,
    )


# ----- spectral envelope -------------------------------------------------------------


def warp_axis(n_bins: int, alpha: float) -> np.ndarray:
    """(F,) fractional source-bin index for each output bin under all-pass warping ``alpha``."""
    w = np.linspace(0.0, np.pi, n_bins)
    phi = w + 2.0 * np.arctan2(alpha * np.sin(w), 1.0 - alpha * np.cos(w))
    return phi / np.pi * (n_bins - 1)


def warp_envelope(sp: np.ndarray, alpha: float) -> np.ndarray:
    """(T, F) envelope with formants moved by all-pass warping (``alpha > 0``: down)."""
    if alpha == 0.0:
        return sp.copy()
    pos = np.clip(warp_axis(sp.shape[1], alpha), 0, sp.shape[1] - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, sp.shape[1] - 1)
    frac = pos - i0
    log_sp = np.log(np.maximum(sp, 1e-20))
    out = log_sp[:, i0] * (1.0 - frac) + log_sp[:, i1] * frac
    return np.exp(out)


def tilt_gain(freqs: np.ndarray, db_per_octave: float, ref_hz: float = 1000.0) -> np.ndarray:
    """(F,) power gain of a spectral tilt: +``db_per_octave`` per doubling above ``ref_hz``."""
    octaves = np.log2(np.maximum(freqs, 50.0) / ref_hz)
    return 10.0 ** (db_per_octave * octaves / 10.0)


def eq_gain(freqs: np.ndarray, points_hz: np.ndarray, gains_db: np.ndarray) -> np.ndarray:
    """(F,) power gain from an equaliser curve given at ``points_hz`` (log-frequency interpolation)."""
    lf = np.log(np.maximum(freqs, points_hz[0]))
    db = np.interp(lf, np.log(points_hz), gains_db)
    return 10.0 ** (db / 10.0)


def long_term_envelope(feat: WorldFeatures) -> np.ndarray:
    """(F,) mean log10 power envelope over voiced frames, in dB (the voice's average colour)."""
    v = feat.voiced
    sp = feat.sp[v] if v.sum() >= 5 else feat.sp
    return 10.0 * np.log10(np.maximum(sp, 1e-20)).mean(axis=0)


# ----- aperiodicity and f0 -----------------------------------------------------------


def breathiness(feat: WorldFeatures, amount: float) -> np.ndarray:
    """(T, F) aperiodicity with more noise (``amount`` > 0, breathy) or less (< 0, tense).

    Breathy noise is added mostly above 1 kHz, in voiced frames only.
    """
    if amount == 0.0:
        return feat.ap.copy()
    f = feat.freqs()
    weight = np.clip((f - 300.0) / 3000.0, 0.0, 1.0) ** 0.5  # (F,)
    ap = feat.ap.copy()
    v = feat.voiced
    if amount > 0:
        ap[v] = ap[v] + amount * weight[None, :] * (1.0 - ap[v])
    else:
        ap[v] = ap[v] * (1.0 + amount * weight[None, :])
    return np.clip(ap, 0.0, 1.0)


def semitones(f0: np.ndarray) -> np.ndarray:
    """Voiced f0 in semitones re 100 Hz (unvoiced frames are NaN)."""
    out = np.full(f0.shape, np.nan)
    v = f0 > 0
    out[v] = 12.0 * np.log2(f0[v] / 100.0)
    return out


def from_semitones(st: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    out = np.zeros(st.shape)
    out[voiced] = 100.0 * 2.0 ** (st[voiced] / 12.0)
    return out


def median_f0(feat: WorldFeatures) -> float:
    v = feat.voiced
    return float(np.median(feat.f0[v])) if v.any() else 0.0


def time_stretch(feat: WorldFeatures, tempo: float) -> WorldFeatures:
    """Speed speech up (``tempo > 1``) or slow it down by resampling frames along time.

    Envelopes are interpolated in the log domain; the voiced/unvoiced decision follows the
    nearest source frame, and log-f0 is interpolated between voiced neighbours.
    """
    if tempo <= 0:
        raise AudioError(f"tempo must be positive, got {tempo}")
    if abs(tempo - 1.0) < 1e-6:
        return feat.copy()
    n = feat.n_frames
    m = max(2, int(round(n / tempo)))
    pos = np.linspace(0.0, n - 1, m)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, n - 1)
    frac = (pos - i0)[:, None]
    log_sp = np.log(np.maximum(feat.sp, 1e-20))
    sp = np.exp(log_sp[i0] * (1 - frac) + log_sp[i1] * frac)
    ap = feat.ap[i0] * (1 - frac) + feat.ap[i1] * frac
    voiced_src = feat.voiced
    nearest = np.rint(pos).astype(int)
    voiced = voiced_src[nearest]
    f0 = np.zeros(m)
    if voiced_src.any():
        idx = np.flatnonzero(voiced_src)
        lf = np.interp(pos, idx, np.log(feat.f0[idx]))
        f0[voiced] = np.exp(lf[voiced])
    return WorldFeatures(f0, sp, ap, feat.sample_rate, feat.frame_period)
