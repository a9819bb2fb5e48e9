"""Recipe: the semantic GPT of the tiny size (text phones + conditioning → codes).

One loop covers the paper's three stages at this size (a flag each): speaker conditioning
from *another* clip of the same speaker (so the latents carry timbre, not content), the
emotion conditioner fed a clip of the same speaker *and style*, a speaker adversary behind
a gradient reversal layer on the emotion vector (emotion must not carry identity), a
language adversary on the pooled speaker latents (timbre must not carry the language, so
cross-lingual cloning works), and the duration slot dropped on 30% of rows. Optionally a
prosody probe on the latents (``train.prosody``, ``--prosody-weight``) makes them carry the
emotion's pitch and loudness for S2M to render; a unit probe (``train.unit_probe``,
``--unit-ctc-weight``) makes them say which unit of the text each code speaks. Both
Perceivers' internal scale is held under a cap (``train.latent_scale``): unbounded, it
saturates their attention and its gradients swamp the global clip; ``refit_perceivers``
repairs a GPT trained without the cap before it continues.

Inputs per clip come from the corpus (``CorpusData``), the codes written by the codec
stage (``cache/codes_<split>.npz``) and the frontend's phones (``row["phones"]``), or from
a GPT pack of them (``train.gpt_pack``), small enough to carry to an accelerator machine.
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.audio import SILENCE_LOG_MEL
from voxsmith.checkpoints import load_safetensors, read_metadata, save_safetensors, strict_load
from voxsmith.errors import ConfigError, DataError
from voxsmith.models.emotion import SpeakerAdversary
from voxsmith.models.gpt import IGNORE, GPTBatch, GPTConfig, UnifiedVoice
from voxsmith.models.gpt_grow import grow_layers
from voxsmith.text.tokenizer import PhoneTokenizer, Segment
from voxsmith.train.code_remap import code_correspondence, remap_code_rows
from voxsmith.train.data import CorpusData, load_codes, pad, split_codes
from voxsmith.train.latent_scale import DEFAULT_CAP, PERCEIVERS, PerceiverScale, RefitConfig
from voxsmith.train.latent_scale import refit_perceivers as refit_perceiver_scale
from voxsmith.train.optim import SkipGuard, optimizer_step, warmup_decay
from voxsmith.train.state import RunDir, StopRequest, seed_all
from voxsmith.train.unit_probe import UnitProbe

if TYPE_CHECKING:
    from voxsmith.train.prosody import ProsodyProbe

log = logging.getLogger(__name__)

LANGS = ("zh", "en")


@dataclass
class GPTTrainConfig:
    steps: int = 30000  # optimiser steps
    max_batch_codes: int = 2400  # codes per batch (~110 s of speech at 21.5 codes/s)
    max_ref_frames: int = 500  # speaker/emotion reference crop (mel frames, ~5.8 s)
    lr: float = 5e-4  # AdamW peak learning rate
    warmup: int = 1000  # linear warm-up steps
    text_loss_weight: float = 0.01  # official weighting of the text prediction loss
    speaker_adv_weight: float = 0.1  # GRL speaker classifier on the emotion vector
    lang_adv_weight: float = 0.1  # GRL language classifier on the pooled speaker latents
    dropout: float | None = None  # GPT-2 dropout while training (None: the model config's)
    code_noise: float = 0.0  # share of teacher-forced input codes replaced by random codes
    self_feed: float = 0.0  # share replaced by the model's own draws (two-pass scheduled sampling)
    text_drop: float = 0.0  # share of rows trained without their text (for text guidance at inference)
    prosody_weight: float = 0.0  # prosody probe on the latents (train.prosody); 0: off
    unit_ctc_weight: float = 0.0  # CTC probe of the text's units on the latents (train.unit_probe); 0: off
    latent_cap: float = DEFAULT_CAP  # RMS per Perceiver latent before its norm (train.latent_scale)
    latent_scale_weight: float = 1.0  # weight of the penalty above the cap; 0: off
    refit_steps: int = RefitConfig.steps  # per inflated Perceiver, with refit_perceivers
    log_every: int = 50
    val_every: int = 1000
    seed: int = 0
    threads: int = 2
    device: str = "cpu"  # torch device to train on ("cuda" on an accelerator machine)
    minutes: float | None = None  # wall-time budget: the schedule is fitted to it (see train_gpt)


class GPTData:
    """Clips of one split with text ids, codes, and same-speaker / same-style partners."""

    def __init__(self, corpus: str | Path, split: str, tokenizer: PhoneTokenizer):
        self.data = CorpusData(corpus, split)
        by_id = split_codes(corpus, split)
        self.codes, self.text, self.keep = [], [], []
        for k, clip in enumerate(self.data.clips):
            codes = by_id.get(clip.row["id"])
            ids = tokenizer.encode(Segment(clip.row["normalized"], list(clip.row.get("phones") or [])))
            self.codes.append(codes)
            self.text.append(ids)
            if codes is not None and len(codes) > 0 and ids:
                self.keep.append(k)
        if not self.keep:
            raise DataError(f"{corpus}: no {split} clips with both codes and phones")
        self.by_speaker: dict[str, list[int]] = defaultdict(list)
        self.by_style: dict[tuple[str, str], list[int]] = defaultdict(list)
        for k in self.keep:
            row = self.data.clips[k].row
            self.by_speaker[row["speaker"]].append(k)
            self.by_style[(row["speaker"], row.get("style", "neutral"))].append(k)

    def _ref(self, k: int, pool: list[int], rng: np.random.Generator, max_frames: int) -> torch.Tensor:
        others = [j for j in pool if j != k] or [k]
        mel = self.data.clip_mel(others[int(rng.integers(len(others)))])
        if mel.shape[1] > max_frames:
            s = int(rng.integers(0, mel.shape[1] - max_frames + 1))
            mel = mel[:, s : s + max_frames]
        return mel.T  # (T, 80)

    def random_ref(self, rng: np.random.Generator, max_frames: int) -> torch.Tensor:
        """A conditioning log-mel ``(T, 80)`` from any clip of the split, cropped to ``max_frames``."""
        return self._ref(-1, self.keep, rng, max_frames)

    def pick(self, rng: np.random.Generator, max_codes: int) -> list[int]:
        """Random clips (indices) while the padded batch stays within ``max_codes`` codes."""
        picks: list[int] = []
        longest = 0
        while True:
            k = self.keep[int(rng.integers(len(self.keep)))]
            n = len(self.codes[k])
            if picks and (len(picks) + 1) * max(longest, n) > max_codes:
                break
            picks.append(k)
            longest = max(longest, n)
        return picks

    def attach_prosody(self, corpus: str | Path) -> None:
        """Load (or measure) the per-code prosody targets the GPT's prosody probe reads."""
        from voxsmith.train.prosody import prosody_cache, speaker_offsets, targets

        raw = prosody_cache(corpus, self.data.split, self.data)
        offsets = speaker_offsets(raw, self.data.rows)
        self.prosody = {
            c.row["id"]: targets(raw[c.row["id"]], offsets[c.row["speaker"]])
            for c in self.data.clips
            if c.row["id"] in raw
        }

    def prosody_of(self, picks: list[int]) -> torch.Tensor:
        """Prosody targets ``(B, Lc, 2)`` of picked clips, NaN-padded (see ``attach_prosody``)."""
        rows = [self.prosody[self.data.clips[k].row["id"]] for k in picks]
        n = max(len(self.codes[k]) for k in picks)
        out = torch.full((len(picks), n, 2), float("nan"))
        for i, (k, r) in enumerate(zip(picks, rows, strict=True)):
            m = min(len(r), len(self.codes[k]))
            out[i, :m] = torch.from_numpy(r[:m])
        return out

    def make_batch(
        self, picks: list[int], rng: np.random.Generator, max_ref: int
    ) -> tuple[GPTBatch, torch.Tensor, torch.Tensor]:
        """The batch of ``picks`` (references drawn with ``rng``), speaker ids and language ids."""
        rows = [self.data.clips[k].row for k in picks]
        spk = [
            self._ref(k, self.by_speaker[r["speaker"]], rng, max_ref)
            for k, r in zip(picks, rows, strict=True)
        ]
        emo = [
            self._ref(k, self.by_style[(r["speaker"], r.get("style", "neutral"))], rng, max_ref)
            for k, r in zip(picks, rows, strict=True)
        ]
        batch = GPTBatch(
            text_ids=pad([torch.tensor(self.text[k]) for k in picks]),
            text_lengths=torch.tensor([len(self.text[k]) for k in picks]),
            codes=pad([torch.from_numpy(self.codes[k].astype(np.int64)) for k in picks]),
            code_lengths=torch.tensor([len(self.codes[k]) for k in picks]),
            spk_feats=pad(spk, value=SILENCE_LOG_MEL),
            spk_lengths=torch.tensor([len(x) for x in spk]),
            emo_feats=pad(emo, value=SILENCE_LOG_MEL),
            emo_lengths=torch.tensor([len(x) for x in emo]),
        )
        speakers = torch.tensor([self.data.speaker_index[r["speaker"]] for r in rows])
        langs = torch.tensor([LANGS.index(r["lang"]) if r["lang"] in LANGS else 0 for r in rows])
        return batch, speakers, langs


