"""Parity of the GPT with the official fixture (``VOXSMITH_FIXTURES`` / ../shared/fixtures/official)."""

from __future__ import annotations

import shutil

import pytest
from safetensors.torch import load_file, save_file

from voxsmith.parity import run_parity
from voxsmith.parity.gpt import check


@pytest.fixture(scope="module")
def gpt_result(official_fixtures):
    return check(official_fixtures / "gpt")


def test_every_output_is_reproduced(gpt_result, official_fixtures):
    outputs = {
        k[4:] for k in load_file(str(official_fixtures / "gpt" / "io.safetensors")) if k.startswith("out.")
    }
    assert set(gpt_result.errors) == outputs
    assert gpt_result.ok, gpt_result.failures
    assert gpt_result.max_abs_err <= 1e-4


def test_codes_are_identical(gpt_result):
    for name in ("gen_greedy_codes", "gen_greedy_rep10_codes", "gen_beam3_rep10_codes", "tf_mel_input_ids"):
        assert gpt_result.errors[name] == 0.0


def test_run_parity_finds_the_gpt_fixture(official_fixtures):
    results = run_parity(official_fixtures, modules=["gpt"])
    assert results["gpt"].ok and results["gpt"].checks == 22


def test_broken_fixtures_are_reported_not_raised(official_fixtures, tmp_path):
    src = official_fixtures / "gpt"
    io = load_file(str(src / "io.safetensors"))
    weights = load_file(str(src / "weights.safetensors"))

    missing_input = tmp_path / "missing_input"
    missing_input.mkdir()
    shutil.copy(src / "spec.json", missing_input / "spec.json")
    shutil.copy(src / "weights.safetensors", missing_input / "weights.safetensors")
    save_file(
        {k: v for k, v in io.items() if k != "in.spk_cond_emb_b2"}, str(missing_input / "io.safetensors")
    )
    res = check(missing_input)
    assert not res.ok
    assert {f.split(":")[0] for f in res.failures} == {"cond_latents_b2", "emo_cond_b2_raw"}
    assert res.errors["gen_beam3_rep10_codes"] == 0.0

    missing_weight = tmp_path / "missing_weight"
    missing_weight.mkdir()
    shutil.copy(src / "spec.json", missing_weight / "spec.json")
    shutil.copy(src / "io.safetensors", missing_weight / "io.safetensors")
    save_file(
        {k: v for k, v in weights.items() if k != "mel_head.bias"},
        str(missing_weight / "weights.safetensors"),
    )
    res = check(missing_weight)
    assert not res.ok and "mel_head.bias" in res.failures[0]
