"""Parity of BigVGAN with the official bigvgan fixture (``VOXSMITH_FIXTURES`` / ../shared/fixtures/official)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.bigvgan import BigVGAN, BigVGANConfig
from voxsmith.parity import run_parity
from voxsmith.parity.bigvgan import build_from_spec, check


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # these small convolutions are fastest single-threaded, above all on a shared, loaded CPU
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def bigvgan_result(official_fixtures):
    # through the registry, as ``voxsmith dev parity`` runs it
    results = run_parity(official_fixtures, modules=["bigvgan"])
    assert set(results) == {"bigvgan"}
    return results["bigvgan"]


def test_every_output_is_reproduced(bigvgan_result, official_fixtures):
    io = load_file(str(official_fixtures / "bigvgan" / "io.safetensors"))
    outputs = {k[4:] for k in io if k.startswith("out.")}
    assert set(bigvgan_result.errors) == outputs == {"wav", "wav_b2", "wav_before_remove_weight_norm"}
    assert bigvgan_result.ok, bigvgan_result.failures
    assert bigvgan_result.checks == 3
    for name, err in bigvgan_result.errors.items():
        scale = max(1.0, float(io[f"out.{name}"].double().abs().max()))
        assert err <= 1e-4 * scale, name


def test_a_corrupted_weight_fails_the_check(official_fixtures, tmp_path):
    src = official_fixtures / "bigvgan"
    dst = tmp_path / "bigvgan"
    shutil.copytree(src, dst)
    weights = load_file(str(src / "weights.safetensors"))
    weights["resblocks.3.activations.1.act.beta"] = weights["resblocks.3.activations.1.act.beta"] + 0.5
    save_file(weights, str(dst / "weights.safetensors"))
    res = check(dst)
    assert not res.ok
    assert {f.split(":")[0] for f in res.failures} == {"wav", "wav_b2", "wav_before_remove_weight_norm"}


def test_broken_fixtures_are_reported_not_raised(official_fixtures, tmp_path):
    src = official_fixtures / "bigvgan"
    dst = tmp_path / "bigvgan"
    shutil.copytree(src, dst)
    io = load_file(str(src / "io.safetensors"))
    save_file({k: v for k, v in io.items() if k != "in.mel_b2"}, str(dst / "io.safetensors"))
    res = check(dst)
    assert [f.split(":")[0] for f in res.failures] == ["wav_b2"]
    assert res.errors["wav"] <= 1e-6

    weights = load_file(str(src / "weights.safetensors"))
    save_file(
        {k: v for k, v in weights.items() if k != "conv_post.weight_g"}, str(dst / "weights.safetensors")
    )
    res = check(dst)
    assert not res.ok and "conv_post.weight_g" in res.failures[0]


def test_filters_are_rebuilt_and_weight_norm_folds(official_fixtures):
    model, spec = build_from_spec(official_fixtures / "bigvgan")
    assert sum(p.numel() for p in model.parameters()) == spec["num_parameters"]
    # a freshly built generator computes the same Kaiser-sinc taps the checkpoint carries
    fresh = BigVGAN(model.cfg).state_dict()
    loaded = model.state_dict()
    filters = [k for k in loaded if k.endswith(".filter")]
    assert len(filters) == 2 * (6 * 3 * 6 + 1)
    for k in filters:
        assert torch.allclose(fresh[k], loaded[k], atol=1e-7), k
    mel = torch.randn(1, 80, 7)
    with torch.no_grad():
        before = model(mel)
        model.remove_weight_norm()
        after = model(mel)
    keys = set(model.state_dict())
    assert not any(k.endswith(("weight_g", "weight_v")) for k in keys)
    assert {"conv_pre.weight", "ups.5.0.weight", "conv_post.weight"} <= keys
    assert torch.allclose(before, after, atol=1e-6)
    assert sum(p.numel() for p in model.parameters()) < spec["num_parameters"]


def test_indextts2_on_meta_matches_official_keys_and_count(official_fixtures):
    full = json.loads((official_fixtures / "full_keys" / "bigvgan.json").read_text())
    counts = json.loads((official_fixtures / "full_keys" / "param_counts.json").read_text())
    with torch.device("meta"):
        model = BigVGAN(BigVGANConfig.indextts2())
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    theirs = {e["key"]: e["shape"] for e in full["state_dict"]}
    assert ours == theirs
    n = sum(p.numel() for p in model.parameters())
    expected = counts["num_parameters"]["bigvgan"]
    assert abs(n - expected) <= 0.01 * expected
    assert n == 112_231_249
    assert BigVGANConfig.indextts2().hop_length == 256


def test_from_official_files_loads_a_generator_checkpoint(official_fixtures, tmp_path):
    src = official_fixtures / "bigvgan"
    spec = json.loads((src / "spec.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(spec["constructor"]["h"]))
    torch.save({"generator": load_file(str(src / "weights.safetensors"))}, tmp_path / "bigvgan_generator.pt")
    model = BigVGAN.from_official_files(tmp_path / "config.json", tmp_path / "bigvgan_generator.pt")
    assert not model.training and "conv_post.weight" in model.state_dict()
    io = load_file(str(src / "io.safetensors"))
    with torch.no_grad():
        assert torch.allclose(model(io["in.mel"]), io["out.wav"], atol=1e-5)
    torch.save({"discriminator": {}}, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="generator"):
        BigVGAN.from_official_files(tmp_path / "config.json", tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="not found"):
        BigVGAN.from_official_files(tmp_path / "missing.json", tmp_path / "bigvgan_generator.pt")


def test_config_validation_and_tiny_shapes(official_fixtures):
    h = json.loads((official_fixtures / "bigvgan" / "spec.json").read_text())["constructor"]["h"]
    cfg = BigVGANConfig.from_official(h)
    assert cfg.upsample_initial_channel == 128 and cfg.activation == "snakebeta" and not cfg.use_tanh_at_final
    assert BigVGANConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="hop_size"):
        BigVGANConfig.from_official({**h, "hop_size": 300})
    with pytest.raises(ConfigError, match="activation"):
        BigVGANConfig.from_official({**h, "activation": "relu"})
    with pytest.raises(ConfigError, match="upsample kernel"):
        BigVGANConfig(upsample_rates=(4,), upsample_kernel_sizes=(7,))
    tiny = BigVGAN(BigVGANConfig.tiny()).eval()
    with torch.no_grad():
        wav = tiny(torch.randn(2, 80, 9))
    assert wav.shape == (2, 1, 9 * 256) and wav.abs().max() <= 1.0
    with pytest.raises(ConfigError, match="expected mel"):
        tiny(torch.randn(2, 81, 9))


def test_snake_and_block_type_2_variants():
    cfg = BigVGANConfig(
        upsample_rates=(4, 4),
        upsample_kernel_sizes=(8, 8),
        upsample_initial_channel=16,
        resblock="2",
        resblock_kernel_sizes=(3,),
        resblock_dilation_sizes=((1, 3),),
        activation="snake",
        use_tanh_at_final=True,
        use_bias_at_final=True,
    )
    model = BigVGAN(cfg).eval()
    keys = set(model.state_dict())
    assert "resblocks.0.convs.1.weight_v" in keys and "conv_post.bias" in keys
    assert "resblocks.0.activations.0.act.alpha" in keys and "resblocks.0.activations.0.act.beta" not in keys
    with torch.no_grad():
        wav = model(torch.randn(1, 80, 5))
    assert wav.shape == (1, 1, 5 * 16) and wav.abs().max() < 1.0
