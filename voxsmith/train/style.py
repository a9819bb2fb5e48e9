"""Recipe: the tiny style encoder (CAMPPlus) as a speaker classifier on the corpus.

Each step draws speaker-balanced random 2–3 s crops of training clips (resampled to 16 kHz,
the official frontend's rate) and trains CAMPPlus through an additive angular margin
softmax (AAM, ArcFace-style) over the training speakers; the margin ramps in over the
first steps so the classifier can form before it is squeezed. Validation scores speaker
verification on whole clips of held-out speakers (the ``test`` split when it has them):
equal error rate and the gap between same- and different-speaker cosine similarity.

After the last step the recipe exports ``<out>/style.safetensors`` and writes
``<corpus>/cache/style_<split>.npz`` (``ids``: clip ids, ``style``: (N, S) float32) for every
split, through the same ``StyleEncoder.embed`` path inference uses: the S2M stage reads them.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from tqdm import tqdm

from voxsmith.audio import SAMPLE_RATE, Audio, AudioProcessor
from voxsmith.errors import ConfigError, DataError
from voxsmith.fileio import atomic_path, file_digest
from voxsmith.models.style import StyleEncoder, StyleEncoderConfig
from voxsmith.train.data import CorpusData, read_manifest
from voxsmith.train.optim import optimizer_step, warmup_decay
from voxsmith.train.state import RunDir, StopRequest, init_weights, seed_all

log = logging.getLogger(__name__)

VAL_MAX_SECONDS = 6.0  # validation clips are cut to this (enough for a speaker decision)


@dataclass
class StyleTrainConfig:
    steps: int = 1500  # optimiser steps (~15 min on 2 cores at the tiny size)
    batch_size: int = 16  # crops per step
    crop_min_s: float = 2.0  # crop length is drawn per step from [min, max] seconds
    crop_max_s: float = 3.0
    lr: float = 2e-3  # AdamW peak learning rate
    warmup: int = 100  # linear warm-up steps
    weight_decay: float = 1e-4
    margin: float = 0.2  # AAM additive angular margin (radians)
    scale: float = 30.0  # AAM logit scale
    margin_ramp: float = 0.3  # share of the steps over which the margin grows from 0
    log_every: int = 25
    val_every: int = 250
    val_clips: int = 120  # clips scored in validation (balanced over speakers)
    seed: int = 0
    threads: int = 2


class AAMSoftmax(nn.Module):
    """Additive angular margin softmax: logits ``s·cos(θ_y + m)`` for the target, ``s·cos θ`` elsewhere."""

    def __init__(self, dim: int, n_classes: int, scale: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_classes, dim))
        nn.init.xavier_normal_(self.weight)
        self.scale = scale

    def forward(
        self, emb: torch.Tensor, labels: torch.Tensor, margin: float
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """emb (B, S), labels (B,) → (loss, accuracy on the margin-free logits)."""
        cos = F.linear(F.normalize(emb), F.normalize(self.weight)).clamp(-1 + 1e-7, 1 - 1e-7)  # (B, K)
        target = cos.gather(1, labels[:, None])
        sin = (1.0 - target.pow(2)).sqrt()
        phi = target * math.cos(margin) - sin * math.sin(margin)  # cos(θ + m)
        # past θ = π - m, cos(θ + m) stops decreasing: fall back to a linear penalty (keeps it monotonic)
        phi = torch.where(
            target > math.cos(math.pi - margin), phi, target - math.sin(math.pi - margin) * margin
        )
        logits = cos.scatter(1, labels[:, None], phi) * self.scale
        acc = (cos.argmax(1) == labels).float().mean()
        return F.cross_entropy(logits, labels), acc


class StyleCrops:
    """Speaker-balanced random crops of a split at the encoder's sample rate."""

    def __init__(self, data: CorpusData, sample_rate: int):
        self.data = data
        self.sr = sample_rate
        self.by_speaker: dict[int, list[int]] = defaultdict(list)
        for k, c in enumerate(data.clips):
            self.by_speaker[data.speaker_index[c.row["speaker"]]].append(k)

    def _crop(self, k: int, seconds: float, rng: np.random.Generator) -> np.ndarray:
        c = self.data.clips[k]
        n22 = int(math.ceil(seconds * SAMPLE_RATE)) + 64  # a little extra: the resampler eats edges
        if c.n_samples >= n22:
            start = int(rng.integers(0, c.n_samples - n22 + 1))
            seg = self.data.audio[c.audio_start + start : c.audio_start + start + n22]
        else:  # short clip: loop it (silence would teach the model nothing about the speaker)
            clip = self.data.audio[c.audio_start : c.audio_start + c.n_samples]
            seg = np.resize(np.roll(clip, -int(rng.integers(0, c.n_samples))), n22)
        wav = AudioProcessor.resample(seg.astype(np.float32) / 32767, SAMPLE_RATE, self.sr)
        return np.resize(wav, int(seconds * self.sr))

    def batch(
        self, batch: int, seconds: float, rng: np.random.Generator
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """wave (B, seconds·sr) float32 and speaker labels (B,)."""
        speakers = sorted(self.by_speaker)
        waves, labels = [], []
        for _ in range(batch):
            s = speakers[int(rng.integers(len(speakers)))]
            clips = self.by_speaker[s]
            waves.append(self._crop(clips[int(rng.integers(len(clips)))], seconds, rng))
            labels.append(s)
        return torch.from_numpy(np.stack(waves)), torch.tensor(labels)


# ----- validation --------------------------------------------------------------------------


def equal_error_rate(scores: np.ndarray, same: np.ndarray) -> float:
    """EER of trial scores (higher = same speaker) against boolean labels."""
    order = np.argsort(-scores, kind="stable")
    y = same[order].astype(np.float64)
    n_pos, n_neg = y.sum(), len(y) - y.sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    fnr = 1.0 - np.cumsum(y) / n_pos  # same-speaker trials rejected at each threshold
    fpr = np.cumsum(1.0 - y) / n_neg  # different-speaker trials accepted
    i = int(np.argmin(np.abs(fnr - fpr)))
    return float((fnr[i] + fpr[i]) / 2)


def round_robin_clips(data: CorpusData, n_clips: int) -> list[int]:
    """Up to ``n_clips`` clip indices taken round-robin over the speakers with at least two clips
    (a speaker needs a same-speaker pair)."""
    by_spk: dict[str, list[int]] = defaultdict(list)
    for k, c in enumerate(data.clips):
        by_spk[c.row["speaker"]].append(k)
    by_spk = {s: ks for s, ks in by_spk.items() if len(ks) >= 2}
    picked: list[int] = []
    depth = 0
    while len(picked) < n_clips and any(depth < len(ks) for ks in by_spk.values()):
        picked += [ks[depth] for ks in by_spk.values() if depth < len(ks)]
        depth += 1
    return picked[:n_clips]


def verification_scores(emb: torch.Tensor, speakers: np.ndarray) -> dict[str, float]:
    """``eer``, ``cos_same``, ``cos_diff``, ``gap`` over all pairs of embeddings ``(N, S)`` of ``speakers (N,)``."""
    emb = F.normalize(emb, dim=-1)
    cos = (emb @ emb.T).numpy()
    iu = np.triu_indices(len(speakers), k=1)
    scores = cos[iu]
    same = (speakers[:, None] == speakers[None, :])[iu]
    cs, cd = float(scores[same].mean()), float(scores[~same].mean())
    return {"eer": equal_error_rate(scores, same), "cos_same": cs, "cos_diff": cd, "gap": cs - cd}


class VerificationSet:
    """Fixed clips (resampled once) for speaker-verification scoring: ``inputs`` holds one
    unbatched encoder input per clip (here 16 kHz waves; subclasses give other inputs)."""

    def __init__(self, data: CorpusData, sample_rate: int, n_clips: int):
        picked = round_robin_clips(data, n_clips)
        cap = int(VAL_MAX_SECONDS * SAMPLE_RATE)
        self.split = data.split
        self.speakers = np.array([data.clips[k].row["speaker"] for k in picked])
        self.inputs = [
            torch.from_numpy(AudioProcessor.resample(data.clip_audio(k)[:cap], SAMPLE_RATE, sample_rate))
            for k in picked
        ]

    def __len__(self) -> int:
        return len(self.inputs)

    @property
    def usable(self) -> bool:
        return len(set(self.speakers.tolist())) >= 2 and len(self) >= 3

    @torch.no_grad()
    def score(self, encoder: nn.Module) -> dict[str, float]:
        """``eer``, ``cos_same``, ``cos_diff``, ``gap`` over all pairs of the set."""
        encoder.eval()
        return verification_scores(
            torch.stack([encoder(x.unsqueeze(0))[0] for x in self.inputs]), self.speakers
        )


def _splits(corpus: str | Path) -> list[str]:
    return sorted({str(r.get("split")) for r in read_manifest(corpus) if r.get("split")})


def held_out_set(
    corpus: str | Path, train: CorpusData, make: Callable[[CorpusData], VerificationSet]
) -> VerificationSet:
    """``make(split data)`` for held-out speakers (``test``) if usable, else the training speakers'
    ``valid`` clips, else ``train``."""
    splits = _splits(corpus)
    for split in ("test", "valid"):
        if split in splits:
            vs = make(CorpusData(corpus, split))
            if vs.usable:
                return vs
    return make(train)


def verification_set(corpus: str | Path, train: CorpusData, sample_rate: int, n: int) -> VerificationSet:
    """The style stage's validation clips (:func:`held_out_set`)."""
    return held_out_set(corpus, train, lambda data: VerificationSet(data, sample_rate, n))


# ----- outputs -----------------------------------------------------------------------------


def write_style_cache(encoder: StyleEncoder, corpus: str | Path, digest: str = "") -> list[Path]:
    """``<corpus>/cache/style_<split>.npz`` (ids, style (N, S) float32, ``encoder``: ``digest``)
    for every split. Vectors already there from the same ``digest`` are kept and only the clips
    without one are embedded (a corpus that grew); another or no digest recomputes them all."""
    paths = []
    for split in _splits(corpus):
        path = Path(corpus) / "cache" / f"style_{split}.npz"
        have: dict[str, np.ndarray] = {}
        if digest and path.is_file():
            with np.load(path) as z:
                if "encoder" in z and str(z["encoder"]) == digest:
                    have = dict(zip(z["ids"].tolist(), z["style"], strict=True))
        data = CorpusData(corpus, split)
        todo = [k for k, c in enumerate(data.clips) if c.row["id"] not in have]
        if not todo:
            paths.append(path)
            continue
        for k in tqdm(todo, desc=f"style {split}", unit="clip", leave=False):
            emb = encoder.embed(Audio(data.clip_audio(k), SAMPLE_RATE))
            have[data.clips[k].row["id"]] = emb.numpy().astype(np.float32)
        ids = [c.row["id"] for c in data.clips]
        with atomic_path(path, suffix=".npz") as tmp:
            np.savez(
                tmp, ids=np.array(ids), style=np.stack([have[i] for i in ids]), encoder=np.asarray(digest)
            )
        log.info("style: %d clips of %s embedded (%d kept)", len(todo), path.name, len(ids) - len(todo))
        paths.append(path)
    return paths


def style_cache(corpus: str | Path, encoder_path: str | Path) -> list[Path]:
    """Style vectors of every split of ``corpus`` by the encoder exported at ``encoder_path``
    (what ``voxsmith train s2m --style`` reads), computed where missing or made by another."""
    from voxsmith.models.style import load_style_encoder

    if not Path(encoder_path).is_file():
        raise DataError(f"{encoder_path}: style encoder weights not found")
    encoder = load_style_encoder(encoder_path).eval()
    with torch.inference_mode():
        return write_style_cache(encoder, corpus, file_digest(encoder_path))


# ----- the loop ----------------------------------------------------------------------------


def fit_speaker_classifier(
    stage: str,
    run: RunDir,
    encoder: nn.Module,
    train: CorpusData,
    cfg: StyleTrainConfig | Any,
    draw: Callable[[np.random.Generator], tuple[torch.Tensor, torch.Tensor]],
    make_val: Callable[[], VerificationSet],
    export: Callable[[], Path],
    resume: bool,
    init: str | Path | None,
) -> int:
    """The speaker-classifier loop the style stage and the mel speaker judge share; returns the last step.

    ``encoder`` (its weights in ``encoder.campplus``) maps what ``draw(rng)`` gives to embeddings
    ``(B, S)``; ``draw`` returns a batch and its speaker labels, ``rng`` a function of (seed,
    step). An AAM softmax over ``train``'s speakers trains it, the margin ramping in;
    ``make_val()`` builds the verification set scored at each checkpoint, ``export`` writes
    the weights there. ``cfg``: the stage's config (steps, lr, weight_decay, warmup, margin,
    scale, margin_ramp, log_every, val_every, seed).
    """
    dim = encoder.campplus.embedding_size  # type: ignore[union-attr]
    head = AAMSoftmax(dim, len(train.speakers), cfg.scale)
    params = [*encoder.parameters(), *head.parameters()]
    opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(cfg.warmup, cfg.steps))
    modules = {"model": encoder, "head": head}
    step = 0
    if resume and run.has_state():
        step, _ = run.resume(modules, {"opt": opt}, {"sched": sched})
    elif init is not None:
        init_weights(encoder.campplus, init, stage)  # type: ignore[arg-type]
        run.started_from(init)
    log.info(
        "%s: %d params, %d train speakers, %.1f min, step %d/%d",
        stage, sum(p.numel() for p in encoder.parameters()), len(train.speakers), train.minutes, step, cfg.steps,
    )  # fmt: skip
    val_set: VerificationSet | None = None
    bar = tqdm(total=cfg.steps, initial=step, desc=stage, unit="step")
    with StopRequest() as stop:
        while step < cfg.steps:
            rng = np.random.default_rng([cfg.seed, step])  # data order is a function of (seed, step)
            batch, labels = draw(rng)
            margin = cfg.margin * min(1.0, step / max(1.0, cfg.margin_ramp * cfg.steps))
            encoder.train()
            loss, acc = head(encoder(batch), labels, margin)
            optimizer_step(loss, params, opt, sched, 5.0)
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0:
                run.log(step, aam=loss.item(), acc=acc.item(), margin=margin, lr=sched.get_last_lr()[0])
                bar.set_postfix(aam=f"{loss.item():.3f}", acc=f"{acc.item():.2f}")
            if step % cfg.val_every == 0 or step == cfg.steps or stop.requested:
                if val_set is None:
                    val_set = make_val()
                    log.info("%s: validating on %d %s clips", stage, len(val_set), val_set.split)
                v = val_set.score(encoder)
                run.log(step, val_eer=v["eer"], val_gap=v["gap"], val_cos_same=v["cos_same"])
                run.checkpoint(step, modules, {"opt": opt}, {"sched": sched}, export=export)
            if stop.requested:
                break
    bar.close()
    return step


