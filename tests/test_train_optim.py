"""The shared learning-rate schedule and optimiser step of the recipes."""

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
    optimizer_step(loss, [p], opt, sched, max_norm=5.0)
    assert torch.allclose(p.detach(), torch.tensor([-3.0, -4.0, 0.0]), atol=1e-4)
    assert sched.last_epoch == 1 and sched.get_last_lr()[0] == pytest.approx(0.9)