def tiny_config(codebook_size: int) -> GPTConfig:
    return GPTConfig.tiny(number_text_tokens=PhoneTokenizer().vocab_size, codebook_size=codebook_size)


def init_gpt(model: UnifiedVoice, init: str | Path, remap: tuple[str | Path, Path] | None = None) -> None:
    """Load ``init`` into ``model``: a shallower GPT grows (:mod:`voxsmith.models.gpt_grow`), and
    with ``remap = (old_codes, new_codes)`` its code rows are matched from the codes it was
    trained on to the corpus's codes after a codec refit. Either way the model then computes
    what ``init`` did, up to the code matching."""
    tensors, config, _ = load_safetensors(init, kind="gpt")
    old, new = int(config.get("layers", model.config.layers)), model.config.layers
    if old != new:
        tensors = grow_layers(tensors, model.state_dict(), old, new)
        log.info("gpt: grown from %d to %d blocks (new blocks start as identities)", old, new)
    if remap is not None:
        old_codes, new_codes = remap
        n_old = tensors["mel_embedding.weight"].shape[0] - 2  # + start and stop codes
        n_new = model.config.number_mel_codes - 2
        mapping, agreement = code_correspondence(load_codes(old_codes), load_codes(new_codes), n_old, n_new)
        tensors = remap_code_rows(tensors, mapping, n_old)
        log.info(
            "gpt: %d old codes matched to %d new (%.0f%% of frames agree, %d distinct)",
            n_old, n_new, 100 * agreement, len(set(mapping.tolist())),
        )  # fmt: skip
    strict_load(model, tensors, f"gpt init {init}")
    log.info("gpt: initialised from %s", init)


