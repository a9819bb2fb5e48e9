"""Parity of S2M with the official s2mel fixture (``VOXSMITH_FIXTURES`` / ../shared/fixtures/official)."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from voxsmith.parity import run_parity
from voxsmith.parity.s2mel import build_from_spec, check


@pytest.fixture(scope="module")
def s2mel_result(official_fixtures):
    return check(official_fixtures / "s2mel")


def test_every_output_is_reproduced(s2mel_result, official_fixtures):
    io = load_file(str(official_fixtures / "s2mel" / "io.safetensors"))
    outputs = {k[4:] for k in io if k.startswith("out.")}
    assert set(s2mel_result.errors) == outputs
    assert s2mel_result.ok, s2mel_result.failures
    for name, err in s2mel_result.errors.items():
        scale = max(1.0, float(io[f"out.{name}"].double().abs().max()))
        assert err <= 1e-4 * scale, name


def test_lengths_and_noise_are_exact(s2mel_result):
    for name in ("target_lengths", "lr_b2_olens", "cfm_noise_4steps", "cfm_noise_25steps"):
        assert s2mel_result.errors[name] == 0.0


def test_every_cfm_run_of_the_spec_is_replayed(s2mel_result, official_fixtures):
    spec = json.loads((official_fixtures / "s2mel" / "spec.json").read_text())
    runs = spec["run"]["cfm"]
    assert runs and all(name in s2mel_result.errors for name in runs)
    assert all(run["vc_target"] in s2mel_result.errors for run in runs.values() if "vc_target" in run)


def test_fixture_loads_strictly_and_counts_match(official_fixtures):
    model, spec = build_from_spec(official_fixtures / "s2mel")
    assert sum(p.numel() for p in model.parameters()) == spec["num_parameters"]
    assert model.cfg.frames_per_code == spec["run"]["length_compression"]
    # the official persistent buffers are ours too
    sd = model.state_dict()
    assert torch.equal(sd["models.cfm.estimator.input_pos"], torch.arange(16384))
    assert sd["models.cfm.estimator.t_embedder.freqs"].shape == (128,)


def test_run_parity_finds_the_s2mel_fixture(official_fixtures):
    results = run_parity(official_fixtures, modules=["s2mel"])
    assert results["s2mel"].ok and results["s2mel"].checks == 16
