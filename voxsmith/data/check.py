"""``voxsmith corpus check-styles``: does each emotion style move prosody the way its recipe says?

For every clip of a style, the same speaker's neutral reading is the reference: the same
sentence when the speaker has one (the parallel sets), else the speaker's neutral average
(else, in a small or partial corpus, the language's neutral average).
Measured per clip (WORLD dio f0 on the written wav):

- ``f0_mean``: mean voiced f0, semitones re 100 Hz;
- ``f0_std``: std of voiced f0, semitones;
- ``rate``: pronunciation units (syllables for zh, phones for en) per second of speech
  (the clip without its leading and trailing silence), as a log ratio to neutral;
- ``energy``: RMS level of the clip, dB;
- ``tilt``: slope of the long-term spectrum between 500 Hz and 4 kHz, dB per octave.

The result per style is the mean shift against neutral at each strength and whether its sign
agrees with ``StyleRecipe.expected()`` at full strength.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from voxsmith.audio import AudioProcessor
from voxsmith.data import world
from voxsmith.data.manifest import read_rows
from voxsmith.data.styles import EMOTIONS, recipe
from voxsmith.errors import DataError

MEASURES = ("f0_mean", "f0_std", "rate", "energy", "tilt")


def speech_rate(samples: np.ndarray, sr: int, n_units: int) -> float:
    """Log of pronunciation units per second of speech (the clip without its edge silence)."""
    speech = AudioProcessor.trim_silence(samples, sr, top_db=35.0, pad_ms=0.0)
    return float(np.log(max(n_units, 1) / max(len(speech) / sr, 0.1)))


def measure_clip(samples: np.ndarray, sr: int, n_units: int) -> dict[str, float]:
    """The five prosody measures of one clip (see the module docstring)."""
    feat = world.analyze(samples, world.WorldConfig(sample_rate=sr, f0_method="dio"))
    st = world.semitones(feat.f0)[feat.voiced]
    spec = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) ** 2
    freqs = np.fft.rfftfreq(len(samples), 1.0 / sr)
    band = (freqs >= 500) & (freqs <= 4000)
    slope = np.polyfit(np.log2(freqs[band]), 10 * np.log10(spec[band] + 1e-12), 1)[0]
    return {
        "f0_mean": float(np.mean(st)) if st.size else float("nan"),
        "f0_std": float(np.std(st)) if st.size else float("nan"),
        "rate": speech_rate(samples, sr, n_units),
        "energy": float(10 * np.log10(np.mean(samples.astype(np.float64) ** 2) + 1e-12)),
        "tilt": float(slope),
    }


def spoken_units(row: dict) -> int:
    """Pronunciation units of a manifest row (syllables or phones), punctuation left out."""
    return sum(1 for u in row.get("units", []) if u not in (",", "."))


def style_shifts(root: Path, max_per_style: int = 60, seed: int = 0) -> dict:
    """Mean prosody shift of each style against the same speakers' neutral clips."""
    rows = read_rows(Path(root))
    if not rows:
        raise DataError(f"{root}: no clips to check")
    rng = np.random.default_rng(seed)
    neutral = [r for r in rows if r["style"] == "neutral"]
    if not neutral:
        raise DataError(f"{root}: no neutral clips to compare the styles with")
    by_style = {s: [r for r in rows if r["style"] == s] for s in EMOTIONS}
    picked = {s: [rs[i] for i in rng.permutation(len(rs))[:max_per_style]] for s, rs in by_style.items()}
    needed_speakers = {r["speaker"] for rs in picked.values() for r in rs}
    cache: dict[str, dict[str, float]] = {}

    def m(row: dict) -> dict[str, float]:
        if row["id"] not in cache:
            audio = AudioProcessor.load(Path(root) / row["path"])
            cache[row["id"]] = measure_clip(audio.samples, audio.sample_rate, spoken_units(row))
        return cache[row["id"]]

    same_sentence = {(r["speaker"], r["sentence"]): r for r in neutral}
    speaker_mean: dict[str, dict[str, float]] = {}
    for spk in sorted(needed_speakers):
        own = [r for r in neutral if r["speaker"] == spk]
        own = [own[i] for i in rng.permutation(len(own))[:6]]
        if own:
            vals = [m(r) for r in own]
            speaker_mean[spk] = {k: float(np.nanmean([v[k] for v in vals])) for k in MEASURES}
    lang_mean: dict[str, dict[str, float]] = {}  # last resort: a speaker without neutral clips
    for lang in sorted({r["lang"] for r in neutral}):
        own = [r for r in neutral if r["lang"] == lang]
        vals = [m(own[i]) for i in rng.permutation(len(own))[:12]]
        lang_mean[lang] = {k: float(np.nanmean([v[k] for v in vals])) for k in MEASURES}
    out: dict = {}
    for style, rs in picked.items():
        deltas: dict[float, list[dict[str, float]]] = defaultdict(list)
        paired = 0
        for r in rs:
            ref_row = same_sentence.get((r["speaker"], r["sentence"]))
            if ref_row is not None:
                ref, paired = m(ref_row), paired + 1
            elif r["speaker"] in speaker_mean:
                ref = speaker_mean[r["speaker"]]
            elif r["lang"] in lang_mean:
                ref = lang_mean[r["lang"]]
            else:
                continue
            val = m(r)
            deltas[r["style_strength"]].append({k: val[k] - ref[k] for k in MEASURES})
        expected = recipe(style, 1.0).expected()
        per_strength = {
            str(s): {k: round(float(np.nanmean([d[k] for d in ds])), 3) for k in MEASURES}
            for s, ds in sorted(deltas.items())
        }
        full = deltas.get(1.0) or [d for ds in deltas.values() for d in ds]
        mean_full = {k: float(np.nanmean([d[k] for d in full])) for k in MEASURES} if full else {}
        agrees = {k: (expected[k] == 0 or np.sign(mean_full.get(k, 0.0)) == expected[k]) for k in MEASURES}
        out[style] = {
            "clips": sum(len(ds) for ds in deltas.values()),
            "paired": paired,
            "expected": expected,
            "shift_by_strength": per_strength,
            "agrees": {k: bool(v) for k, v in agrees.items()},
        }
    return out


def format_shifts(result: dict) -> str:
    """A table: per style, the full-strength shift of each measure and its expected sign."""
    head = f"{'style':12s} {'clips':>5s} " + " ".join(f"{k:>14s}" for k in MEASURES)
    lines = [head, "(shift vs neutral at strength 1.0; f0 in semitones, rate as log ratio, dB, dB/oct;"]
    lines.append(" expected sign in brackets, ! marks a disagreement)")
    for style, r in result.items():
        shift = r["shift_by_strength"].get("1.0") or next(iter(r["shift_by_strength"].values()), {})
        cells = []
        for k in MEASURES:
            sign = {1: "+", -1: "-", 0: "0"}[r["expected"][k]]
            flag = "" if r["agrees"][k] else "!"
            cells.append(f"{shift.get(k, float('nan')):+8.2f} [{sign}]{flag:1s}")
        lines.append(f"{style:12s} {r['clips']:5d} " + " ".join(f"{c:>14s}" for c in cells))
    return "\n".join(lines)