def _layers_of(path: str | Path | None) -> int | None:
    """The GPT-2 block count recorded in an exported GPT, or None where there is no such file."""
    if path is None or not Path(path).is_file():
        return None
    config, _ = read_metadata(path, kind="gpt")
    return int(config["layers"]) if config and "layers" in config else None


def train_gpt(
    corpus: str | Path,
    out: str | Path,
    codebook_size: int,
    cfg: GPTTrainConfig | None = None,
    model_cfg: GPTConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
    reinit_emotion: bool = False,
    remap_codes: str | Path | None = None,
    layers: int | None = None,
    refit_perceivers: bool = False,
) -> Path:
    """Train (or resume) the GPT; returns the exported ``gpt.safetensors``.

    ``layers``: GPT-2 blocks, replacing ``model_cfg``'s (default: the run's own on resume, else
    ``init``'s, else the recipe's); deeper than ``init`` grows it with identity blocks.

    ``remap_codes``: with ``init``, the ``codes_train.npz`` the init weights were trained
    on; their code rows are matched to the corpus's current codes (``train.code_remap``),
    so a GPT carries over to a refitted codec.

    ``reinit_emotion``: once, after resuming or ``init``, give the emotion conditioner fresh
    weights (and forget their optimiser moments), e.g. to recover a collapsed emotion path.

    ``refit_perceivers``: once, after resuming or ``init``, bring an inflated Perceiver's scale
    under ``cfg.latent_cap`` while keeping its outputs (``train.latent_scale``; healthy ones are
    left alone) and forget its optimiser moments.

    ``corpus`` may be a GPT pack (``train.gpt_pack``) instead of a corpus. ``cfg.minutes``: after
    a short measured stretch (steps 20–60 of this invocation) the total step count is cut so the
    cosine schedule ends within the budget (a lent machine's fixed window); the run's own
    ``cfg.steps`` stays the upper bound.
    """
    from voxsmith.train.gpt_pack import gpt_data, is_pack

    cfg = cfg or GPTTrainConfig()
    try:
        device = torch.device(cfg.device)
    except RuntimeError as exc:
        raise ConfigError(f"device {cfg.device!r}: not a torch device (cpu, cuda, cuda:1, ...)") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {cfg.device!r}: torch sees no CUDA device on this machine")
    model_cfg = model_cfg or tiny_config(codebook_size)
    layers = layers or _layers_of(Path(out) / "gpt.safetensors" if resume else None) or _layers_of(init)
    if layers and layers != model_cfg.layers:
        model_cfg = replace(model_cfg, layers=layers)
    if cfg.dropout is not None:
        # training-only regularisation: the exported config records it, inference ignores it
        model_cfg = replace(model_cfg, dropout=cfg.dropout)
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    tok = PhoneTokenizer()
    run = RunDir(out, "gpt")
    if remap_codes is not None and is_pack(corpus):
        raise DataError(f"{corpus}: a GPT pack holds no code history to remap (remap on the corpus)")
    train = gpt_data(corpus, "train", tok)
    model = UnifiedVoice(model_cfg)
    spk_adv = SpeakerAdversary(model_cfg.model_dim, max(2, len(train.data.speakers)))
    lang_adv = SpeakerAdversary(model_cfg.model_dim, len(LANGS))
    params = [*model.parameters(), *spk_adv.parameters(), *lang_adv.parameters()]
    modules: dict[str, torch.nn.Module] = {"model": model, "spk_adv": spk_adv, "lang_adv": lang_adv}
    probe = None
    if cfg.prosody_weight > 0:
        from voxsmith.train.prosody import ProsodyProbe

        train.attach_prosody(corpus)
        probe = ProsodyProbe(model_cfg.model_dim)
        params += list(probe.parameters())
        modules["prosody_probe"] = probe
    units = None
    if cfg.unit_ctc_weight > 0:
        units = UnitProbe(model_cfg.model_dim, tok.vocab_size)
        params += list(units.parameters())  # last: a run resumed without it appends fresh moments
        modules["unit_probe"] = units
    for m in modules.values():  # before the optimiser: a resumed state's moments load onto the device
        m.to(device)
    opt = torch.optim.AdamW(params, lr=cfg.lr, betas=(0.9, 0.96), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(cfg.warmup, cfg.steps, "cosine"))
    step = 0
    if resume and run.has_state():
        step, _ = run.resume(modules, {"opt": opt}, {"sched": sched}, added=("unit_probe",))
    elif init is not None:
        new_codes = Path(corpus) / "cache" / "codes_train.npz"
        init_gpt(model, init, None if remap_codes is None else (remap_codes, new_codes))
        run.started_from(init)
    if reinit_emotion:
        reset_emotion_conditioner(model, opt, seed=cfg.seed + step)
    if refit_perceivers:
        _refit(model, train, opt, cfg, step)
    scale = PerceiverScale({name: getattr(model, name) for name in PERCEIVERS})
    norms: list[float] = []
    log.info(
        "gpt: %d params, %d train clips, step %d",
        sum(p.numel() for p in model.parameters()),
        len(train.keep),
        step,
    )
    valid = None
    bar = tqdm(total=cfg.steps, initial=step, desc="gpt", unit="step")
    budget = _Budget(cfg.minutes, step) if cfg.minutes else None
    guard = SkipGuard("gpt")
    with StopRequest() as stop:
        while step < cfg.steps:
            if budget is not None and (total := budget.fit(step)) is not None and total < cfg.steps:
                cfg.steps = total
                sched.lr_lambdas[0] = warmup_decay(cfg.warmup, cfg.steps, "cosine")
                bar.total = total
                log.info("gpt: %.1f-minute budget: the schedule now ends at step %d", cfg.minutes, total)
            rng = np.random.default_rng([cfg.seed, step])
            picks = train.pick(rng, cfg.max_batch_codes)
            batch, speakers, langs = train.make_batch(picks, rng, cfg.max_ref_frames)
            batch, speakers, langs = _to(batch, device), speakers.to(device), langs.to(device)
            model.train()
            scale.clear()
            out_ = model(
                batch,
                text_loss_weight=cfg.text_loss_weight,
                code_noise=cfg.code_noise,
                self_feed=cfg.self_feed,
                text_drop=cfg.text_drop,
            )
            adv_s = spk_adv.loss(out_.emo_vec, speakers)
            adv_l = lang_adv.loss(out_.spk_latents.mean(1), langs)
            loss = out_.loss + cfg.speaker_adv_weight * adv_s + cfg.lang_adv_weight * adv_l
            extra = {}
            if cfg.latent_scale_weight > 0:
                loss = loss + cfg.latent_scale_weight * scale.penalty(cfg.latent_cap)
            if probe is not None:
                pros = probe.loss(out_.latents, train.prosody_of(picks).to(device), batch.code_lengths)
                loss = loss + cfg.prosody_weight * pros
                extra["prosody"] = pros.item()
            if units is not None:
                unit_ctc = units.loss(out_.latents, batch.code_lengths, batch.text_ids, batch.text_lengths)
                loss = loss + cfg.unit_ctc_weight * unit_ctc
                extra["unit_ctc"] = unit_ctc.item()
            guard(optimizer_step(loss, params, opt, sched, 1.0, norms), step)
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0:
                run.log(
                    step,
                    mel_ce=out_.mel_loss.item(),
                    text_ce=out_.text_loss.item(),
                    spk_adv=adv_s.item(),
                    lang_adv=adv_l.item(),
                    lr=sched.get_last_lr()[0],
                    # the window's median gradient norm, and the share of steps the clip cut by
                    # 100x or more (those barely move the model)
                    grad_norm=float(np.median(norms)),
                    grad_cut=float(np.mean(np.asarray(norms) >= 100.0)),
                    spk_scale=scale.max_rms()["perceiver_encoder"],  # this step's batch
                    **extra,
                )
                norms.clear()
                bar.set_postfix(mel_ce=f"{out_.mel_loss.item():.3f}")
            if step % cfg.val_every == 0 or step == cfg.steps or stop.requested:
                if valid is None:
                    valid = gpt_data(corpus, "valid", tok)
                    if probe is not None:
                        valid.attach_prosody(corpus)
                run.log(step, **validate(model, valid, cfg, probe=probe, units=units))
                run.checkpoint(
                    step, modules, {"opt": opt}, {"sched": sched},
                    export=lambda: save_safetensors(
                        model.state_dict(), run.path / "gpt.safetensors", kind="gpt",
                        config=_config_dict(model_cfg), dtype=torch.float16,
                    ),
                )  # fmt: skip
            if stop.requested:
                break
    bar.close()
    scale.remove()
    return run.path / "gpt.safetensors"


