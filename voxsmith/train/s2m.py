"""Recipe: the S2M stage of the tiny size (codes → mel by conditional flow matching).

Each step takes random crops of training clips aligned to code boundaries (4 mel frames
per code), embeds their codes with the k-means codec, and trains the flow-matching loss
with an in-context prompt: a random prefix of the same crop is given as clean mel and the
loss covers the rest (the way the model is used at inference, where the prompt is the
reference clip). The style vector of each clip comes from the style stage
(``cache/style_<split>.npz``); without it the style input is zero.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.errors import DataError
from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.train.data import CorpusData
from voxsmith.train.state import RunDir, StopRequest, init_weights, seed_all

log = logging.getLogger(__name__)

FRAMES_PER_CODE = 4


@dataclass
class S2MTrainConfig:
    steps: int = 20000  # optimiser steps
    batch_size: int = 8  # crops per step
    crop_codes: int = 80  # codes per crop (80 × 4 frames ≈ 3.7 s)
    prompt_min: float = 0.15  # prompt share of a crop, lower bound
    prompt_max: float = 0.45  # prompt share of a crop, upper bound
    lr: float = 3e-4  # AdamW peak learning rate
    warmup: int = 500
    log_every: int = 50
    val_every: int = 1000
    seed: int = 0
    threads: int = 2


def load_codec(path: str | Path) -> KMeansCodec:
    tensors, config, _ = load_safetensors(path, kind="kmeans_codec")
    codec = KMeansCodec(KMeansCodecConfig(**config))
    strict_load(codec, tensors, str(path))
    return codec


class S2MData:
    """Clips of a split with their codes (and style vectors when the style stage ran)."""

    def __init__(self, corpus: str | Path, split: str):
        self.data = CorpusData(corpus, split)
        root = Path(corpus) / "cache"
        codes_path = root / f"codes_{split}.npz"
        if not codes_path.is_file():
            raise DataError(f"{codes_path}: no codes; run `voxsmith train codec` first")
        with np.load(codes_path) as z:
            offsets = np.concatenate([[0], np.cumsum(z["lens"])])
            by_id = {i: z["codes"][offsets[k] : offsets[k + 1]] for k, i in enumerate(z["ids"].tolist())}
        self.codes = [by_id.get(c.row["id"]) for c in self.data.clips]
        self.keep = [k for k, c in enumerate(self.codes) if c is not None and len(c) >= 8]
        if not self.keep:
            raise DataError(f"{corpus}: no {split} clips with codes")
        style_path = root / f"style_{split}.npz"
        self.style: dict[str, np.ndarray] = {}
        if style_path.is_file():
            with np.load(style_path) as z:
                self.style = dict(zip(z["ids"].tolist(), z["style"], strict=True))

    def style_of(self, k: int, dim: int) -> torch.Tensor:
        v = self.style.get(self.data.clips[k].row["id"])
        return torch.zeros(dim) if v is None else torch.from_numpy(v.astype(np.float32))

    def batch(self, rng: np.random.Generator, cfg: S2MTrainConfig, style_dim: int):
        """codes (B, N), mel (B, 80, N*4), mel_lens (B,), prompt_lens (B,), style (B, S)."""
        codes_b, mels, lens, prompts, styles = [], [], [], [], []
        for _ in range(cfg.batch_size):
            k = self.keep[int(rng.integers(len(self.keep)))]
            codes = self.codes[k]
            mel = self.data.clip_mel(k)
            n_codes = min(len(codes), mel.shape[1] // FRAMES_PER_CODE)
            n = min(cfg.crop_codes, n_codes)
            s = int(rng.integers(0, n_codes - n + 1))
            codes_b.append(torch.from_numpy(codes[s : s + n].astype(np.int64)))
            mels.append(mel[:, s * FRAMES_PER_CODE : (s + n) * FRAMES_PER_CODE])
            lens.append(n * FRAMES_PER_CODE)
            share = rng.uniform(cfg.prompt_min, cfg.prompt_max)
            prompts.append(max(1, int(share * n)) * FRAMES_PER_CODE)
            styles.append(self.style_of(k, style_dim))
        n_max = max(len(c) for c in codes_b)
        codes = torch.zeros(len(codes_b), n_max, dtype=torch.long)
        mel = torch.full((len(mels), 80, n_max * FRAMES_PER_CODE), float(np.log(1e-5)))
        for i, (c, m) in enumerate(zip(codes_b, mels, strict=True)):
            codes[i, : len(c)] = c
            mel[i, :, : m.shape[1]] = m
        return codes, mel, torch.tensor(lens), torch.tensor(prompts), torch.stack(styles)


def tiny_config(codec_dim: int, style_dim: int = 192) -> S2MConfig:
    return S2MConfig.tiny(
        content_dim=codec_dim, gpt_dim=None, style_dim=style_dim, frames_per_code=FRAMES_PER_CODE
    )


def train_s2m(
    corpus: str | Path,
    codec_path: str | Path,
    out: str | Path,
    cfg: S2MTrainConfig | None = None,
    model_cfg: S2MConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
) -> Path:
    """Train (or resume) S2M; returns the exported ``s2m.safetensors``."""
    cfg = cfg or S2MTrainConfig()
    codec = load_codec(codec_path)
    model_cfg = model_cfg or tiny_config(codec.cfg.dim)
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    run = RunDir(out, "s2m")
    train = S2MData(corpus, "train")
    model = S2M(model_cfg)
    style_dim = model_cfg.dit.style_dim
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=(0.9, 0.98), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / cfg.warmup) * max(0.05, 1 - s / cfg.steps)
    )
    step = 0
    if resume and run.has_state():
        step, _ = run.resume({"model": model}, {"opt": opt}, {"sched": sched})
    elif init is not None:
        init_weights(model, init, "s2m")
    if not train.style:
        log.warning("s2m: no style vectors (run `voxsmith train style` first); training with zero style")
    valid = None
    bar = tqdm(total=cfg.steps, initial=step, desc="s2m", unit="step")
    with StopRequest() as stop:
        while step < cfg.steps:
            rng = np.random.default_rng([cfg.seed, step])
            codes, mel, lens, prompts, style = train.batch(rng, cfg, style_dim)
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
            model.train()
            loss = model.loss(codec.vq2emb(codes), mel, lens, style, prompt_lens=prompts, generator=gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0:
                run.log(step, fm_loss=loss.item(), lr=sched.get_last_lr()[0])
                bar.set_postfix(fm=f"{loss.item():.3f}")
            if step % cfg.val_every == 0 or step == cfg.steps or stop.requested:
                if valid is None:
                    valid = S2MData(corpus, "valid")
                run.log(step, val_fm_loss=validate(model, codec, valid, cfg, style_dim))
                run.checkpoint(
                    step, {"model": model}, {"opt": opt}, {"sched": sched},
                    export=lambda: save_safetensors(
                        model.state_dict(), run.path / "s2m.safetensors", kind="s2m",
                        config=model_cfg.to_dict(), dtype=torch.float16,
                    ),
                )  # fmt: skip
            if stop.requested:
                break
    bar.close()
    return run.path / "s2m.safetensors"


@torch.no_grad()
def validate(model: S2M, codec: KMeansCodec, data: S2MData, cfg: S2MTrainConfig, style_dim: int) -> float:
    """Flow-matching loss on fixed validation crops and fixed noise (comparable across steps)."""
    model.eval()
    losses = []
    for b in range(4):
        codes, mel, lens, prompts, style = data.batch(
            np.random.default_rng([cfg.seed, 20_000 + b]), cfg, style_dim
        )
        gen = torch.Generator().manual_seed(b)
        losses.append(
            model.loss(codec.vq2emb(codes), mel, lens, style, prompt_lens=prompts, generator=gen).item()
        )
    return float(np.mean(losses))
