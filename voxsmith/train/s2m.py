"""Recipe: the S2M stage of the tiny size (codes → mel by conditional flow matching).

Each step takes random crops of training clips aligned to code boundaries (4 mel frames
per code), embeds their codes with the k-means codec, and trains the flow-matching loss
with an in-context prompt: a random prefix of the same crop is given as clean mel and the
loss covers the rest (the way the model is used at inference, where the prompt is the
reference clip). The style vector of each clip comes from the style stage
(``cache/style_<split>.npz``); without it the style input is zero.

With ``cross_prompt`` (``--cross-prompt P``) a share P of the crops is prompted instead by a
run of *another* clip of the speaker (a neutral one where there is one), whose style vector
the item then takes: at inference the prompt is a neutral reference while the target may be
happy or sad, and a model only ever prompted by its own target's start learns to copy the
prompt's pitch and loudness, which makes emotion control inaudible. The prompt's codes get
no GPT-latent term in training (``prompt_latent``), as at inference.

With ``prosody`` (``--prosody``), S2M also reads each target's utterance prosody offset from
its prompt (:mod:`voxsmith.models.prosody`): zero for a crop prompted by its own start, the
measured difference of the two clips for a cross-clip prompt. At inference the model's
prosody head predicts that offset from the emotion, so an emotion far from the reference's
own is rendered with its pitch, range, loudness and tilt rather than the prompt's.

With ``warp`` (``--warp W``), each item's mel (prompt and target by the same factor) is warped
along the mel axis: voices no training speaker has, which only the prompt can tell, so S2M
must follow the prompt's timbre (validation reads the real voices). It widened the margin to
the nearest other voice but smeared the harmonics the renders carry (BENCHMARKS.md).

With ``gpt`` (``voxsmith train s2m --gpt PATH``), S2M also reads that GPT's latents
(``train.gpt_latents``) through its ``gpt_layer``, as the official S2M does: the GPT has
attended to the text, so its latents say what the lossy codes blur. An S2M trained
without them starts from its old weights with a zero ``gpt_layer`` output (same outputs
at step 0). The GPT is fixed for a run; a resume picks up the GPT file as it is then.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.audio import SILENCE_LOG_MEL
from voxsmith.checkpoints import load_safetensors, read_metadata, save_safetensors, strict_load
from voxsmith.errors import ConfigError, DataError
from voxsmith.models.kmeans_codec import KMeansCodec
from voxsmith.models.mel_speaker import MIN_FRAMES as MEL_SPEAKER_MIN_FRAMES
from voxsmith.models.mel_speaker import MelSpeakerEncoder, load_mel_speaker
from voxsmith.models.prosody import CONTOUR, MEASURES, scaled_offset
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.models.s2m.cfm import CFMTerms
from voxsmith.models.s2m.grow import grow_depth
from voxsmith.train.content import load_codec, warp_mel
from voxsmith.train.data import CorpusData, neutral_or_all, pad, split_codes
from voxsmith.train.gpt_latents import latents_cache
from voxsmith.train.optim import SkipGuard, optimizer_step, warmup_decay
from voxsmith.train.state import RunDir, StopRequest, seed_all

log = logging.getLogger(__name__)

FRAMES_PER_CODE = 4


@dataclass
class S2MTrainConfig:
    steps: int = 20000  # optimiser steps
    batch_size: int = 8  # crops per step
    crop_codes: int = 80  # codes per crop (80 × 4 frames ≈ 3.7 s)
    prompt_min: float = 0.15  # prompt share of a crop, lower bound
    prompt_max: float = 0.45  # prompt share of a crop, upper bound
    # share of crops whose prompt is another clip of the speaker (a neutral one where there is
    # one), as at inference: then the prompt cannot tell the target's prosody, the latents must
    cross_prompt: float = 0.0
    prompt_latent: bool = False  # GPT latents over the prompt codes (inference has none there)
    # voice augmentation: each item's mel, prompt and target alike, warped along the mel axis by
    # one factor in [1 - warp, 1 + warp] (``warp_mel``), so the prompt shows a voice no training
    # speaker has and S2M must take the timbre from it rather than recall a training voice
    warp: float = 0.0
    # speaker-consistency loss (``--speaker-loss W`` with ``--speaker-judge``): W times the
    # time-weighted ``1 - cos`` between the mel speaker judge's embeddings of the estimator's clean
    # mel and of the real target, over up to ``speaker_frames`` target frames per item
    speaker_loss: float = 0.0
    speaker_frames: int = 160
    lr: float = 3e-4  # AdamW peak learning rate
    # the prosody and contour layers' learning rate over ``lr``: they start at zero and must grow
    # to the size of codec embeddings (norm ~17); at ``lr`` AdamW moves them ~lr per step, far too slowly
    prosody_lr_scale: float = 20.0
    warmup: int = 500
    log_every: int = 50
    val_every: int = 1000
    seed: int = 0
    threads: int = 2


FAST_LAYERS = ("models.prosody_layer.", "models.contour_layer.")  # trained at ``prosody_lr_scale``


class S2MBatch(NamedTuple):
    """One training batch (see :meth:`S2MData.batch`)."""

    codes: torch.Tensor  # (B, N)
    mel: torch.Tensor  # (B, 80, N*4)
    mel_lens: torch.Tensor  # (B,)
    prompt_lens: torch.Tensor  # (B,) frames
    style: torch.Tensor  # (B, S)
    latent: torch.Tensor | None  # (B, N, D) GPT latents
    prosody: torch.Tensor | None  # (B, K) utterance offsets of the targets from their prompts
    contour: torch.Tensor | None  # (B, N, Kc) per-code contour


class S2MData:
    """Clips of a split with their codes (and style vectors when the style stage ran)."""

    def __init__(
        self,
        corpus: str | Path,
        split: str,
        latents: dict[str, np.ndarray] | None = None,
        prosody: bool = False,
        contour: bool = False,
    ):
        self.data = CorpusData(corpus, split)
        self.latents = latents
        root = Path(corpus) / "cache"
        by_id = split_codes(corpus, split)
        self.codes = [by_id.get(c.row["id"]) for c in self.data.clips]
        self.keep = [k for k, c in enumerate(self.codes) if c is not None and len(c) >= 8]
        if latents is not None:  # clips the GPT could not read (no phones) drop out
            self.keep = [k for k in self.keep if self.data.clips[k].row["id"] in latents]
        if not self.keep:
            raise DataError(f"{corpus}: no {split} clips with codes")
        # prompt clips for cross-clip prompts: a speaker's neutral clips, else all of theirs
        self.prompt_pool = neutral_or_all((self.data.clips[k].row, k) for k in self.keep)
        # utterance prosody of each clip (raw measures), when the model reads prosody offsets
        self.measures: dict[int, np.ndarray] = {}
        if prosody:
            from voxsmith.train.prosody import clip_measures

            self.measures = clip_measures(corpus, self.data, self.keep)
        # per-code contour of each clip (speaker-relative, scaled), when the model reads one
        self.contours: dict[int, np.ndarray] = {}
        if contour:
            from voxsmith.train.prosody import contour as clip_contour
            from voxsmith.train.prosody import prosody_cache, speaker_offsets

            per_code = prosody_cache(corpus, split, self.data)
            base = speaker_offsets(per_code, [self.data.clips[k].row for k in self.keep])
            for k in self.keep:
                row = self.data.clips[k].row
                self.contours[k] = clip_contour(per_code[row["id"]], base[row["speaker"]])
        style_path = root / f"style_{split}.npz"
        self.style: dict[str, np.ndarray] = {}
        if style_path.is_file():
            with np.load(style_path) as z:
                self.style = dict(zip(z["ids"].tolist(), z["style"], strict=True))

    def style_of(self, k: int, dim: int) -> torch.Tensor:
        v = self.style.get(self.data.clips[k].row["id"])
        return torch.zeros(dim) if v is None else torch.from_numpy(v.astype(np.float32))

    def _segment(self, k: int, n: int, rng: np.random.Generator):
        """A random run of at most ``n`` codes of clip ``k``: codes (n',), mel (80, 4n'), latents
        (n', D) or None, contour (n', Kc) or None."""
        codes = self.codes[k]
        mel = self.data.clip_mel(k)
        n_codes = min(len(codes), mel.shape[1] // FRAMES_PER_CODE)
        n = min(n, n_codes)
        s = int(rng.integers(0, n_codes - n + 1))
        lat = None
        if self.latents is not None:
            lat = torch.from_numpy(self.latents[self.data.clips[k].row["id"]][s : s + n].astype(np.float32))
        seg_mel = mel[:, s * FRAMES_PER_CODE : (s + n) * FRAMES_PER_CODE]
        con = None
        if self.contours:  # the prosody cache may be a code shorter than the codes
            con = torch.zeros(n, len(CONTOUR))
            part = torch.from_numpy(self.contours[k][s : s + n])
            con[: len(part)] = part
        return torch.from_numpy(codes[s : s + n].astype(np.int64)), seg_mel, lat, con

    def batch(self, rng: np.random.Generator, cfg: S2MTrainConfig, style_dim: int) -> S2MBatch:
        """codes (B, N), mel (B, 80, N*4), mel_lens (B,), prompt_lens (B,), style (B, S),
        GPT latents (B, N, D) when the data has them, else None, prosody offsets of each
        target from its prompt (B, K) when the data measured them, else None, and the per-code
        contour (B, N, Kc) when the data has contours, else None.

        A prompt is the crop's start, or (``cross_prompt`` of the crops) a run of another clip
        of the speaker put before the crop, whose style vector the item then takes.
        """
        codes_b, mels, lens, prompts, styles, lats, offsets, cons = [], [], [], [], [], [], [], []
        for _ in range(cfg.batch_size):
            k = self.keep[int(rng.integers(len(self.keep)))]
            share = rng.uniform(cfg.prompt_min, cfg.prompt_max)
            pool = [j for j in self.prompt_pool[self.data.clips[k].row["speaker"]] if j != k]
            if pool and rng.random() < cfg.cross_prompt:
                j = pool[int(rng.integers(len(pool)))]
                pc, pm, pl, pn = self._segment(j, max(1, int(share * cfg.crop_codes)), rng)
                tc, tm, tl, tn = self._segment(k, cfg.crop_codes - len(pc), rng)
                c, m = torch.cat((pc, tc)), torch.cat((pm, tm), dim=1)
                lat = None if tl is None else torch.cat((pl, tl))  # type: ignore[arg-type]
                con = None if tn is None else torch.cat((pn, tn))  # type: ignore[arg-type]
                prompts.append(len(pc) * FRAMES_PER_CODE)
                styles.append(self.style_of(j, style_dim))
                if self.measures:
                    offsets.append(scaled_offset(self.measures[k], self.measures[j]))
            else:
                c, m, lat, con = self._segment(k, cfg.crop_codes, rng)
                prompts.append(max(1, int(share * len(c))) * FRAMES_PER_CODE)
                styles.append(self.style_of(k, style_dim))
                if self.measures:
                    offsets.append(np.zeros(len(MEASURES), np.float32))  # prompted by itself
            codes_b.append(c)
            mels.append(m)
            lens.append(len(c) * FRAMES_PER_CODE)
            if lat is not None:
                lats.append(lat)
            if con is not None:
                cons.append(con)
        codes = pad(codes_b)
        mel = torch.full((len(mels), 80, codes.shape[1] * FRAMES_PER_CODE), SILENCE_LOG_MEL)
        for i, m in enumerate(mels):
            mel[i, :, : m.shape[1]] = m
        if cfg.warp > 0:  # the silent padding is constant across bins, so warping leaves it so
            factors = torch.from_numpy(rng.uniform(1 - cfg.warp, 1 + cfg.warp, len(mels)).astype(np.float32))
            mel = warp_mel(mel, factors)
        latent = pad(lats) if lats else None  # as long as their codes, like the contours
        contour = pad(cons) if cons else None
        prosody = torch.from_numpy(np.stack(offsets)) if self.measures else None
        return S2MBatch(
            codes,
            mel,
            torch.tensor(lens),
            torch.tensor(prompts),
            torch.stack(styles),
            latent,
            prosody,
            contour,
        )


def tiny_config(codec_dim: int, style_dim: int = 192, gpt_dim: int | None = None) -> S2MConfig:
    return S2MConfig.tiny(
        content_dim=codec_dim, gpt_dim=gpt_dim, style_dim=style_dim, frames_per_code=FRAMES_PER_CODE
    )


def init_s2m(model: S2M, path: str | Path) -> None:
    """``init_weights`` for S2M, also from an S2M without ``gpt_layer`` into one with it (the
    new layer's last linear starts at zero) and from a shallower DiT into a deeper one (new
    identity blocks, :mod:`voxsmith.models.s2m.grow`) and from one without a ``prosody_layer``
    or ``contour_layer`` into one with it (at zero): the model computes what it did before."""
    tensors, config, _ = load_safetensors(path, kind="s2m")
    own = model.state_dict()
    old_depth = int(config.get("dit", {}).get("depth", model.cfg.dit.depth))
    if old_depth != model.cfg.dit.depth:
        tensors = grow_depth(tensors, own, old_depth, model.cfg.dit.depth, model.cfg.dit.uvit_skip_connection)
        log.info(
            "s2m: DiT grown from %d to %d blocks (new blocks start as identities)",
            old_depth,
            model.cfg.dit.depth,
        )
    new = [k for k in own if k.startswith("models.gpt_layer.") and k not in tensors]
    if new:
        last = max(int(k.split(".")[2]) for k in new)
        for k in new:
            tensors[k] = torch.zeros_like(own[k]) if int(k.split(".")[2]) == last else own[k]
        log.info("s2m: %s has no gpt_layer; it starts with a zero output", path)
    for layer in ("prosody_layer", "contour_layer"):
        key = f"models.{layer}.weight"
        if key in own and key not in tensors:
            tensors[key] = torch.zeros_like(own[key])
            log.info("s2m: %s has no %s; it starts at zero", path, layer)
    strict_load(model, tensors, f"s2m init {path}")
    log.info("s2m: initialised from %s", path)


def train_s2m(
    corpus: str | Path,
    codec_path: str | Path,
    out: str | Path,
    cfg: S2MTrainConfig | None = None,
    model_cfg: S2MConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
    gpt: str | Path | None = None,
    depth: int | None = None,
    prosody: bool = False,
    contour: bool = False,
    style: str | Path | None = None,
    zero_style: bool = False,
    speaker_judge: str | Path | None = None,
) -> Path:
    """Train (or resume) S2M; returns the exported ``s2m.safetensors``.

    ``gpt``: a ``gpt.safetensors`` whose latents S2M reads (see the module docstring).
    ``model_cfg``: by default the run's own (on resume), else ``init``'s, else the recipe's.
    ``depth``: DiT blocks, replacing ``model_cfg``'s; deeper than ``init`` grows it (:func:`init_s2m`).
    ``prosody``: the model reads prosody offsets (added to one that does not, at zero); a
    model that already does keeps reading them. ``contour``: likewise for the per-code contour.
    ``style``: a ``style.safetensors`` whose vectors of the corpus's clips S2M reads (computed
    where missing, :func:`voxsmith.train.style.style_cache`); without it, the vectors the style
    stage left in the corpus's cache. Continuing a trained S2M (``init`` or a resume) with none
    is refused unless ``zero_style``: it would learn to ignore the style inference gives it.
    ``speaker_judge``: a ``mel_speaker.safetensors`` (:mod:`voxsmith.train.mel_speaker`), frozen,
    for ``cfg.speaker_loss``; a speaker loss without one is refused.
    """
    cfg = cfg or S2MTrainConfig()
    if cfg.speaker_loss > 0 and speaker_judge is None:
        raise ConfigError("s2m: --speaker-loss needs --speaker-judge PATH/mel_speaker.safetensors")
    if speaker_judge is not None and cfg.speaker_loss <= 0:
        log.warning("s2m: --speaker-judge %s is unused without --speaker-loss W > 0", speaker_judge)
    judge = load_mel_speaker(speaker_judge) if speaker_judge is not None and cfg.speaker_loss > 0 else None
    codec = load_codec(codec_path)
    torch.set_num_threads(cfg.threads)
    latents: dict[str, dict[str, np.ndarray] | None] = {"train": None, "valid": None}
    gpt_dim = None
    if gpt is not None:
        latents = {split: latents_cache(corpus, split, gpt) for split in latents}
        gpt_dim = next(iter(latents["train"].values())).shape[-1]  # type: ignore[union-attr]
    if model_cfg is None:  # the run's own size on resume, else --init's, else the recipe's
        found = _config_of(Path(out) / "s2m.safetensors" if resume else None) or _config_of(init)
        # an --init without GPT-latent input keeps the recipe's size (init_s2m adds the layer)
        model_cfg = (
            found if found and found.gpt_dim == gpt_dim else tiny_config(codec.cfg.dim, gpt_dim=gpt_dim)
        )
    if depth and depth != model_cfg.dit.depth:
        model_cfg = dataclasses.replace(model_cfg, dit=dataclasses.replace(model_cfg.dit, depth=depth))
    if prosody and not model_cfg.prosody_dim:
        model_cfg = dataclasses.replace(model_cfg, prosody_dim=len(MEASURES))
    if model_cfg.prosody_dim not in (0, len(MEASURES)):
        raise ConfigError(
            f"s2m: prosody_dim {model_cfg.prosody_dim} != the {len(MEASURES)} measures recorded"
        )
    if contour and not model_cfg.contour_dim:
        model_cfg = dataclasses.replace(model_cfg, contour_dim=len(CONTOUR))
    if model_cfg.contour_dim not in (0, len(CONTOUR)):
        raise ConfigError(
            f"s2m: contour_dim {model_cfg.contour_dim} != the {len(CONTOUR)} contour values recorded"
        )
    if (model_cfg.gpt_dim is None) != (gpt is None):
        raise ConfigError(
            f"s2m: the model {'reads' if model_cfg.gpt_dim else 'has no'} GPT latents, "
            f"but {'no --gpt was' if gpt is None else 'a --gpt is'} given"
        )
    if style is not None:
        from voxsmith.train.style import style_cache

        style_cache(corpus, style)
    reads = {"prosody": bool(model_cfg.prosody_dim), "contour": bool(model_cfg.contour_dim)}
    train = S2MData(corpus, "train", latents["train"], **reads)
    continuing = init is not None or (resume and RunDir.state_of(out).is_file())  # before RunDir mkdirs
    if not train.style and continuing and not zero_style:
        raise ConfigError(
            f"s2m: no style vectors in {corpus}/cache: continuing a trained S2M with zero style "
            "would teach it to ignore the style vector inference gives it; pass --style "
            "STYLE.safetensors (computes them) or --zero-style"
        )
    seed_all(cfg.seed)
    run = RunDir(out, "s2m")
    model = S2M(model_cfg)
    style_dim = model_cfg.dit.style_dim
    fast = [p for n, p in model.named_parameters() if n.startswith(FAST_LAYERS)]
    rest = [p for n, p in model.named_parameters() if not n.startswith(FAST_LAYERS)]
    groups = [{"params": rest}] + ([{"params": fast, "lr": cfg.lr * cfg.prosody_lr_scale}] if fast else [])
    opt = torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(cfg.warmup, cfg.steps))
    step = 0
    if resume and run.has_state():
        step, _ = run.resume({"model": model}, {"opt": opt}, {"sched": sched})
    elif init is not None:
        init_s2m(model, init)
        run.started_from(init)
    if not train.style:
        log.warning("s2m: no style vectors (run `voxsmith train style` first); training with zero style")
    else:
        missing = sum(1 for k in train.keep if train.data.clips[k].row["id"] not in train.style)
        if missing:  # a corpus that grew since the style stage: those clips read zero style
            log.warning(
                "s2m: %d of %d clips have no style vector (pass --style to compute them)",
                missing,
                len(train.keep),
            )
    valid = None
    bar = tqdm(total=cfg.steps, initial=step, desc="s2m", unit="step")
    guard = SkipGuard("s2m")
    with StopRequest() as stop:
        while step < cfg.steps:
            rng = np.random.default_rng([cfg.seed, step])
            gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + step)
            model.train()
            parts: dict[str, float] = {}
            loss = batch_loss(model, codec, train, rng, cfg, style_dim, gen, judge, parts)
            guard(optimizer_step(loss, model.parameters(), opt, sched, 1.0), step)
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0:
                run.log(step, **parts, lr=sched.get_last_lr()[0])
                bar.set_postfix({k.removesuffix("_loss"): f"{v:.3f}" for k, v in parts.items()})
            if step % cfg.val_every == 0 or step == cfg.steps or stop.requested:
                if valid is None:
                    valid = S2MData(corpus, "valid", latents["valid"], **reads)
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


def _config_of(path: str | Path | None) -> S2MConfig | None:
    """The model config recorded in an exported S2M, or None where there is no such file."""
    if path is None or not Path(path).is_file():
        return None
    config, _ = read_metadata(path, kind="s2m")
    return S2MConfig.from_dict(config) if config else None


def batch_loss(
    model: S2M,
    codec: KMeansCodec,
    data: S2MData,
    rng: np.random.Generator,
    cfg: S2MTrainConfig,
    style_dim: int,
    gen: torch.Generator,
    judge: MelSpeakerEncoder | None = None,
    parts: dict[str, float] | None = None,
) -> torch.Tensor:
    """Loss of one batch drawn from ``data`` with ``rng`` (noise and times from ``gen``): flow
    matching, plus ``cfg.speaker_loss`` times :func:`speaker_term` where a ``judge`` is given
    (``parts`` receives each term's value)."""
    b = data.batch(rng, cfg, style_dim)
    terms = model.loss_terms(
        codec.vq2emb(b.codes), b.mel, b.mel_lens, b.style, gpt_latent=b.latent, prompt_lens=b.prompt_lens,
        generator=gen, prompt_latent=cfg.prompt_latent, prosody=b.prosody, contour=b.contour,
    )  # fmt: skip
    loss = terms.loss
    if parts is not None:
        parts["fm_loss"] = loss.item()
    if judge is not None and cfg.speaker_loss > 0:
        spk = speaker_term(judge, terms, b.mel, b.prompt_lens, b.mel_lens, cfg.speaker_frames)
        loss = loss + cfg.speaker_loss * spk
        if parts is not None:
            parts["spk_loss"] = spk.item()
    return loss


def speaker_term(
    judge: MelSpeakerEncoder,
    terms: CFMTerms,
    mel: torch.Tensor,
    prompt_lens: torch.Tensor,
    mel_lens: torch.Tensor,
    frames: int,
) -> torch.Tensor:
    """``1 - cos`` of the judge's embeddings of the estimated and the real target mel (scalar).

    Both are cut to the same ``min(frames, shortest target)`` frames right after each item's
    prompt; items are weighted by their time ``t`` (near t = 0 the estimate is the blurred mean,
    no voice to judge) and those trained unconditioned (guidance dropout) count zero. mel
    ``(B, M, T)``; prompt_lens, mel_lens ``(B,)``.
    """
    width = int(min(frames, int((mel_lens - prompt_lens).min())))
    if width < 2 * MEL_SPEAKER_MIN_FRAMES:
        return mel.new_zeros(())
    idx = (prompt_lens[:, None] + torch.arange(width)[None]).unsqueeze(1).expand(-1, mel.shape[1], -1)
    with torch.no_grad():
        real = judge(mel.gather(2, idx))
    est = judge(terms.x1_hat.gather(2, idx))
    weight = terms.t * terms.kept
    miss = 1 - torch.nn.functional.cosine_similarity(est, real, dim=-1)
    return (weight * miss).sum() / weight.sum().clamp(min=1e-6)


@torch.no_grad()
def validate(
    model: S2M, codec: KMeansCodec, data: S2MData, cfg: S2MTrainConfig, style_dim: int, batches: int = 4
) -> float:
    """Flow-matching loss on fixed validation crops and fixed noise (comparable across steps
    and runs: the real voices, never warped, cut as the recipe cuts them whatever a run's
    ``crop_codes`` and prompt shares)."""
    model.eval()
    base = S2MTrainConfig()
    cfg = dataclasses.replace(
        cfg, warp=0.0, crop_codes=base.crop_codes, prompt_min=base.prompt_min, prompt_max=base.prompt_max
    )
    losses = []
    for b in range(batches):
        rng = np.random.default_rng([cfg.seed, 20_000 + b])
        losses.append(
            batch_loss(model, codec, data, rng, cfg, style_dim, torch.Generator().manual_seed(b)).item()
        )
    return float(np.mean(losses))