def _refit(
    model: UnifiedVoice, train: GPTData, opt: torch.optim.Optimizer, cfg: GPTTrainConfig, step: int
) -> None:
    """``refit_perceivers`` on references of the train split, moments of refitted ones dropped."""

    def refs(rng: np.random.Generator, n: int) -> list[torch.Tensor]:
        return [train.random_ref(rng, cfg.max_ref_frames) for _ in range(n)]

    report = refit_perceiver_scale(
        model, refs, RefitConfig(steps=cfg.refit_steps, cap=cfg.latent_cap, seed=cfg.seed + step)
    )
    for name in report:
        for p in getattr(model, name).parameters():
            opt.state.pop(p, None)  # moments of the inflated scale would push it back


class _Budget:
    """Fits the step count to a wall-time budget from the speed of steps 20–60 (after warm-up
    of the allocator and kernels), once; the rest of the budget, less 5% for validation and
    export, sets the last step."""

    def __init__(self, minutes: float, first_step: int):
        self.deadline = time.monotonic() + 60.0 * minutes
        self.first = first_step
        self.t0: float | None = None
        self.done = False

    def fit(self, step: int) -> int | None:
        if self.done:
            return None
        if step == self.first + 20:
            self.t0 = time.monotonic()
        elif step == self.first + 60 and self.t0 is not None:
            self.done = True
            now = time.monotonic()
            rate = 40 / max(now - self.t0, 1e-6)
            return step + max(1, int(0.95 * (self.deadline - now) * rate))
        return None


