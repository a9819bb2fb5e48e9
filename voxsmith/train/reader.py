"""Recipe: the code reader (``models/code_reader.py``) on the corpus's codes and units.

Each step draws clips of the train split, their codes (``cache/codes_train.npz``, written by
the codec stage) and their pronunciation units (the manifest's toned pinyin / phones), and
trains the reader with CTC. A share ``code_noise`` of each clip's codes is replaced by random
codes: the reader judges the GPT's draws, not only clean codes, and must not lean on any one
code. Validation: greedy unit error on the valid split and, where the corpus has one, the test
split (held-out voices), per language. Exports ``<out>/reader.safetensors`` (kind
``code_reader``); resumes from ``<out>/state.pt``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn.utils.rnn import pad_sequence
from tqdm import tqdm

from voxsmith.checkpoints import save_safetensors
from voxsmith.errors import DataError
from voxsmith.models.code_reader import CodeReader, CodeReaderConfig
from voxsmith.models.units import SIL, UNITS, row_units, units_to_ids
from voxsmith.train.data import read_manifest, split_codes
from voxsmith.train.optim import optimizer_step
from voxsmith.train.state import RunDir, StopRequest, seed_all, start_module_run
from voxsmith.train.unit_error import edit_distance, pooled_unit_error

log = logging.getLogger(__name__)


@dataclass
class ReaderTrainConfig:
    steps: int = 3000  # ~10 min on 2 cores at the tiny size
    batch_size: int = 32  # clips per step
    lr: float = 2e-3  # AdamW peak learning rate
    warmup: int = 100
    code_noise: float = 0.1  # share of codes replaced by random ones
    log_every: int = 50
    val_every: int = 500
    val_clips: int = 200  # clips per split scored in validation
    seed: int = 0
    threads: int = 2


@dataclass
class ReaderClips:
    """Codes (N_i,) int64, unit ids and language of every clip of a split that has both."""

    codes: list[np.ndarray]
    units: list[list[int]]
    langs: list[str]

    @classmethod
    def load(cls, corpus: str | Path, split: str) -> ReaderClips:
        codes = split_codes(corpus, split)
        rows = sorted((r for r in read_manifest(corpus) if r.get("split") == split), key=lambda r: r["id"])
        out = cls([], [], [])
        for r in rows:
            units = [u for u in units_to_ids(row_units(r)) if u != SIL]  # pauses: the blank's business
            if r["id"] in codes and units:
                out.codes.append(np.asarray(codes[r["id"]], dtype=np.int64))
                out.units.append(units)
                out.langs.append(str(r.get("lang", "?")))
        if not out.codes:
            raise DataError(f"{corpus}: no {split} clip has both codes and pronunciation units")
        return out

    def __len__(self) -> int:
        return len(self.codes)

    def batch(
        self, picks: list[int], rng: np.random.Generator, noise: float, n_codes: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """codes (B, N) padded with 0, lengths (B,), concatenated units (S,), unit counts (B,)."""
        rows = []
        for i in picks:
            c = self.codes[i].copy()
            if noise > 0:
                hit = rng.random(len(c)) < noise
                c[hit] = rng.integers(0, n_codes, int(hit.sum()))
            rows.append(torch.from_numpy(c))
        units = [torch.tensor(self.units[i]) for i in picks]
        lengths = torch.tensor([len(c) for c in rows])
        return (
            pad_sequence(rows, batch_first=True),
            lengths,
            torch.cat(units),
            torch.tensor([len(u) for u in units]),
        )


@torch.no_grad()
def reader_unit_errors(reader: CodeReader, clips: ReaderClips, n: int) -> dict[str, float]:
    """Greedy unit error of the first ``n`` clips: ``{"all": e, lang: e, ...}``."""
    reader.eval()
    counts: dict[str, tuple[int, int]] = {}
    for i in range(min(n, len(clips))):
        hyp = [u for u in reader.read(torch.from_numpy(clips.codes[i])) if u != SIL]
        errors, total = counts.get(clips.langs[i], (0, 0))
        counts[clips.langs[i]] = (errors + edit_distance(hyp, clips.units[i]), total + len(clips.units[i]))
    return {"all": pooled_unit_error(counts)} | {
        lang: pooled_unit_error(counts, lang) for lang in sorted(counts)
    }


def _val_splits(corpus: str | Path) -> dict[str, ReaderClips]:
    out = {}
    for split in ("valid", "test"):
        try:
            out[split] = ReaderClips.load(corpus, split)
        except DataError:
            continue
    return out


def train_reader(
    corpus: str | Path,
    codebook_size: int,
    out: str | Path,
    cfg: ReaderTrainConfig | None = None,
    model_cfg: CodeReaderConfig | None = None,
    resume: bool = True,
    init: str | Path | None = None,
) -> Path:
    """Train (or resume) the code reader on ``corpus``'s codes; returns ``reader.safetensors``."""
    cfg = cfg or ReaderTrainConfig()
    model_cfg = model_cfg or CodeReaderConfig.tiny(len(UNITS), codebook_size)
    if model_cfg.codebook_size != codebook_size:
        raise DataError(f"reader size reads {model_cfg.codebook_size} codes, the codec has {codebook_size}")
    torch.set_num_threads(cfg.threads)
    seed_all(cfg.seed)
    train = ReaderClips.load(corpus, "train")
    top = max((int(c.max()) for c in train.codes if len(c)), default=-1)
    if top >= codebook_size:
        raise DataError(f"{corpus}: codes reach {top}, past the codec's {codebook_size} codes; "
                        "were they written by another codec?")  # fmt: skip
    val = _val_splits(corpus)
    run = RunDir(out, "reader")  # only once the data is known good: a refused run writes nothing
    log.info("reader: %d train clips, validation on %s", len(train), ", ".join(val) or "nothing")
    model = CodeReader(model_cfg)
    opt, sched, step = start_module_run(
        run, model, cfg.lr, cfg.warmup, cfg.steps, resume=resume, init=init, kind="code_reader"
    )

    def export() -> Path:
        return save_safetensors(
            model.state_dict(), run.path / "reader.safetensors", kind="code_reader",
            config=model_cfg.to_dict(), dtype=torch.float16,
        )  # fmt: skip

    bar = tqdm(total=cfg.steps, initial=step, desc="reader", unit="step")
    with StopRequest() as stop:
        while step < cfg.steps:
            rng = np.random.default_rng([cfg.seed, step])
            picks = rng.choice(len(train), min(cfg.batch_size, len(train)), replace=False).tolist()
            model.train()
            loss = model.ctc_loss(*train.batch(picks, rng, cfg.code_noise, codebook_size))
            optimizer_step(loss, model.parameters(), opt, sched, 5.0)
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0:
                run.log(step, ctc=loss.item(), lr=sched.get_last_lr()[0])
                bar.set_postfix(ctc=f"{loss.item():.3f}")
            if step % cfg.val_every == 0 or step == cfg.steps or stop.requested:
                scores = {f"val_{split}_{k}": v for split, clips in val.items()
                          for k, v in reader_unit_errors(model, clips, cfg.val_clips).items()}  # fmt: skip
                if scores:
                    run.log(step, **scores)
                    log.info("reader step %d: %s", step, ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))
                run.checkpoint(step, {"model": model}, {"opt": opt}, {"sched": sched}, export=export)
            if stop.requested:
                break
    bar.close()
    return run.path / "reader.safetensors"
