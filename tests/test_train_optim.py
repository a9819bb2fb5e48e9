"""What the recipes share: the learning-rate schedule, the optimiser step, unit error counting."""

from __future__ import annotations

import math

import pytest
import torch

from voxsmith.train.optim import optimizer_step, warmup_decay


def test_linear_and_cosine_schedules():
    lin = warmup_decay(10, 100)
    assert lin(0) == pytest.approx(0.1) and lin(9) == pytest.approx(1.0 - 9 / 100)
    assert lin(50) == pytest.approx(0.5) and lin(100) == lin(1000) == pytest.approx(0.05)
    cos = warmup_decay(10, 100, "cosine")
    assert cos(50) == pytest.approx(0.5) and cos(25) == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    assert cos(100) == pytest.approx(0.05)
    with pytest.raises(ValueError, match="shape"):
        warmup_decay(10, 100, "step")


def test_a_resumed_schedule_follows_the_new_length():
    # lengthening (or shortening, to anneal) a run on resume must change the schedule
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(1, 100))
    for _ in range(40):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2 = torch.optim.SGD([p], lr=1.0)
    sched2 = torch.optim.lr_scheduler.LambdaLR(opt2, warmup_decay(1, 50))
    sched2.load_state_dict(state)
    opt2.step()
    sched2.step()
    assert sched2.get_last_lr()[0] == pytest.approx(1 - 41 / 50)


def test_optimizer_step_clips_and_steps():
    torch.manual_seed(0)
    p = torch.nn.Parameter(torch.zeros(3))
    opt = torch.optim.SGD([p], lr=1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_decay(1, 10))
    loss = (p * torch.tensor([30.0, 40.0, 0.0])).sum()  # gradient norm 50
    norms: list[float] = []
    assert optimizer_step(loss, [p], opt, sched, max_norm=5.0, norms=norms)
    assert torch.allclose(p.detach(), torch.tensor([-3.0, -4.0, 0.0]), atol=1e-4)
    assert sched.last_epoch == 1 and sched.get_last_lr()[0] == pytest.approx(0.9)
    assert norms == [pytest.approx(50.0)]  # the norm before the clip, for the run's log
    huge = (p * torch.tensor([1e30, 1e30, 0.0])).sum()  # its norm overflows float32: skipped
    assert not optimizer_step(huge, [p], opt, sched, max_norm=5.0, norms=norms)
    assert norms[1] == float("inf") and torch.allclose(p.detach(), torch.tensor([-3.0, -4.0, 0.0]), atol=1e-4)


def test_greedy_ctc_and_edit_distance():
    from voxsmith.train.unit_error import edit_distance, greedy_ctc

    path = torch.tensor([0, 3, 3, 0, 3, 5, 5, 0])
    assert greedy_ctc(torch.nn.functional.one_hot(path, 6).float()) == [3, 3, 5]
    assert edit_distance([1, 2, 3], [1, 3]) == 1 and edit_distance([], [4, 4]) == 2
    assert edit_distance([1, 2, 3], [3, 2, 1]) == 2