def _to(batch: GPTBatch, device: torch.device) -> GPTBatch:
    return GPTBatch(
        **{f.name: None if (v := getattr(batch, f.name)) is None else v.to(device) for f in fields(batch)}
    )


EMOTION_MODULES = ("emo_conditioning_encoder", "emo_perceiver_encoder", "emovec_layer", "emo_layer")


@torch.no_grad()
def reset_emotion_conditioner(model: UnifiedVoice, opt: torch.optim.Optimizer, seed: int = 0) -> None:
    """Fresh initial weights for the emotion path (as a new model of this config would get them)."""
    torch.manual_seed(seed)
    fresh = UnifiedVoice(model.config)
    for name in EMOTION_MODULES:
        module = getattr(model, name)
        module.load_state_dict(getattr(fresh, name).state_dict())
        for p in module.parameters():
            opt.state.pop(p, None)  # stale Adam moments would undo the reset
    log.info("gpt: emotion conditioner re-initialised (%s)", ", ".join(EMOTION_MODULES))


@torch.no_grad()
def validate(
    model: UnifiedVoice,
    data: GPTData,
    cfg: GPTTrainConfig,
    batches: int = 4,
    probe: ProsodyProbe | None = None,
    units: UnitProbe | None = None,
) -> dict[str, float]:
    """Mel cross-entropy on fixed valid batches, and the health of the emotion path.

    ``val_emo_spread``: mean distance of the clips' emotion vectors from their mean, over the
    mean's norm. Near 0 means the conditioner collapsed to a constant (emotion control then
    does nothing), which the loss alone does not show. With a prosody ``probe`` (and
    ``data.attach_prosody`` done) also its loss, ``val_prosody``; with a unit probe, the
    greedy CTC reading of the latents against the text's spoken units, ``val_unit_error``.
    A run with ``text_drop`` also reports ``val_mel_ce_notext``, the same codes with every
    text emptied (the guidance's other half; its distance above ``val_mel_ce`` is what the
    text tells the model).
    """
    model.eval()
    losses, emo, hits, total, pros, uer, blind = [], [], 0, 0, [], [], []
    for b in range(batches):
        rng = np.random.default_rng([cfg.seed, 10_000 + b])
        picks = data.pick(rng, cfg.max_batch_codes)
        batch, _, _ = data.make_batch(picks, rng, cfg.max_ref_frames)
        device = next(model.parameters()).device
        batch = _to(batch, device)
        out = model(batch, duration_drop=0.0)
        losses.append(out.mel_loss.item())
        if cfg.text_drop > 0:
            blind.append(model(batch, duration_drop=0.0, text_drop=1.0).mel_loss.item())
        if probe is not None:
            target = data.prosody_of(picks).to(device)
            pros.append(probe.loss(out.latents, target, batch.code_lengths).item())
        if units is not None:
            uer.append(units.unit_error(out.latents, batch.code_lengths, batch.text_ids, batch.text_lengths))
        emo.append(out.emo_vec.reshape(out.emo_vec.shape[0], -1))
        targets = out.mel_targets
        real = targets != IGNORE
        hits += int((out.mel_logits.argmax(-1)[real] == targets[real]).sum())
        total += int(real.sum())
    v = torch.cat(emo)
    centre = v.mean(0)
    return {
        "val_mel_ce": float(np.mean(losses)),
        "val_mel_acc": hits / max(total, 1),  # top-1 next-code accuracy (stop included)
        "val_emo_norm": float(v.norm(dim=-1).mean()),
        "val_emo_spread": float((v - centre).norm(dim=-1).mean() / centre.norm().clamp(min=1e-8)),
        **({"val_prosody": float(np.mean(pros))} if pros else {}),
        **({"val_unit_error": float(np.mean(uer))} if uer else {}),
        **({"val_mel_ce_notext": float(np.mean(blind))} if blind else {}),
    }


def _config_dict(cfg: GPTConfig) -> dict:
    from dataclasses import asdict

    return asdict(cfg)
