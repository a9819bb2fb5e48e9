"""Training-run bookkeeping shared by every recipe: resumable state, loss log, loss plot.

A run directory holds ``state.pt`` (model + optimizer + scheduler + RNG + step, written
atomically so a kill never leaves a torn file), ``losses.jsonl`` (one JSON row per logged
step, append-only), ``losses.png`` and the exported weights (``*.safetensors``).
Resuming restores everything, so a killed run continues bit-for-bit where it stopped
(given the same data order, which the recipes derive from ``seed`` and ``step``).
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from voxsmith.errors import CheckpointError
from voxsmith.fileio import atomic_path, atomic_write_lines
from voxsmith.train.optim import warmup_decay

log = logging.getLogger(__name__)

STATE_FILE = "state.pt"
LOSS_FILE = "losses.jsonl"


def seed_all(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _rng_state() -> dict[str, Any]:
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])


def atomic_torch_save(obj: Any, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def run_totals(state_path: str | os.PathLike) -> tuple[int, float] | None:
    """(steps, training seconds) behind a run's weights: its own and, when it started from
    other trained weights (``--init``), those of the run they came from. None if unreadable."""
    try:
        saved = torch.load(state_path, map_location="cpu", weights_only=False)
    except Exception:  # informative only (model cards, logs)
        return None
    extra = saved.get("extra", {})
    seconds = float(extra.get("train_seconds", extra.get("elapsed_s", 0.0)))
    return int(saved["step"]) + int(extra.get("prior_steps", 0)), seconds + float(
        extra.get("prior_seconds", 0.0)
    )


def weights_history(weights: str | os.PathLike, stage: str) -> tuple[int, float] | None:
    """(steps, training seconds) behind exported ``weights`` of ``stage``: from the run directory
    they were exported to (``state.pt``), else from the model card of the model directory they
    ship in (``model.json``, training steps/hours), so a run started from the built-in model's
    part keeps its history. None when neither says."""
    parent = Path(weights).parent
    totals = run_totals(RunDir.state_of(parent))
    if totals is not None:
        return totals
    try:
        training = json.loads((parent / "model.json").read_text(encoding="utf-8")).get("training", {})
        steps = training.get("steps", {}).get(stage)
        hours = training.get("hours", {}).get(stage)
    except (OSError, ValueError, AttributeError):  # informative only
        return None
    if steps is None:
        return None
    return int(steps), float(hours or 0.0) * 3600


class RunDir:
    """One training run on disk: save/resume the full state and log losses."""

    def __init__(self, path: str | os.PathLike, stage: str):
        self.path = Path(path)
        self.stage = stage
        self.path.mkdir(parents=True, exist_ok=True)
        # wall time spent training this run, summed over every process that resumed it
        self._seconds_before = 0.0
        self._clock = time.monotonic()
        # what the weights a run started from (--init) had behind them, for model cards
        self.prior: dict[str, Any] = {"prior_steps": 0, "prior_seconds": 0.0}

    def started_from(self, weights: str | os.PathLike) -> None:
        """Record that this new run starts from exported ``weights``; when they lie in a run
        directory, its steps and training time count as this run's history."""
        steps, seconds = weights_history(weights, self.stage) or (0, 0.0)
        self.prior = {"prior_steps": steps, "prior_seconds": round(seconds, 1), "init_from": str(weights)}
        log.info("%s: starts from %s (%d steps behind it)", self.path, weights, steps)

    @property
    def train_seconds(self) -> float:
        """Training wall time of this run so far, across resumes."""
        return self._seconds_before + time.monotonic() - self._clock

    @staticmethod
    def state_of(path: str | os.PathLike) -> Path:
        """Where the run in ``path`` keeps its state; asks without creating ``path``."""
        return Path(path) / STATE_FILE

    @property
    def state_path(self) -> Path:
        return self.state_of(self.path)

    def has_state(self) -> bool:
        return self.state_path.is_file()

    def save(
        self,
        step: int,
        modules: dict[str, torch.nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        schedulers: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        state = {
            "stage": self.stage,
            "step": step,
            "modules": {k: m.state_dict() for k, m in modules.items()},
            "optimizers": {k: o.state_dict() for k, o in optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in (schedulers or {}).items()},
            "rng": _rng_state(),
            "extra": {**(extra or {}), **self.prior, "train_seconds": round(self.train_seconds, 1)},
        }
        atomic_torch_save(state, self.state_path)

    def checkpoint(
        self,
        step: int,
        modules: dict[str, torch.nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        schedulers: dict[str, Any] | None = None,
        extra: dict[str, Any] | None = None,
        export: Callable[[], object] | None = None,
    ) -> None:
        """A recipe's periodic checkpoint: resumable state, then ``export()`` (the weights a
        user loads, e.g. fp16 safetensors), then the loss plot. State goes first, so a kill
        during the export still resumes from this step."""
        self.save(step, modules, optimizers, schedulers, extra)
        if export is not None:
            export()
        self.plot()

    def resume(
        self,
        modules: dict[str, torch.nn.Module],
        optimizers: dict[str, torch.optim.Optimizer],
        schedulers: dict[str, Any] | None = None,
        added: tuple[str, ...] = (),
    ) -> tuple[int, dict[str, Any]]:
        """Load the saved state into the given objects; returns ``(step, extra)``.

        ``added``: modules that may be new since the checkpoint (an auxiliary training head
        switched on when resuming). One the state lacks keeps its fresh weights, and its
        parameters, which must come last in a single-group optimiser, start with fresh moments.
        """
        try:
            state = torch.load(self.state_path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise CheckpointError(f"{self.state_path}: cannot resume ({exc})") from exc
        if state.get("stage") != self.stage:
            raise CheckpointError(
                f"{self.state_path}: run directory holds stage {state.get('stage')!r}, not {self.stage!r}"
            )
        fresh = [k for k in added if k in modules and k not in state["modules"]]
        for k, m in modules.items():
            if k in fresh:
                log.info("%s: %s is new since the checkpoint: fresh weights and moments", self.path, k)
                continue
            m.load_state_dict(state["modules"][k], strict=True)
        for k, o in optimizers.items():
            saved = state["optimizers"][k]
            if fresh:
                saved = _with_fresh_params(saved, sum(len(list(modules[f].parameters())) for f in fresh))
            try:
                o.load_state_dict(saved)
            except ValueError as exc:
                raise CheckpointError(
                    f"{self.state_path}: optimiser {k!r} does not match this run's parameters ({exc}); "
                    "resume with the same training heads (options) the run was saved with"
                ) from exc
        for k, s in (schedulers or {}).items():
            s.load_state_dict(state["schedulers"][k])
        _set_rng_state(state["rng"])
        self.truncate_log(state["step"])
        extra = state.get("extra", {})
        # runs saved before the total was kept carry only their last process' elapsed_s
        self._seconds_before = float(extra.get("train_seconds", extra.get("elapsed_s", 0.0)))
        self._clock = time.monotonic()
        self.prior = {k: extra[k] for k in ("prior_steps", "prior_seconds", "init_from") if k in extra}
        log.info("%s: resumed at step %d", self.path, state["step"])
        return int(state["step"]), extra

    def log(self, step: int, **values: float) -> None:
        row = {"step": step, **{k: round(float(v), 6) for k, v in values.items()}}
        with open(self.path / LOSS_FILE, "a", encoding="utf-8") as f:
            f.write(json.dumps(row) + "\n")

    def read_log(self) -> list[dict[str, float]]:
        p = self.path / LOSS_FILE
        if not p.exists():
            return []
        rows = []
        for line in p.read_text(encoding="utf-8").splitlines():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                continue  # a torn last line after a kill
        return rows

    def truncate_log(self, step: int) -> None:
        """Drop log rows past ``step`` (written after the last saved state, before a kill)."""
        rows = [r for r in self.read_log() if r["step"] <= step]
        atomic_write_lines(self.path / LOSS_FILE, [json.dumps(r) for r in rows])

    def plot(self) -> Path | None:
        """Write ``losses.png`` (one curve per logged key); None if nothing is logged."""
        rows = self.read_log()
        if not rows:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        keys = sorted({k for r in rows for k in r if k != "step"})
        fig, axes = plt.subplots(len(keys), 1, figsize=(7, 2.2 * len(keys)), squeeze=False)
        for ax, key in zip(axes[:, 0], keys, strict=True):
            pts = [(r["step"], r[key]) for r in rows if key in r]
            ax.plot([p[0] for p in pts], [p[1] for p in pts], lw=1)
            ax.set_ylabel(key, fontsize=8)
            ax.grid(alpha=0.3)
        axes[-1, 0].set_xlabel("step")
        fig.suptitle(f"{self.stage}: {self.path.name}")
        fig.tight_layout()
        out = self.path / "losses.png"
        with atomic_path(out, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=90)
        plt.close(fig)
        return out


class StopRequest:
    """SIGINT/SIGTERM during training: finish the step, checkpoint, then leave the loop.

    A run killed this way resumes exactly where it stopped instead of losing the steps
    since the last periodic checkpoint. A second signal falls through to the default action.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old: dict[int, Any] = {}

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            signal.signal(signum, self._old.get(signum, signal.SIG_DFL))
            signal.raise_signal(signum)
            return
        self.requested = True
        log.warning("signal %d: checkpointing after this step, then stopping", signum)

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)
        self._old.clear()


def init_weights(module: torch.nn.Module, path: str | os.PathLike, kind: str) -> None:
    """Start a fresh run from exported weights (e.g. the shipped built-in model's part)."""
    from voxsmith.checkpoints import load_safetensors, strict_load

    tensors, _, _ = load_safetensors(path, kind=kind)
    strict_load(module, tensors, f"{kind} init {path}")
    log.info("%s: initialised from %s", kind, path)


def start_module_run(
    run: RunDir,
    model: torch.nn.Module,
    lr: float,
    warmup: int,
    steps: int,
    *,
    resume: bool,
    init: str | os.PathLike | None = None,
    kind: str = "",
) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR, int]:
    """AdamW (weight decay 0.01) and the warm-up/decay schedule of a one-module recipe, resumed
    from ``run``'s state when it has one, else started from exported ``init`` weights of
    ``kind`` if given. Returns ``(opt, sched, step)``; the state's modules are ``{"model"}``."""
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(warmup, steps))
    step = 0
    if resume and run.has_state():
        step, _ = run.resume({"model": model}, {"opt": opt}, {"sched": sched})
    elif init is not None:
        init_weights(model, init, kind)
        run.started_from(init)
    return opt, sched, step


def _with_fresh_params(saved: dict[str, Any], n: int) -> dict[str, Any]:
    """An optimiser state dict with ``n`` more parameters (no moments) at the end of its one group."""
    groups = saved["param_groups"]
    if len(groups) != 1:
        raise CheckpointError(f"cannot add parameters to an optimiser with {len(groups)} groups")
    ids = list(groups[0]["params"])
    start = max(ids, default=-1) + 1
    return {**saved, "param_groups": [{**groups[0], "params": ids + list(range(start, start + n))}]}
