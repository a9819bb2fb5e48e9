"""Recipe: train the tiny Vocos-type vocoder on corpus audio.

Two targets, by the vocoder's ``phase`` (``voxsmith.models.vocoder``):

- ``"griffin-lim"`` (the tiny size's): the head's magnitude against the real audio's STFT
  magnitude at the vocoder's own STFT (log-magnitude L1 + spectral convergence); the phase
  is Griffin–Lim's at inference, so nothing is learned about it and no waveform is made in
  training (fast: ~10 steps/s on 2 CPU cores).
- ``"predicted"``: L1 between log-mels of generated and real audio (the quantity listeners and
  the S2M stage care about) plus multi-resolution STFT losses (spectral convergence + log
  magnitude) that pin down fine structure, and discriminators from ``gan_start``.

An explicit loop: setup → steps → checkpoint.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm import tqdm

from voxsmith.audio import AudioProcessor
from voxsmith.checkpoints import save_safetensors
from voxsmith.models.discriminator import VocoderDiscriminator, discriminator_loss, generator_losses
from voxsmith.models.vocoder import VocosConfig, VocosVocoder
from voxsmith.train.data import CorpusData
from voxsmith.train.optim import advance, optimizer_step, warmup_decay
from voxsmith.train.state import RunDir, StopRequest, init_weights, seed_all

log = logging.getLogger(__name__)

STFT_RESOLUTIONS = ((512, 128, 512), (1024, 256, 1024), (2048, 512, 2048))


@dataclass
class VocoderTrainConfig:
    steps: int = 12000  # optimiser steps
    batch_size: int = 8  # crops per step
    crop_frames: int = 32  # mel frames per crop (32 × 256 samples ≈ 0.37 s)
    lr: float = 5e-4  # AdamW peak learning rate
    warmup: int = 500  # linear warm-up steps
    mel_weight: float = 15.0  # weight of the mel L1 term
    gan_start: int = 6000  # step at which the discriminators join (< 0: never); they triple the step cost
    fm_weight: float = 2.0  # feature-matching weight once the GAN is on
    log_every: int = 50  # steps between loss rows
    val_every: int = 1000  # steps between validation + checkpoint
    seed: int = 0
    threads: int = 2  # torch intra-op threads


def stft_loss(fake: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Multi-resolution STFT loss: spectral convergence + log-magnitude L1, summed over resolutions."""
    total = fake.new_zeros(())
    for n_fft, hop, win in STFT_RESOLUTIONS:
        window = torch.hann_window(win, device=fake.device)
        sf = torch.stft(fake, n_fft, hop, win, window, return_complex=True).abs().clamp(min=1e-7)
        sr = torch.stft(real, n_fft, hop, win, window, return_complex=True).abs().clamp(min=1e-7)
        sc = torch.linalg.norm(sr - sf) / torch.linalg.norm(sr).clamp(min=1e-7)
        total = total + sc + F.l1_loss(sf.log(), sr.log())
    return total


def magnitude_loss(mag: torch.Tensor, wav: torch.Tensor, model: VocosVocoder):
    """Log-magnitude L1 + spectral convergence of the predicted magnitude ``(B, F, T)`` against
    the real audio's STFT magnitude at the vocoder's STFT."""
    real = model.stft(wav)[..., : mag.shape[-1]].abs()
    log_l1 = F.l1_loss(mag.clamp(min=1e-5).log(), real.clamp(min=1e-5).log())
    sc = torch.linalg.norm(real - mag) / torch.linalg.norm(real).clamp(min=1e-7)
    return log_l1 + sc, {"mag_l1": log_l1.item(), "sc": sc.item()}


def reconstruction_loss(fake: torch.Tensor, wav: torch.Tensor, mel_weight: float):
    mel_l1 = F.l1_loss(AudioProcessor.mel(fake), AudioProcessor.mel(wav))
    stft = stft_loss(fake, wav)
    return mel_weight * mel_l1 + stft, {"mel_l1": mel_l1.item(), "stft": stft.item()}


def export(model: VocosVocoder, path: Path, dtype: torch.dtype = torch.float16) -> Path:
    return save_safetensors(model.state_dict(), path, kind="vocos", config=model.cfg.to_dict(), dtype=dtype)