def train_style(
    corpus: str | Path,
    out: str | Path,
    cfg: StyleTrainConfig | None = None,
    model_cfg: StyleEncoderConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
) -> Path:
    """Train (or resume) the style encoder; returns the exported ``style.safetensors``."""
    cfg = cfg or StyleTrainConfig()
    model_cfg = model_cfg or StyleEncoderConfig.tiny()
    if not 0.1 <= cfg.crop_min_s <= cfg.crop_max_s:
        raise ConfigError(
            f"style: crop range [{cfg.crop_min_s}, {cfg.crop_max_s}] s must be ordered, >= 0.1 s"
        )
    if cfg.batch_size < 2:
        raise ConfigError(f"style: batch_size {cfg.batch_size} < 2 (BatchNorm needs two items per step)")
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    run = RunDir(out, "style")
    train = CorpusData(corpus, "train")
    if len(train.speakers) < 2:
        raise DataError(f"{corpus}: the style stage needs at least two training speakers")
    crops = StyleCrops(train, model_cfg.sample_rate)
    encoder = StyleEncoder(model_cfg)

    def draw(rng: np.random.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        return crops.batch(cfg.batch_size, float(rng.uniform(cfg.crop_min_s, cfg.crop_max_s)), rng)

    step = fit_speaker_classifier(
        "style", run, encoder, train, cfg, draw,
        lambda: verification_set(corpus, train, model_cfg.sample_rate, cfg.val_clips),
        lambda: encoder.save(run.path / "style.safetensors"), resume, init,
    )  # fmt: skip
    path = encoder.save(run.path / "style.safetensors")
    if step >= cfg.steps:
        encoder.eval()
        for p in write_style_cache(encoder, corpus, file_digest(path)):
            log.info("style: wrote %s", p)
    return path
