"""Recipe: the tiny size's content encoder (CTC over pronunciation units) and k-means codec.

Stage ``content`` trains ``ContentEncoder`` with CTC on whole corpus clips; stage
``codec`` runs it over the training split, fits ``KMeansCodec`` on the hidden features and
writes ``codes/<split>.npz`` (codes per clip) for the GPT and S2M stages.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.audio import SILENCE_LOG_MEL
from voxsmith.checkpoints import load_module, save_safetensors
from voxsmith.errors import ConfigError, DataError
from voxsmith.models.content import ContentEncoder, ContentEncoderConfig
from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
from voxsmith.models.units import UNITS, row_units, units_to_ids
from voxsmith.train.data import CorpusData, save_codes
from voxsmith.train.optim import optimizer_step
from voxsmith.train.state import RunDir, StopRequest, seed_all, start_module_run
from voxsmith.train.unit_error import edit_distance, greedy_ctc, pooled_unit_error

log = logging.getLogger(__name__)


@dataclass
class ContentTrainConfig:
    steps: int = 2000  # optimiser steps (~10 epochs of a 90-minute corpus; ~1 h on 2 cores)
    max_batch_frames: int = 3000  # mel frames per batch (~35 s of audio)
    lr: float = 1e-3  # AdamW peak learning rate
    warmup: int = 200  # linear warm-up steps
    spec_augment: bool = True  # time/frequency masking
    # vocal-tract-length perturbation: each clip's mel axis warped by a factor drawn from
    # [1 - w, 1 + w]; content must not depend on the voice (held-out voices read worse)
    warp: float = 0.0
    log_every: int = 50
    val_every: int = 500
    seed: int = 0
    threads: int = 2


def clip_targets(data: CorpusData) -> list[list[int]]:
    targets = [units_to_ids(row_units(c.row)) for c in data.clips]
    if not any(targets):
        raise DataError("no pronunciation units in the manifest (fields syllables/phones are empty)")
    return targets


def make_batch(
    data: CorpusData, targets: list[list[int]], order: list[int], max_frames: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Pad the given clips to (B, 80, T); concatenated CTC targets and lengths."""
    mels = [data.clip_mel(i) for i in order]
    t = max(m.shape[-1] for m in mels)
    batch = torch.full((len(mels), 80, t), SILENCE_LOG_MEL)
    for b, m in enumerate(mels):
        batch[b, :, : m.shape[-1]] = m
    lens = torch.tensor([m.shape[-1] for m in mels])
    tg = [torch.tensor(targets[i] or [1]) for i in order]
    return batch, lens, torch.cat(tg), torch.tensor([len(x) for x in tg])


