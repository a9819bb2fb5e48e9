"""Prosody judge: f0 level and range (WORLD), energy, speaking rate and duration of a clip.

- f0: WORLD (pyworld) ``dio`` + ``stonemask`` (or ``harvest``) at 16 kHz, 10 ms frames,
  voiced frames only. Frames more than an octave from the clip's median f0 are dropped as
  tracking errors (octave jumps, creak). Given in Hz and in semitones re 100 Hz; the
  semitone std is the pitch range measure that compares across voices.
- energy: active speech level, the mean power of the 20 ms frames within 40 dB of the
  loudest one, in dBFS; its std (dB) is the loudness variation.
- rate: spoken units per second of speech (leading/trailing silence excluded): syllables
  for zh (one per Hanzi, numbers read out), words for en (``scoring.count_units``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from voxsmith.audio import AudioProcessor
from voxsmith.errors import ConfigError
from voxsmith.eval.common import AudioInput, load_audio, require
from voxsmith.eval.scoring import count_units


@dataclass
class ProsodyConfig:
    """Analysis settings of the prosody judge."""

    sample_rate: int = 16000  # Hz the analysis runs at
    f0_method: str = "dio"  # "dio" (+ stonemask; ~50x faster) or "harvest" (WORLD's robust tracker)
    f0_floor: float = 50.0  # Hz, lowest f0 searched
    f0_ceil: float = 800.0  # Hz, highest f0 searched
    frame_ms: float = 10.0  # WORLD frame period
    octave_guard: float = 12.0  # semitones from the median beyond which a voiced frame is an error
    st_ref_hz: float = 100.0  # f0 that is 0 semitones
    energy_frame_ms: float = 20.0  # frame length for the RMS energy
    speech_db: float = 40.0  # frames (and edges) within this many dB of the loudest count as speech


@dataclass(frozen=True)
class Prosody:
    """Prosodic measures of one clip; f0 fields are None when no frame is voiced."""

    duration_s: float  # whole clip
    speech_s: float  # without leading/trailing silence
    f0_mean_hz: float | None
    f0_std_hz: float | None
    f0_mean_st: float | None  # semitones re ``st_ref_hz``
    f0_std_st: float | None
    voiced_ratio: float  # voiced frames / all frames
    energy_db: float  # active speech level, dBFS
    energy_std_db: float
    units: int | None  # syllables (zh) or words (en) of the text; None without text
    rate: float | None  # units per second of speech
    rate_unit: str | None  # "syllables/s" or "words/s"

    def to_dict(self) -> dict[str, float | int | str | None]:
        return asdict(self)


# Measures compared against a neutral baseline: differences, except rate (a ratio).
DELTA_KEYS = ("f0_mean_hz", "f0_mean_st", "f0_std_st", "energy_db", "energy_std_db")


def prosody_deltas(item: dict, base: dict) -> dict[str, float | None]:
    """``d_<key>`` = item - baseline for ``DELTA_KEYS`` and ``rate_ratio`` = item / baseline."""
    out: dict[str, float | None] = {}
    for key in DELTA_KEYS:
        a, b = item.get(key), base.get(key)
        out[f"d_{key}"] = None if a is None or b is None else float(a) - float(b)
    rate, base_rate = item.get("rate"), base.get("rate")
    out["rate_ratio"] = float(rate) / float(base_rate) if rate and base_rate else None
    return out


class ProsodyJudge:
    """Measures ``Prosody`` of clips; holds only its config (WORLD has no model to load)."""

    def __init__(self, config: ProsodyConfig | None = None) -> None:
        self.config = config or ProsodyConfig()
        if self.config.f0_method not in ("dio", "harvest"):
            raise ConfigError(f"f0_method must be 'dio' or 'harvest', got {self.config.f0_method!r}")

    def f0(self, samples: np.ndarray) -> np.ndarray:
        """(frames,) f0 in Hz (0 = unvoiced) of (T,) samples at ``config.sample_rate``."""
        pw = require("pyworld", "pyworld", "the prosody judge")
        cfg = self.config
        x = samples.astype(np.float64)
        kw = {"f0_floor": cfg.f0_floor, "f0_ceil": cfg.f0_ceil, "frame_period": cfg.frame_ms}
        if cfg.f0_method == "harvest":
            f0, _ = pw.harvest(x, cfg.sample_rate, **kw)
        else:
            f0, t = pw.dio(x, cfg.sample_rate, **kw)
            f0 = pw.stonemask(x, f0, t, cfg.sample_rate)
        return np.asarray(f0, dtype=np.float64)

    def _energy(self, samples: np.ndarray) -> tuple[float, float]:
        cfg = self.config
        frame = max(1, int(cfg.sample_rate * cfg.energy_frame_ms / 1000))
        n = max(1, len(samples) // frame)
        x = np.pad(samples, (0, max(0, n * frame - len(samples))))[: n * frame].astype(np.float64)
        power = np.mean(x.reshape(n, frame) ** 2, axis=1) + 1e-12
        db = 10 * np.log10(power)
        speech = db > db.max() - cfg.speech_db
        return float(10 * np.log10(np.mean(power[speech]))), float(np.std(db[speech]))

    def measure(self, src: AudioInput, text: str | None = None, lang: str | None = None) -> Prosody:
        """Prosody of a clip (path or ``Audio``). ``text`` and ``lang`` give the speaking rate."""
        cfg = self.config
        samples = load_audio(src, cfg.sample_rate)
        f0 = self.f0(samples)
        voiced = f0[f0 > 0]
        if voiced.size:
            st = 12 * np.log2(voiced / cfg.st_ref_hz)
            keep = np.abs(st - np.median(st)) <= cfg.octave_guard
            voiced, st = voiced[keep], st[keep]
        f0_stats: tuple[float | None, ...] = (None, None, None, None)
        if voiced.size:
            f0_stats = (float(voiced.mean()), float(voiced.std()), float(st.mean()), float(st.std()))
        energy_db, energy_std = self._energy(samples)
        trimmed = AudioProcessor.trim_silence(samples, cfg.sample_rate, top_db=cfg.speech_db, pad_ms=0.0)
        speech_s = len(trimmed) / cfg.sample_rate
        units = rate = unit_name = None
        if text is not None and lang is not None:
            units = count_units(text, lang)
            rate = units / speech_s if speech_s > 0 else None
            unit_name = "syllables/s" if lang == "zh" else "words/s"
        return Prosody(
            duration_s=len(samples) / cfg.sample_rate,
            speech_s=speech_s,
            f0_mean_hz=f0_stats[0],
            f0_std_hz=f0_stats[1],
            f0_mean_st=f0_stats[2],
            f0_std_st=f0_stats[3],
            voiced_ratio=float(voiced.size / max(1, f0.size)),
            energy_db=energy_db,
            energy_std_db=energy_std,
            units=units,
            rate=rate,
            rate_unit=unit_name,
        )

    def describe(self) -> dict[str, str]:
        return {"f0": f"WORLD {self.config.f0_method}", "semitone_ref_hz": str(self.config.st_ref_hz)}
