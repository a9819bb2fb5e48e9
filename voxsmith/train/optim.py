"""The optimiser step and learning-rate schedule every recipe shares.

The schedule is returned as a closure, not a callable object: ``LambdaLR`` saves the
``__dict__`` of callable objects in its state and would restore the old ``steps`` on resume,
while a resumed run must follow the ``--steps`` it is given now (that is how a run is
lengthened or annealed).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Iterable

import torch

log = logging.getLogger(__name__)

FLOOR = 0.05  # the learning rate never decays below this share of the peak


def warmup_decay(
    warmup: int, steps: int, shape: str = "linear", floor: float = FLOOR
) -> Callable[[int], float]:
    """LR multiplier at step ``s``: linear warm-up over ``warmup`` steps, then a ``linear`` or
    ``cosine`` decay reaching ``floor`` (and staying there) at ``steps``."""
    if shape not in ("linear", "cosine"):
        raise ValueError(f"unknown schedule shape {shape!r} (linear or cosine)")
    warmup = max(1, warmup)

    def multiplier(s: int) -> float:
        done = min(1.0, s / max(1, steps))
        decay = 1.0 - done if shape == "linear" else 0.5 * (1.0 + math.cos(math.pi * done))
        return min(1.0, (s + 1) / warmup) * max(floor, decay)

    return multiplier


def optimizer_step(
    loss: torch.Tensor,
    params: Iterable[torch.nn.Parameter],
    opt: torch.optim.Optimizer,
    sched: torch.optim.lr_scheduler.LRScheduler | None,
    max_norm: float,
    norms: list[float] | None = None,
) -> bool:
    """Backward, clip the gradient norm of ``params`` to ``max_norm``, step the optimiser and
    the schedule; False when the batch was skipped. ``norms``: the gradient norm before the
    clip is appended to it (inf for a skipped batch), for the run's log.

    A batch whose loss or gradient norm is not finite changes no weight (the schedule still
    advances): one such update would make every weight NaN for good, and the next checkpoint
    would export them over the last good ones."""
    opt.zero_grad(set_to_none=True)
    ok = bool(torch.isfinite(loss.detach()))
    if ok:
        loss.backward()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm)
        ok = bool(torch.isfinite(total))
        if ok:
            opt.step()
    if norms is not None:
        norms.append(float(total) if ok else float("inf"))
    if sched is not None:
        advance(sched)
    return ok


def advance(sched: torch.optim.lr_scheduler.LRScheduler) -> None:
    """Step a schedule whose optimiser did not step this time (a skipped batch, a discriminator
    not yet switched on): the schedule follows the run's step count, which is not the misuse
    torch warns of."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*lr_scheduler.step.*before.*optimizer.step")
        sched.step()


class SkipGuard:
    """Counts skipped (non-finite) steps of a run: warns on each, and stops the run with a
    :class:`voxsmith.errors.DataError` after ``limit`` in a row (the model is diverging, not
    meeting one bad batch), so nothing after the last good checkpoint gets exported."""

    def __init__(self, stage: str, limit: int = 20):
        self.stage, self.limit, self.row = stage, limit, 0

    def __call__(self, ok: bool, step: int) -> None:
        if ok:
            self.row = 0
            return
        self.row += 1
        log.warning(
            "%s: step %d skipped, loss or gradient not finite (%d in a row)", self.stage, step, self.row
        )
        if self.row >= self.limit:
            from voxsmith.errors import DataError

            raise DataError(
                f"{self.stage}: {self.row} steps in a row with a non-finite loss or gradient at step {step}; "
                "the run stopped without exporting (resume from the last checkpoint with a lower --lr)"
            )
