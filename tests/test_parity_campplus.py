"""Parity of the style path (Kaldi fbank + CAMPPlus) with the official campplus fixture."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from voxsmith.errors import AudioError, CheckpointError
from voxsmith.models.campplus import CAMPPlus, CAMPPlusConfig
from voxsmith.models.fbank import FbankConfig, kaldi_fbank
from voxsmith.parity import run_parity
from voxsmith.parity.campplus import build_from_spec, check


@pytest.fixture(scope="module")
def campplus_result(official_fixtures):
    return check(official_fixtures / "campplus")


def test_every_output_is_reproduced(campplus_result, official_fixtures):
    io = load_file(str(official_fixtures / "campplus" / "io.safetensors"))
    outputs = {k[4:] for k in io if k.startswith("out.")}
    assert set(campplus_result.errors) == outputs == {"fbank_raw", "fbank_cmn", "style", "style_b2"}
    assert campplus_result.ok, campplus_result.failures
    # 1e-4 relative to each output's size (the parity rule): float32 FFT and matmul kernels of
    # other CPUs move the fbank (|x| up to 12) by 8e-5 and the style vector (|x| up to 3) by 3e-4
    scale = {name: max(1.0, float(io["out." + name].abs().max())) for name in outputs}
    assert all(err <= 1e-4 * scale[n] for n, err in campplus_result.errors.items()), campplus_result.errors


def test_corrupted_weight_fails(official_fixtures, tmp_path):
    fixture = tmp_path / "campplus"
    shutil.copytree(official_fixtures / "campplus", fixture)
    weights = load_file(str(fixture / "weights.safetensors"))
    key = "xvector.block2.tdnnd3.cam_layer.linear_local.weight"
    weights[key] = weights[key] + 0.05 * torch.randn_like(weights[key])
    save_file(weights, str(fixture / "weights.safetensors"))
    result = check(fixture)
    assert not result.ok
    assert any(f.startswith("style") for f in result.failures)
    # the frontend does not depend on the weights: within the parity rule, as unchanged
    assert "fbank_raw" not in " ".join(result.failures) and result.errors["fbank_raw"] < 2e-3

    del weights[key]
    save_file(weights, str(fixture / "weights.safetensors"))
    with pytest.raises(CheckpointError, match="1 missing"):
        check(fixture)


def test_fixture_builds_with_the_spec_size(official_fixtures):
    model, spec = build_from_spec(official_fixtures / "campplus")
    assert sum(p.numel() for p in model.parameters()) == spec["num_parameters"]
    assert not model.training


def test_official_size_matches_full_keys(official_fixtures):
    full = json.loads((official_fixtures / "full_keys" / "campplus.json").read_text())
    counts = json.loads((official_fixtures / "full_keys" / "param_counts.json").read_text())
    with torch.device("meta"):
        model = CAMPPlus(CAMPPlusConfig.indextts2())
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - 6.9e6) / 6.9e6 < 0.01
    assert n == counts["num_parameters"]["campplus"] == full["num_parameters"]
    sd = model.state_dict()
    assert list(sd) == [e["key"] for e in full["state_dict"]]
    assert all(tuple(sd[e["key"]].shape) == tuple(e["shape"]) for e in full["state_dict"])


def test_fbank_batches_and_rejects_short_audio():
    wave = torch.randn(3, 8000) * 0.1
    batch = kaldi_fbank(wave)
    assert batch.shape == (3, FbankConfig().num_frames(8000), 80) == (3, 48, 80)
    assert torch.allclose(batch[1], kaldi_fbank(wave[1]), atol=1e-5)
    with pytest.raises(AudioError, match="shorter than one"):
        kaldi_fbank(torch.zeros(399))


def test_run_parity_finds_the_campplus_fixture(official_fixtures):
    results = run_parity(official_fixtures, modules=["campplus"])
    assert results["campplus"].ok and results["campplus"].checks == 4
