"""Recipe: the mel speaker judge (CAMPPlus on S2M's log-mel) as a speaker classifier on the corpus.

The same training as the style stage (:mod:`voxsmith.train.style`: speaker-balanced random crops,
an additive angular margin softmax whose margin ramps in, speaker verification on held-out
voices as validation), but on crops of the packed log-mel the S2M stage reads, so it needs no
audio resampling and trains in minutes. Its only use is S2M's ``--speaker-loss``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from voxsmith.audio import SAMPLE_RATE
from voxsmith.errors import ConfigError, DataError
from voxsmith.models.mel_speaker import MelSpeakerConfig, MelSpeakerEncoder
from voxsmith.train.data import HOP, CorpusData
from voxsmith.train.state import RunDir, seed_all
from voxsmith.train.style import (
    VAL_MAX_SECONDS,
    VerificationSet,
    fit_speaker_classifier,
    held_out_set,
    round_robin_clips,
)

log = logging.getLogger(__name__)

FRAME_RATE = SAMPLE_RATE / HOP  # S2M mel frames per second


@dataclass
class MelSpeakerTrainConfig:
    steps: int = 2000  # optimiser steps (~10 min on 2 cores at the tiny size)
    batch_size: int = 32  # crops per step
    crop_min: int = 96  # crop length in frames, drawn per step from [min, max] (1.1–2.2 s)
    crop_max: int = 192
    lr: float = 2e-3
    warmup: int = 100
    weight_decay: float = 1e-4
    margin: float = 0.2  # AAM margin (radians), ramped in over ``margin_ramp`` of the steps
    scale: float = 30.0
    margin_ramp: float = 0.3
    log_every: int = 25
    val_every: int = 250
    val_clips: int = 120
    seed: int = 0
    threads: int = 2


class MelCrops:
    """Speaker-balanced random log-mel crops of a split."""

    def __init__(self, data: CorpusData):
        self.data = data
        self.by_speaker: dict[int, list[int]] = defaultdict(list)
        for k, c in enumerate(data.clips):
            self.by_speaker[data.speaker_index[c.row["speaker"]]].append(k)
        self.speakers = sorted(self.by_speaker)

    def crop(self, k: int, frames: int, rng: np.random.Generator) -> torch.Tensor:
        """(80, frames): a random window of clip ``k`` (a short clip is looped, not padded with silence)."""
        mel = self.data.clip_mel(k)
        n = mel.shape[1]
        if n >= frames:
            s = int(rng.integers(0, n - frames + 1))
            return mel[:, s : s + frames]
        reps = -(-frames // n)
        return torch.roll(mel, -int(rng.integers(0, n)), dims=1).repeat(1, reps)[:, :frames]

    def batch(self, batch: int, frames: int, rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """mel (B, 80, frames) and speaker labels (B,)."""
        mels, labels = [], []
        for _ in range(batch):
            s = self.speakers[int(rng.integers(len(self.speakers)))]
            clips = self.by_speaker[s]
            mels.append(self.crop(clips[int(rng.integers(len(clips)))], frames, rng))
            labels.append(s)
        return torch.stack(mels), torch.tensor(labels)


class MelVerificationSet(VerificationSet):
    """The style stage's verification set on whole log-mel clips (at most ``VAL_MAX_SECONDS``)."""

    def __init__(self, data: CorpusData, n_clips: int):
        picked = round_robin_clips(data, n_clips)
        cap = int(VAL_MAX_SECONDS * FRAME_RATE)
        self.split = data.split
        self.speakers = np.array([data.clips[k].row["speaker"] for k in picked])
        self.inputs = [data.clip_mel(k)[:, :cap] for k in picked]


def train_mel_speaker(
    corpus: str | Path,
    out: str | Path,
    cfg: MelSpeakerTrainConfig | None = None,
    model_cfg: MelSpeakerConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
) -> Path:
    """Train (or resume) the mel speaker judge; returns the exported ``mel_speaker.safetensors``."""
    cfg = cfg or MelSpeakerTrainConfig()
    model_cfg = model_cfg or MelSpeakerConfig.tiny()
    if not 8 <= cfg.crop_min <= cfg.crop_max:
        raise ConfigError(
            f"mel_speaker: crop range [{cfg.crop_min}, {cfg.crop_max}] frames must be ordered, >= 8"
        )
    if cfg.batch_size < 2:
        raise ConfigError(
            f"mel_speaker: batch_size {cfg.batch_size} < 2 (BatchNorm needs two items per step)"
        )
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    train = CorpusData(corpus, "train")
    if len(train.speakers) < 2:
        raise DataError(f"{corpus}: the mel speaker judge needs at least two training speakers")
    run = RunDir(out, "mel_speaker")
    crops = MelCrops(train)
    encoder = MelSpeakerEncoder(model_cfg)

    def draw(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return crops.batch(cfg.batch_size, int(rng.integers(cfg.crop_min, cfg.crop_max + 1)), rng)

    fit_speaker_classifier(
        "mel_speaker", run, encoder, train, cfg, draw,
        lambda: held_out_set(corpus, train, lambda data: MelVerificationSet(data, cfg.val_clips)),
        lambda: encoder.save(run.path / "mel_speaker.safetensors"), resume, init,
    )  # fmt: skip
    return encoder.save(run.path / "mel_speaker.safetensors")
