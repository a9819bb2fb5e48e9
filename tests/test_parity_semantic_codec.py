"""Parity of RepCodec with the official semantic_codec fixture (``VOXSMITH_FIXTURES`` / ../shared/fixtures/official)."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.semantic_codec import RepCodec, RepCodecConfig
from voxsmith.parity import run_parity
from voxsmith.parity.semantic_codec import build_from_spec, check

CODES = ("indices", "indices_b2")


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # these small convolutions are fastest single-threaded, above all on a shared, loaded CPU
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def codec_result(official_fixtures):
    # through the registry, as ``voxsmith dev parity`` runs it
    results = run_parity(official_fixtures, modules=["semantic_codec"])
    assert set(results) == {"semantic_codec"}
    return results["semantic_codec"]


@pytest.fixture(scope="module")
def fixture_io(official_fixtures):
    return load_file(str(official_fixtures / "semantic_codec" / "io.safetensors"))


def test_every_output_is_reproduced(codec_result, fixture_io):
    outputs = {k[4:] for k in fixture_io if k.startswith("out.")}
    assert set(codec_result.errors) == outputs and len(outputs) == 8
    assert codec_result.ok, codec_result.failures
    for name, err in codec_result.errors.items():
        scale = max(1.0, float(fixture_io[f"out.{name}"].double().abs().max()))
        assert err <= 1e-4 * scale, name


def test_codes_are_identical(codec_result):
    for name in CODES:
        assert codec_result.errors[name] == 0.0


def test_a_corrupted_weight_fails_the_check(official_fixtures, tmp_path):
    src = official_fixtures / "semantic_codec"
    dst = tmp_path / "semantic_codec"
    shutil.copytree(src, dst)
    weights = load_file(str(src / "weights.safetensors"))
    key = "quantizer.quantizers.0.codebook.weight"
    weights[key] = weights[key] + 0.3 * torch.randn(
        weights[key].shape, generator=torch.Generator().manual_seed(1)
    )
    save_file(weights, str(dst / "weights.safetensors"))
    res = check(dst)
    assert not res.ok
    failed = {f.split(":")[0] for f in res.failures}
    assert set(CODES) <= failed and {"vq2emb", "quantized"} <= failed
    # the encoder is untouched, so its output still matches
    assert "encoder_out" not in failed


def test_broken_fixtures_are_reported_not_raised(official_fixtures, tmp_path):
    src = official_fixtures / "semantic_codec"
    dst = tmp_path / "semantic_codec"
    shutil.copytree(src, dst)
    io = load_file(str(src / "io.safetensors"))
    save_file({k: v for k, v in io.items() if k != "in.codes_in"}, str(dst / "io.safetensors"))
    res = check(dst)
    assert [f.split(":")[0] for f in res.failures] == ["vq2emb"]
    assert res.errors["indices"] == 0.0

    weights = load_file(str(src / "weights.safetensors"))
    save_file(
        {k: v for k, v in weights.items() if not k.startswith("decoder.")}, str(dst / "weights.safetensors")
    )
    res = check(dst)
    assert not res.ok and "decoder.0.embed.weight" in res.failures[0]


def test_indextts2_on_meta_matches_official_keys_and_count(official_fixtures):
    full = json.loads((official_fixtures / "full_keys" / "semantic_codec.json").read_text())
    counts = json.loads((official_fixtures / "full_keys" / "param_counts.json").read_text())
    with torch.device("meta"):
        model = RepCodec(RepCodecConfig.indextts2())
    ours = {k: list(v.shape) for k, v in model.state_dict().items()}
    theirs = {e["key"]: e["shape"] for e in full["state_dict"]}
    assert ours == theirs
    n = sum(p.numel() for p in model.parameters())
    expected = counts["num_parameters"]["semantic_codec"]
    assert abs(n - expected) <= 0.01 * expected
    assert n == 44_289_808


def test_slot_interface_matches_the_official_calls(official_fixtures, fixture_io):
    model, spec = build_from_spec(official_fixtures / "semantic_codec")
    assert sum(p.numel() for p in model.parameters()) == spec["num_parameters"]
    with torch.no_grad():
        codes = model.quantize(fixture_io["in.feat_b2"])
        assert codes.dtype == torch.int64 and torch.equal(codes, fixture_io["out.indices_b2"])
        # channels-last embeddings, batched properly (the official call is only meaningful for B=1)
        emb = model.vq2emb(fixture_io["in.codes_in"])
        assert emb.shape == (1, 19, 1024)
        assert torch.allclose(emb, fixture_io["out.vq2emb"].transpose(1, 2), atol=1e-6)
        emb_b2 = model.vq2emb(codes)
        _, quantized_b2 = model.quantize_with_embedding(fixture_io["in.feat_b2"])
        assert torch.allclose(emb_b2, quantized_b2, atol=1e-5)
        rec = model.decode(quantized_b2)
        assert rec.shape == (2, 17, 1024) and torch.isfinite(rec).all()
    with pytest.raises(ConfigError, match="expected features"):
        model.quantize(torch.randn(1, 5, 512))


def test_from_official_files_and_config(official_fixtures, tmp_path, fixture_io):
    src = official_fixtures / "semantic_codec"
    cfg_dict = json.loads((src / "spec.json").read_text())["constructor"]["cfg"]
    cfg = RepCodecConfig.from_official(cfg_dict)
    assert (cfg.codebook_size, cfg.vocos_dim, cfg.num_quantizers) == (128, 32, 1)
    assert RepCodecConfig.from_dict(cfg.to_dict()) == cfg
    model = RepCodec.from_official_files(src / "weights.safetensors", cfg)
    assert not model.training
    with torch.no_grad():
        assert torch.equal(model.quantize(fixture_io["in.feat"]), fixture_io["out.indices"])
    with pytest.raises(CheckpointError, match="not found"):
        RepCodec.from_official_files(tmp_path / "model.safetensors", cfg)
    with pytest.raises(CheckpointError, match="does not match"):
        RepCodec.from_official_files(src / "weights.safetensors", RepCodecConfig.tiny(1024, 128))
    with pytest.raises(ConfigError, match="downsample_scale"):
        RepCodecConfig.from_official({**cfg_dict, "downsample_scale": 2})
    with pytest.raises(ConfigError, match="quantizer_type"):
        RepCodecConfig.from_official({**cfg_dict, "quantizer_type": "vq"})
    with pytest.raises(ConfigError, match="missing"):
        RepCodecConfig.from_official({"codebook_size": 8})


def test_tiny_and_residual_stages():
    model = RepCodec(RepCodecConfig.tiny(hidden_size=32, codebook_size=16)).eval()
    feats = torch.randn(2, 11, 32)
    with torch.no_grad():
        codes = model.quantize(feats)
        assert codes.shape == (2, 11) and 0 <= int(codes.min()) and int(codes.max()) < 16
        assert model.vq2emb(codes).shape == (2, 11, 32)

    two = RepCodec(RepCodecConfig(**{**RepCodecConfig.tiny(32, 16).to_dict(), "num_quantizers": 2})).eval()
    with torch.no_grad():
        codes2, quantized = two.quantize_with_embedding(feats)
        assert codes2.shape == (2, 2, 11)
        # the embedding of a residual stack is the sum of its stages
        assert torch.allclose(two.vq2emb(codes2), quantized, atol=1e-5)
        stage0 = two.quantizer.quantizers[0].vq2emb(codes2[0]).transpose(1, 2)
        assert not torch.allclose(stage0, quantized, atol=1e-3)


def test_identity_projection_when_code_width_is_feature_width():
    model = RepCodec(
        RepCodecConfig(
            hidden_size=8,
            codebook_dim=8,
            vocos_dim=16,
            vocos_intermediate_dim=16,
            vocos_num_layers=1,
            codebook_size=4,
        )
    )
    keys = set(model.state_dict())
    assert not any("in_project" in k or "out_project" in k for k in keys)
    assert "quantizer.quantizers.0.codebook.weight" in keys
