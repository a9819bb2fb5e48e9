"""Why a clip (or a whole source) is not kept: the reasons, and the checks on the signal.

Every dropped clip is counted under exactly one reason, the first check it fails, in this order:
duration, clipping, level, DNSMOS, then text (no text, disagreement with the ASR, unreadable by
the frontend). Signal checks run on the source's own samples, before resampling and loudness
normalisation, which would hide both clipping and a weak level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from voxsmith.prepare.config import FilterConfig, SliceConfig

# reason -> what it means (report.json carries this legend)
REASONS: dict[str, str] = {
    "unreadable": "the file could not be decoded (corrupt, empty or silent)",
    "no_speech": "the voice detector found no speech in the file",
    "too_short": "shorter than --min-s",
    "too_long": "longer than --max-s",
    "clipping": "too many samples at full scale (the recording clipped)",
    "too_quiet": "speech level below the minimum (would be mostly noise once amplified)",
    "dnsmos": "DNSMOS overall quality below --dnsmos-floor",
    "no_text": "no transcript given and the ASR judge recognised no words",
    "asr_mismatch": "ASR transcript disagrees with the given text (CER/WER above --max-cer)",
    "text_unusable": "the text frontend could not read the text",
}


@dataclass(frozen=True)
class Drop:
    """One dropped clip (or source, for ``unreadable``/``no_speech``)."""

    source: str  # source path relative to RAW
    start: float  # seconds in the source
    end: float
    reason: str  # a key of REASONS
    detail: str = ""  # the measured value or the error message

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Drop:
        return cls(str(d["source"]), float(d["start"]), float(d["end"]), str(d["reason"]), str(d["detail"]))


def clipped_share(samples: np.ndarray, level: float) -> float:
    """Share of samples whose magnitude is at least ``level`` (full scale = 1)."""
    return float(np.mean(np.abs(samples) >= level)) if samples.size else 0.0


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level in dB relative to full scale (-inf-safe: silence gives -200)."""
    rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2))) if samples.size else 0.0
    return 20.0 * np.log10(max(rms, 1e-10))


def signal_problem(
    samples: np.ndarray, seconds: float, sl: SliceConfig, fl: FilterConfig
) -> tuple[str, str] | None:
    """``(reason, detail)`` for a clip that fails a duration or signal check, else None.

    samples: (T,) float32 of the clip at the source's rate and level.
    """
    if seconds < sl.min_s:
        return "too_short", f"{seconds:.2f} s"
    if seconds > sl.max_s + 1e-6:
        return "too_long", f"{seconds:.2f} s"
    share = clipped_share(samples, fl.clip_level)
    if share > fl.max_clipped:
        return "clipping", f"{100 * share:.2f}% of samples at |x| >= {fl.clip_level:g}"
    db = level_dbfs(samples)
    if db < fl.min_dbfs:
        return "too_quiet", f"{db:.1f} dBFS"
    return None
