"""Recipe: few-shot fine-tuning of a loaded model on a prepared dataset → an adapter directory.

    setup     FinetuneData (codes from the model's own codec, glossary pinyin forced),
              Tuning (method attached, trainable share reported), AdamW + warm-up/cosine
    train     per step: GPT loss and/or S2M loss on batches drawn from (seed, step); validation
              every ``val_every`` steps on fixed batches; the best adapter so far is written at
              once; early stop after ``patience`` validations without improvement
    save      state (``train/state.pt``, atomic) at every validation and on SIGINT/SIGTERM;
              ``--resume`` continues at the saved step with the same data order
    finish    best weights back in, stored voice (medoid), glossary, ``adapter_config.json`` last

The model is given back as it was loaded (peft layers removed, partial / full weights restored).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.checkpoints import load_safetensors
from voxsmith.errors import ConfigError
from voxsmith.fileio import atomic_copy, atomic_write_text
from voxsmith.finetune.adapters import resolve_settings
from voxsmith.finetune.artifact import (
    CONFIG_FILE,
    KIND,
    SPEAKER_FILE,
    WEIGHTS_FILE,
    AdapterSpec,
    save_weights,
    write_config,
)
from voxsmith.finetune.config import FinetuneConfig
from voxsmith.finetune.data import FinetuneData
from voxsmith.finetune.speaker import medoid_speaker
from voxsmith.finetune.tuning import Tuning, gpt_loss, s2m_loss, validate
from voxsmith.text.glossary import Glossary
from voxsmith.train.optim import optimizer_step
from voxsmith.train.state import RunDir, StopRequest, seed_all

log = logging.getLogger(__name__)

RUN_DIR = "train"
STAGE = "finetune"
# settings a resumed run must share with the run it continues
RESUME_KEYS = ("method", "rank", "alpha", "targets", "seed", "gpt_batch_codes", "s2m_batch", "s2m_crop_codes")


@dataclass
class FinetuneResult:
    """What a run did; ``finished`` is False when it was stopped (resume it)."""

    out: Path
    method: str
    finished: bool
    steps: int
    total_steps: int
    base_val: float  # validation loss before training
    best_val: float
    best_step: int
    stopped_early: bool
    seconds: float
    share: dict = field(default_factory=dict)
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["out"] = str(self.out)
        return d


def _check_out(out: Path, resume: bool) -> None:
    if resume:
        return
    if (out / CONFIG_FILE).is_file():
        raise ConfigError(
            f"{out}: already holds a finished adapter; choose another --out (or --resume to re-finish it)"
        )
    if RunDir.state_of(out / RUN_DIR).is_file():
        raise ConfigError(
            f"{out}: holds an unfinished fine-tuning run; pass --resume to continue it or choose another --out"
        )


def _schedule(total: int, warmup: int) -> Callable[[int], float]:
    warm = max(1, min(warmup, total // 10))
    return lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.45 * (1 + math.cos(math.pi * min(1.0, s / total))))


def finetune(
    dataset: str | Path,
    out: str | Path,
    *,
    model=None,
    cfg: FinetuneConfig | None = None,
    glossary: str | Path | None = None,
    resume: bool = False,
    on_step: Callable[[int], None] | None = None,
    echo: Callable[[str], None] | None = None,
    progress: bool = True,
) -> FinetuneResult:
    """Fine-tune ``model`` (default: the built-in one) on ``dataset``; writes the adapter to ``out``.

    ``glossary``: a glossary file (term → pinyin); training clips containing a term are read
    with its pinyin, and the adapter applies the glossary at inference. ``on_step(step)`` is
    called after every optimiser step; ``echo`` receives the one-line reports (default: log).
    """
    from voxsmith.pipeline import IndexTTSModel

    say = echo or log.info
    model = model if model is not None else IndexTTSModel.from_pretrained()
    if getattr(model, "active_adapter", None) is not None:
        raise ConfigError(
            f"fine-tune the base model: adapter {model.active_adapter!r} is active (set_adapter(None))"
        )
    cfg = cfg or FinetuneConfig.for_model(model.parts.gpt.config.model_dim)
    cfg.check()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out)
    _check_out(out, resume)
    # bad --targets fail here, before the data is read
    resolve_settings(model.parts, cfg.method, cfg.targets, cfg.rank, cfg.alpha, cfg.dropout)
    gloss = Glossary.load(glossary) if glossary is not None else None
    seed_all(cfg.seed)
    data = FinetuneData(dataset, model, cfg, gloss)
    tuning = Tuning(model.parts, cfg)
    share = tuning.share()
    forced = sum(c.glossary_forced for c in data.train + data.valid)
    say(f"finetune {cfg.method}: {share['trainable']:,} trainable parameters = {100 * share['of_gpt_s2m']:.2f}% of "
        f"GPT + S2M ({100 * share['of_model']:.2f}% of the model)")  # fmt: skip
    say(f"data: {len(data.train)} train / {len(data.valid)} valid clips, {data.minutes:.2f} min of training speech"
        + (f", {forced} clips read with glossary pinyin" if gloss is not None else ""))  # fmt: skip
    try:
        return _run(model, data, tuning, cfg, out, gloss, glossary, resume, on_step, say, progress)
    finally:
        tuning.detach()


def _run(model, data: FinetuneData, tuning: Tuning, cfg: FinetuneConfig, out: Path, gloss: Glossary | None,
         glossary_path, resume: bool, on_step, say, progress: bool) -> FinetuneResult:  # fmt: skip
    parts = model.parts
    run = RunDir(out / RUN_DIR, STAGE)
    total = cfg.steps or cfg.epochs * data.steps_per_epoch()
    val_every = cfg.val_every or max(5, data.steps_per_epoch())
    params = list(tuning.params.values())
    opt = torch.optim.AdamW(params, lr=cfg.learning_rate, betas=(0.9, 0.99), weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, _schedule(total, cfg.warmup))
    state = {"best": math.inf, "best_step": 0, "bad": 0, "base_val": math.nan, "done": False,
             "stopped_early": False, "elapsed": 0.0}  # fmt: skip
    step = 0
    settings_file = run.path / "run.json"
    if resume and run.has_state():
        old = json.loads(settings_file.read_text(encoding="utf-8")) if settings_file.is_file() else {}
        changed = [k for k in RESUME_KEYS if k in old and _norm(old[k]) != _norm(cfg.to_dict()[k])]
        if changed:
            raise ConfigError(f"{out}: --resume with other settings than the run ({', '.join(changed)}); "
                              "use the same options or another --out")  # fmt: skip
        step, extra = run.resume({"adapter": tuning}, {"opt": opt}, {"sched": sched})
        state.update(extra)
        if state["done"] and step < total and not state["stopped_early"]:
            state["done"] = False  # more steps asked for than the finished run had
        say(f"resumed at step {step} of {total}")
    else:
        if resume:
            log.warning("%s: nothing to resume, starting a new run", out)
        (run.path / "losses.jsonl").unlink(missing_ok=True)  # a log from a run killed before its first save
        atomic_write_text(settings_file, json.dumps(cfg.to_dict(), indent=1) + "\n")
        v = validate(tuning, data)
        run.log(0, **v)
        state.update(best=v["val"], base_val=v["val"])
        # the best so far is the untrained adapter: the directory always holds a usable best
        save_weights(tuning.state_dict(), out, cfg.method, tuning.settings)
    bar = tqdm(total=total, initial=step, desc=f"finetune {cfg.method}", unit="step", disable=not progress)
    t0 = time.time() - float(state["elapsed"])
    gpt = parts.gpt
    with StopRequest() as stop:
        while step < total and not state["done"]:
            rng = np.random.default_rng([cfg.seed, step])
            tuning.train(True)
            loss = torch.zeros(())
            logs: dict[str, float] = {}
            if tuning.trains("gpt"):
                rows = data.gpt_batch(rng)
                drop = rng.random(len(rows.partners)) < gpt.config.duration_drop_prob
                lg, ce = gpt_loss(
                    gpt,
                    rows,
                    live=tuning.conditioners_train,
                    drop=drop,
                    text_loss_weight=cfg.text_loss_weight,
                )
                loss, logs["gpt_ce"] = loss + lg, ce.item()
            if tuning.trains("s2m"):
                crops = data.s2m_crops(data.train, rng)
                ls = s2m_loss(parts, crops, torch.Generator().manual_seed(cfg.seed * 1_000_003 + step))
                loss, logs["s2m_fm"] = loss + ls, ls.item()
            optimizer_step(loss, params, opt, sched, 1.0)
            step += 1
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in logs.items()})
            run.log(step, **logs, lr=sched.get_last_lr()[0])
            if on_step is not None:
                on_step(step)
            last = step >= total
            if step % val_every == 0 or last or stop.requested:
                v = validate(tuning, data)
                run.log(step, **v)
                if v["val"] < state["best"] - cfg.min_delta:
                    state.update(best=v["val"], best_step=step, bad=0)
                    save_weights(tuning.state_dict(), out, cfg.method, tuning.settings)
                else:
                    state["bad"] += 1
                    if state["bad"] >= cfg.patience:
                        state.update(done=True, stopped_early=True)
                        say(f"early stop at step {step}: no improvement in {cfg.patience} validations")
                state["done"] = state["done"] or last
                state["elapsed"] = time.time() - t0
                run.save(step, {"adapter": tuning}, {"opt": opt}, {"sched": sched}, state)
            if stop.requested:
                break
    bar.close()
    run.plot()  # once per session: drawing costs more than a validation at this size
    result = FinetuneResult(
        out, cfg.method, bool(state["done"]), step, total, float(state["base_val"]), float(state["best"]),
        int(state["best_step"]), bool(state["stopped_early"]), float(state["elapsed"]), tuning.share(),
        {"train_clips": len(data.train), "valid_clips": len(data.valid), "train_minutes": round(data.minutes, 3),
         "glossary_clips": sum(c.glossary_forced for c in data.train + data.valid)},
    )  # fmt: skip
    if not state["done"]:
        say(f"stopped at step {step} of {total}; continue with --resume")
        return result
    _finish(model, data, tuning, cfg, out, gloss, glossary_path, result)
    say(f"adapter: {out} (best validation loss {result.best_val:.4f} at step {result.best_step}, "
        f"from {result.base_val:.4f})")  # fmt: skip
    return result


def _norm(v):
    return list(v) if isinstance(v, tuple | list) else v


def _finish(
    model, data, tuning: Tuning, cfg, out: Path, gloss, glossary_path, result: FinetuneResult
) -> None:
    """Best weights back in; stored voice, glossary and ``adapter_config.json`` (last)."""
    best, _, _ = load_safetensors(out / WEIGHTS_FILE, kind=KIND)
    tuning.load_state_dict(best)
    spk = medoid_speaker(model, data)
    spk.save(out / SPEAKER_FILE)
    gloss_name = None
    if gloss is not None:
        gloss_name = "glossary" + Path(glossary_path).suffix.lower()
        if Path(glossary_path).resolve() != (out / gloss_name).resolve():
            atomic_copy(glossary_path, out / gloss_name)
    info = {
        **result.to_dict(),
        "config": cfg.to_dict(),
        "dataset": str(data.root),
        "stored_speaker_clip": spk.meta.get("clip"),
    }
    info.pop("out", None)
    write_config(
        AdapterSpec(cfg.method, tuning.settings, model.model_id, SPEAKER_FILE, gloss_name, info), out
    )
