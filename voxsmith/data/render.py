"""Render one corpus clip: engine(s) -> WORLD -> speaker timbre -> emotion style -> wav.

    normalized text ──runs──► (lang, stretch) ... ──engine of the speaker's part──► audio
        ──resample 22050, trim, level──► WORLD analysis ──part timbre──► features
    join stretches ──style recipe (seeded)──► WORLD synthesis ──trim, loudness + style dB──► int16 wav

Every clip goes through WORLD, neutral ones included (see world.py). A ``ClipRenderer``
keeps one ``EngineSet`` (engines load their models once per process).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from voxsmith.audio import Audio, AudioProcessor, resample
from voxsmith.data import world
from voxsmith.data.engines import EngineSet
from voxsmith.data.frontend import runs
from voxsmith.data.speakers import Speaker
from voxsmith.data.styles import recipe
from voxsmith.data.world import WorldConfig, WorldFeatures
from voxsmith.errors import AudioError

JOIN_GAP_S = 0.06  # silence between a Mandarin and an English stretch of one sentence


@dataclass(frozen=True)
class RenderConfig:
    """How clips are rendered."""

    sample_rate: int = 22050  # Hz of the written clips
    loudness_dbfs: float = -23.0  # RMS level of a neutral clip; styles add their energy_db
    peak: float = 0.98  # peak limit after the style gain
    pad_ms: float = 120.0  # silence kept before and after speech
    f0_method: str = "harvest"  # WORLD f0 estimator ("dio" is faster, for tests)

    def world(self) -> WorldConfig:
        return WorldConfig(sample_rate=self.sample_rate, f0_method=self.f0_method)


def job_seed(clip_id: str, seed: int) -> int:
    """A 32-bit seed from a clip id and the corpus seed (stable across processes)."""
    return int.from_bytes(hashlib.sha1(f"{seed}|{clip_id}".encode()).digest()[:4], "little")


def stretches(normalized: str, speaker: Speaker, lang: str) -> list[tuple[str, str]]:
    """(lang, text) stretches of a sentence, each in a language the speaker has a part for."""
    if lang == "zh" and "en" in speaker.langs:
        pieces = runs(normalized)
        if any(lg == "en" for lg, _ in pieces):
            return pieces
    return [(lang, normalized)]


class ClipRenderer:
    """Renders clips for any speaker of a roster; holds the engines of one process."""

    def __init__(self, cfg: RenderConfig = RenderConfig(), engines: EngineSet | None = None):
        self.cfg = cfg
        self.engines = engines or EngineSet()

    def engine_audio(self, voice: str, text: str, lang: str) -> np.ndarray:
        """(N,) engine audio at the corpus rate, trimmed and levelled to -23 dBFS."""
        audio = self.engines.synthesize(voice, text, lang)
        x = resample(audio.samples, audio.sample_rate, self.cfg.sample_rate)
        x = AudioProcessor.trim_silence(x, self.cfg.sample_rate, top_db=40.0, pad_ms=40.0)
        return AudioProcessor.normalize_loudness(x, self.cfg.loudness_dbfs)

    def speaker_features(self, speaker: Speaker, normalized: str, lang: str) -> WorldFeatures:
        """WORLD features of the speaker reading ``normalized`` (before any style)."""
        wcfg = self.cfg.world()
        parts: list[WorldFeatures] = []
        for i, (lg, text) in enumerate(stretches(normalized, speaker, lang)):
            part = speaker.part(lg)
            feat = part.timbre.apply(world.analyze(self.engine_audio(part.voice, text, lg), wcfg))
            if i:
                gap = int(round(JOIN_GAP_S * 1000 / wcfg.frame_period))
                parts.append(world.silence(gap, feat))
            parts.append(feat)
        return world.concat(parts)

    def render(
        self, speaker: Speaker, normalized: str, lang: str, style: str, strength: float, seed: int
    ) -> Audio:
        """The finished clip as float32 ``Audio`` at the corpus rate."""
        feat = self.speaker_features(speaker, normalized, lang)
        r = recipe(style, strength)
        styled = r.apply(feat, np.random.default_rng(seed))
        return self.finish(world.synthesize(styled), r.energy_db)

    def finish(self, samples: np.ndarray, energy_db: float) -> Audio:
        """Trim, set loudness (neutral level + the style's dB) under the peak limit."""
        sr = self.cfg.sample_rate
        x = AudioProcessor.trim_silence(samples, sr, top_db=45.0, pad_ms=self.cfg.pad_ms)
        if x.size < sr // 5:
            raise AudioError(f"clip has only {x.size / sr:.2f} s of audio after trimming")
        x = AudioProcessor.normalize_loudness(x, self.cfg.loudness_dbfs + energy_db, peak=self.cfg.peak)
        return Audio(x.astype(np.float32), sr)