def sample_order(data: CorpusData, rng: np.random.Generator, max_frames: int) -> list[int]:
    order, total = [], 0
    while True:
        i = int(rng.integers(len(data)))
        n = data.clips[i].n_frames
        if order and (len(order) + 1) * max(n, total // max(1, len(order))) > max_frames:
            return order
        order.append(i)
        total += n


def spec_augment(mel: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
    mel = mel.clone()
    floor = mel.min()
    for b in range(mel.shape[0]):
        f0 = int(rng.integers(0, 70))
        mel[b, f0 : f0 + int(rng.integers(0, 10))] = floor
        t = mel.shape[-1]
        for _ in range(2):
            t0 = int(rng.integers(0, max(1, t - 20)))
            mel[b, :, t0 : t0 + int(rng.integers(0, 12))] = floor
    return mel


def warp_mel(mel: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """Vocal-tract-length perturbation of log-mels ``(B, n_mels, T)``: item ``b`` reads bin
    ``f`` from fractional bin ``f / factors[b]`` (linear interpolation, edge bins repeated), so
    a factor above 1 moves formants up, as a shorter vocal tract would. Factor 1 is exact."""
    n = mel.shape[1]
    src = (torch.arange(n, dtype=mel.dtype)[None] / factors[:, None].to(mel.dtype)).clamp(0, n - 1)
    lo = src.floor().long()
    hi = (lo + 1).clamp(max=n - 1)
    frac = (src - lo.to(mel.dtype))[..., None]
    pick = lambda idx: torch.gather(mel, 1, idx[..., None].expand(-1, -1, mel.shape[2]))  # noqa: E731
    return pick(lo) * (1 - frac) + pick(hi) * frac


def train_content(
    corpus: str | Path,
    out: str | Path,
    cfg: ContentTrainConfig | None = None,
    model_cfg: ContentEncoderConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
) -> Path:
    """Train (or resume) the CTC content encoder; returns ``content.safetensors``."""
    cfg = cfg or ContentTrainConfig()
    model_cfg = model_cfg or ContentEncoderConfig.tiny(len(UNITS))
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    run = RunDir(out, "content")
    data = CorpusData(corpus, "train")
    targets = clip_targets(data)
    model = ContentEncoder(model_cfg)
    opt, sched, step = start_module_run(
        run, model, cfg.lr, cfg.warmup, cfg.steps, resume=resume, init=init, kind="content"
    )
    bar = tqdm(total=cfg.steps, initial=step, desc="content", unit="step")
    with StopRequest() as stop:
        while step < cfg.steps:
            rng = np.random.default_rng([cfg.seed, step])
            mel, lens, tg, tg_lens = make_batch(
                data, targets, sample_order(data, rng, cfg.max_batch_frames), 0
            )
            if cfg.warp > 0:
                factors = torch.from_numpy(rng.uniform(1 - cfg.warp, 1 + cfg.warp, mel.shape[0]))
                mel = warp_mel(mel, factors)
            if cfg.spec_augment:
                mel = spec_augment(mel, rng)
            model.train()
            loss = model.ctc_loss(mel, lens, tg, tg_lens)
            optimizer_step(loss, model.parameters(), opt, sched, 5.0)
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0:
                run.log(step, ctc=loss.item(), lr=sched.get_last_lr()[0])
                bar.set_postfix(ctc=f"{loss.item():.3f}")
            if step % cfg.val_every == 0 or step == cfg.steps or stop.requested:
                run.log(step, val_unit_error=unit_error_rate(model, CorpusData(corpus, "valid")))
                run.checkpoint(
                    step, {"model": model}, {"opt": opt}, {"sched": sched},
                    export=lambda: save_safetensors(
                        model.state_dict(), run.path / "content.safetensors", kind="content",
                        config=model_cfg.to_dict(), dtype=torch.float16,
                    ),
                )  # fmt: skip
            if stop.requested:
                break
    bar.close()
    return run.path / "content.safetensors"


@torch.no_grad()
def units_of_features(model: ContentEncoder, h: torch.Tensor, codec: KMeansCodec | None = None) -> list[int]:
    """Greedy CTC decoding of content features (T', dim) → unit ids. With ``codec``, the CTC
    head reads their centroids instead: what the codes still say."""
    if codec is not None:
        h = codec.vq2emb(codec.quantize(h))
    return [i for i in greedy_ctc(model.ctc_head(h)) if i != 1]  # drop <sil>


@torch.no_grad()
def unit_error_rate(
    model: ContentEncoder,
    data: CorpusData,
    n: int = 40,
    codec: KMeansCodec | None = None,
    features: list[torch.Tensor] | None = None,
) -> float:
    """Unit (toned-pinyin / phone) error rate of greedy CTC decoding on the first ``n`` clips;
    with ``codec``, of the quantised features (see ``units_of_features``). ``features``: the
    clips' content features when already computed (``content_features``)."""
    return pooled_unit_error(unit_errors_by_lang(model, data, n, codec, features))


@torch.no_grad()
def unit_errors_by_lang(
    model: ContentEncoder,
    data: CorpusData,
    n: int = 40,
    codec: KMeansCodec | None = None,
    features: list[torch.Tensor] | None = None,
) -> dict[str, tuple[int, int]]:
    """:func:`unit_error_rate`'s counts per clip language: ``{lang: (unit errors, units)}``."""
    model.eval()
    targets = clip_targets(data)
    out: dict[str, tuple[int, int]] = {}
    for i in range(min(n, len(data))):
        ref = [u for u in targets[i] if u != 1]
        h = features[i] if features is not None else model(data.clip_mel(i).unsqueeze(0))[0][0]
        lang = str(data.clips[i].row.get("lang", "?"))
        errs, total = out.get(lang, (0, 0))
        out[lang] = (errs + edit_distance(units_of_features(model, h, codec), ref), total + max(1, len(ref)))
    return out


def load_content(path: str | Path) -> ContentEncoder:
    return load_module(path, "content", lambda c: ContentEncoder(ContentEncoderConfig(**c)))  # type: ignore[return-value]


def load_codec(path: str | Path) -> KMeansCodec:
    """Exported k-means codec weights (``codec.safetensors``), strictly."""
    return load_module(path, "kmeans_codec", lambda c: KMeansCodec(KMeansCodecConfig(**c)))  # type: ignore[return-value]


def _keep_previous_codes(corpus: Path) -> None:
    """Before a codebook changes the codes' numbers or meaning, the corpus's codes move to
    ``cache/codes_<split>.previous.npz`` (what ``train gpt --remap-codes`` reads)."""
    for split in ("train", "valid", "test"):
        old = corpus / "cache" / f"codes_{split}.npz"
        if old.is_file():
            kept = old.replace(old.with_name(f"codes_{split}.previous.npz"))
            log.info("codec: previous codes kept as %s", kept)


@torch.no_grad()
def content_features(model: ContentEncoder, data: CorpusData, n: int | None = None) -> list[torch.Tensor]:
    """Hidden features (T', dim) of every clip (or the first ``n``), in clip order."""
    model.eval()
    feats = []
    count = len(data) if n is None else min(n, len(data))
    for i in tqdm(range(count), desc=f"features {data.split}", unit="clip", leave=False):
        h, _, _ = model(data.clip_mel(i).unsqueeze(0))
        feats.append(h[0])
    return feats


def train_codec(
    corpus: str | Path,
    content_ckpt: str | Path,
    out: str | Path,
    codebook_size: int = 512,
    seed: int = 0,
    reuse: str | Path | None = None,
    align: str | Path | None = None,
) -> Path:
    """Fit the k-means codec on train features; write codes for every split.

    ``reuse``: an existing ``codec.safetensors`` to keep instead of fitting a new codebook,
    e.g. after the corpus grew, so that the codes of the clips already trained on stay the
    same and a GPT or S2M trained on them continues. A new codebook moves the corpus's
    previous codes to ``cache/codes_<split>.previous.npz`` (what ``--remap-codes`` reads).

    ``align`` (with ``reuse``): the content encoder ``reuse``'s codebook was fitted on, when
    ``content_ckpt`` is a retrained one: the codebook is moved into the new encoder's feature
    space (:func:`align_codebook`), so each code keeps its meaning and a GPT or S2M trained on
    the old codes continues on the new ones.
    """
    if align is not None and reuse is None:  # before minutes of feature extraction
        raise ConfigError(
            "aligning a codebook to a retrained encoder (--align-content) needs that codebook (--codec)"
        )
    out = Path(out)
    encoder = load_content(content_ckpt)
    train = CorpusData(corpus, "train")
    feats = content_features(encoder, train)
    if align is not None:
        codec, kept = align_codebook(load_codec(reuse), content_features(load_content(align), train), feats)
        log.info(
            "codec: %s aligned to the new encoder; %.1f%% of train frames keep their code", reuse, 100 * kept
        )
        _keep_previous_codes(Path(corpus))
        path = save_safetensors(
            codec.state_dict(), out / "codec.safetensors", kind="kmeans_codec", config=codec.cfg.to_dict(),
            extra={"aligned_from": str(reuse), "kept": f"{kept:.4f}"},
        )  # fmt: skip
    elif reuse is not None:
        codec = load_codec(reuse)
        if codec.cfg.dim != encoder.cfg.dim:
            raise ConfigError(f"{reuse}: codec dim {codec.cfg.dim} != content dim {encoder.cfg.dim}")
        log.info("codec: reusing %s (%d codes)", reuse, codec.cfg.codebook_size)
        out.mkdir(parents=True, exist_ok=True)
        path = out / "codec.safetensors"
        if Path(reuse).resolve() != path.resolve():
            save_safetensors(codec.state_dict(), path, kind="kmeans_codec", config=codec.cfg.to_dict())
    else:
        _keep_previous_codes(Path(corpus))  # a new codebook renumbers the codes
        codec = KMeansCodec(KMeansCodecConfig(dim=encoder.cfg.dim, codebook_size=codebook_size))
        mse = codec.fit(torch.cat(feats), seed=seed)
        log.info("codec: %d codes, k-means mse %.4f", codebook_size, mse)
        path = save_safetensors(
            codec.state_dict(),
            out / "codec.safetensors",
            kind="kmeans_codec",
            config=codec.cfg.to_dict(),
            extra={"mse": f"{mse:.5f}"},
        )
    write_codes(codec, feats, train, Path(corpus))
    for split in ("valid", "test"):
        try:
            data = CorpusData(corpus, split)
        except DataError:
            continue
        split_feats = content_features(encoder, data)
        write_codes(codec, split_feats, data, Path(corpus))
        if split == "valid":  # how much of the pronunciation the codes keep (the ceiling for GPT + S2M)
            log.info(
                "codec: valid unit error %.3f from features, %.3f from codes",
                unit_error_rate(encoder, data, 80, features=split_feats),
                unit_error_rate(encoder, data, 80, codec, split_feats),
            )
    return path


@torch.no_grad()
def align_codebook(
    old: KMeansCodec, old_feats: list[torch.Tensor], new_feats: list[torch.Tensor]
) -> tuple[KMeansCodec, float]:
    """The codebook of ``old`` moved into a retrained encoder's feature space: code ``k``'s new
    centroid is the mean new feature of the frames ``old`` gave code ``k`` (same clips, both
    encoders; a code no frame took keeps the new mean of its nearest used code's frames).
    Returns the codec and the share of frames whose code the new codebook keeps."""
    assign = torch.cat([old.quantize(f) for f in old_feats])
    x = torch.cat(new_feats).float()
    if x.shape[0] != assign.shape[0]:
        raise DataError(f"the two encoders gave {assign.shape[0]} and {x.shape[0]} frames for the same clips")
    k = old.cfg.codebook_size
    counts = torch.bincount(assign, minlength=k)
    cent = torch.zeros(k, x.shape[1]).index_add_(0, assign, x) / counts.clamp(min=1)[:, None].float()
    used = counts > 0
    if not used.all():  # nearest used code in the old space stands in
        d = torch.cdist(old.centroids[~used], old.centroids[used])
        cent[~used] = cent[used][d.argmin(-1)]
    codec = KMeansCodec(KMeansCodecConfig(dim=x.shape[1], codebook_size=k))
    codec.centroids.copy_(cent)
    kept = float((codec.quantize(x) == assign).float().mean())
    return codec, kept


def write_codes(codec: KMeansCodec, feats: list[torch.Tensor], data: CorpusData, corpus: Path) -> Path:
    codes = {
        c.row["id"]: codec.quantize(f).numpy().astype(np.int16)
        for c, f in zip(data.clips, feats, strict=True)
    }
    return save_codes(corpus / "cache" / f"codes_{data.split}.npz", codes)