def train(
    corpus: str | Path,
    out: str | Path,
    cfg: VocoderTrainConfig | None = None,
    model_cfg: VocosConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
) -> Path:
    """Train (or resume) the vocoder; returns the exported ``vocoder.safetensors``."""
    cfg = cfg or VocoderTrainConfig()
    model_cfg = model_cfg or VocosConfig.tiny()
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    run = RunDir(out, "vocoder")
    train_data = CorpusData(corpus, "train")
    valid_data = CorpusData(corpus, "valid") if _has_split(corpus, "valid") else train_data
    model = VocosVocoder(model_cfg)
    disc = VocoderDiscriminator(channels=16, periods=(2, 3, 5))
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.8, 0.99), weight_decay=0.01)
    opt_d = torch.optim.AdamW(disc.parameters(), lr=cfg.lr, betas=(0.8, 0.99), weight_decay=0.01)
    lr_lambda = warmup_decay(cfg.warmup, cfg.steps)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_lambda)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, lr_lambda)
    modules, opts, scheds = (
        {"model": model, "disc": disc},
        {"opt": opt, "opt_d": opt_d},
        {"sched": sched, "sched_d": sched_d},
    )
    step = 0
    if resume and run.has_state():
        step, _ = run.resume(modules, opts, scheds)
    elif init is not None:
        init_weights(model, init, "vocos")
        run.started_from(init)
    log.info(
        "vocoder: %.1f min train audio, %d params, step %d/%d",
        train_data.minutes,
        sum(p.numel() for p in model.parameters()),
        step,
        cfg.steps,
    )
    bar = tqdm(total=cfg.steps, initial=step, desc="vocoder", unit="step")

    def checkpoint(at: int) -> None:
        run.log(at, val_mel_l1=validate(model, valid_data, cfg))
        run.checkpoint(
            at, modules, opts, scheds, export=lambda: export(model, run.path / "vocoder.safetensors")
        )

    with StopRequest() as stop:
        while step < cfg.steps:
            rng = np.random.default_rng([cfg.seed, step])  # data order is a function of (seed, step)
            mel, wav = train_data.random_crops(cfg.batch_size, cfg.crop_frames, rng)
            model.train()
            if model_cfg.phase == "griffin-lim":  # the magnitude is all there is to learn
                loss, parts = magnitude_loss(model.spectrum(mel)[0], wav, model)
                advance(sched_d)
            else:
                fake = model(mel)
                gan = 0 <= cfg.gan_start <= step
                if gan:  # discriminator step on detached output
                    d_loss = discriminator_loss(disc(wav), disc(fake.detach()))
                    optimizer_step(d_loss, disc.parameters(), opt_d, None, 5.0)
                advance(sched_d)
                loss, parts = reconstruction_loss(fake, wav, cfg.mel_weight)
                if gan:
                    adv, fm = generator_losses(disc(wav), disc(fake))
                    loss = loss + adv + cfg.fm_weight * fm
                    parts.update(adv=adv.item(), fm=fm.item(), disc=d_loss.item())
            optimizer_step(loss, model.parameters(), opt, sched, 5.0)
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0:
                run.log(step, loss=loss.item(), **parts, lr=sched.get_last_lr()[0])
                bar.set_postfix(loss=f"{loss.item():.3f}")
            if step % cfg.val_every == 0 or step == cfg.steps or stop.requested:
                checkpoint(step)
            if stop.requested:
                break
    bar.close()
    return run.path / "vocoder.safetensors"


@torch.no_grad()
def validate(model: VocosVocoder, data: CorpusData, cfg: VocoderTrainConfig, n: int = 16) -> float:
    model.eval()
    rng = np.random.default_rng([cfg.seed, 999])
    mel, wav = data.random_crops(n, cfg.crop_frames * 4, rng)
    return float(F.l1_loss(AudioProcessor.mel(model(mel)), AudioProcessor.mel(wav)))


def _has_split(corpus: str | Path, split: str) -> bool:
    from voxsmith.train.data import read_manifest

    return any(r.get("split") == split for r in read_manifest(corpus))


def config_dict(cfg: VocoderTrainConfig) -> dict:
    return asdict(cfg)
