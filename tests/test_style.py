"""Style encoder (fbank + CAMPPlus) and its training recipe."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from tests.helpers import make_fake_corpus, make_tone
from voxsmith.audio import Audio, resample
from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.cli.main import main
from voxsmith.errors import AudioError, CheckpointError, ConfigError
from voxsmith.models.campplus import CAMPPlusConfig
from voxsmith.models.style import StyleEncoder, StyleEncoderConfig, load_style_encoder
from voxsmith.train.data import CorpusData
from voxsmith.train.style import StyleTrainConfig, equal_error_rate, train_style


@pytest.fixture
def encoder() -> StyleEncoder:
    torch.manual_seed(0)
    enc = StyleEncoder(StyleEncoderConfig.debug())
    enc.train()
    enc(torch.randn(4, 16000) * 0.1)  # one train-mode pass: BN statistics that depend on the input
    return enc.eval()


def test_embed_shape_and_determinism(encoder):
    clip = Audio(make_tone(1.0), 22050)
    encoder.train()
    a = encoder.embed(clip)
    assert encoder.training  # embed() leaves the mode as it found it
    b = encoder.eval().embed(clip)
    assert a.shape == (192,) and a.dtype == torch.float32
    assert torch.equal(a, b)
    other = encoder.embed(Audio(make_tone(1.0, freq=330.0), 22050))
    assert not torch.allclose(a, other)


def test_embed_resamples_to_16k(encoder):
    x = make_tone(1.2, sr=22050)
    at_22k = encoder.embed(Audio(x, 22050))
    at_16k = encoder.embed(Audio(resample(x, 22050, 16000), 16000))
    assert torch.allclose(at_22k, at_16k, atol=1e-6)
    assert not torch.allclose(at_22k, encoder.embed(Audio(x, 16000)), atol=1e-3)  # sample rate matters
    with pytest.raises(AudioError, match="too short"):
        encoder.embed(Audio(np.zeros(600, np.float32), 16000))


def test_forward_is_the_official_path(official_fixtures):
    """wave → fbank → mean norm → CAMPPlus reproduces the fixture's style output."""
    fx = official_fixtures / "campplus"
    spec = json.loads((fx / "spec.json").read_text())
    enc = StyleEncoder(StyleEncoderConfig(CAMPPlusConfig.from_official(spec["constructor"]["kwargs"])))
    strict_load(enc.campplus, load_file(str(fx / "weights.safetensors")), "fixture")
    io = load_file(str(fx / "io.safetensors"))
    with torch.no_grad():
        style = enc.eval()(io["in.audio_16k"])
    # 1e-4 relative to the vector's size (the parity rule; float32 kernels differ across CPUs)
    assert (style - io["out.style"]).abs().max() < 1e-4 * max(1.0, float(io["out.style"].abs().max()))


def test_save_load_round_trip(encoder, tmp_path):
    path = encoder.save(tmp_path / "style.safetensors")
    loaded = load_style_encoder(path)
    assert loaded.config == encoder.config and not loaded.training
    clip = Audio(make_tone(1.5, freq=180.0), 22050)
    assert torch.equal(loaded.embed(clip), encoder.embed(clip))
    tensors, config, meta = load_safetensors(path)
    assert meta["kind"] == "style" and config["campplus"]["embedding_size"] == 192
    assert "xvector.dense.linear.weight" in tensors  # official key names
    save_safetensors(tensors, tmp_path / "wrong.safetensors", kind="s2m", config=config)
    with pytest.raises(CheckpointError, match="expected 'style'"):
        load_style_encoder(tmp_path / "wrong.safetensors")
    del tensors["head.conv1.weight"]
    save_safetensors(tensors, tmp_path / "bad.safetensors", kind="style", config=config)
    with pytest.raises(CheckpointError, match="missing"):
        load_style_encoder(tmp_path / "bad.safetensors")


def test_equal_error_rate():
    same = np.array([True, True, False, False])
    assert equal_error_rate(np.array([0.9, 0.8, 0.1, 0.2]), same) == 0.0
    assert equal_error_rate(np.array([0.1, 0.2, 0.9, 0.8]), same) == 1.0
    assert np.isnan(equal_error_rate(np.array([0.3, 0.4]), np.array([True, True])))


def test_recipe_rejects_bad_options(tmp_path):
    with pytest.raises(ConfigError, match="batch_size"):
        train_style(tmp_path, tmp_path / "run", StyleTrainConfig(batch_size=1))
    with pytest.raises(ConfigError, match="crop range"):
        train_style(tmp_path, tmp_path / "run", StyleTrainConfig(crop_min_s=3.0, crop_max_s=2.0))


def _rows(path):
    return [json.loads(x) for x in path.read_text().splitlines()]


def test_recipe_trains_resumes_and_writes_style_cache(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "run"
    make_fake_corpus(corpus)
    cfg = StyleTrainConfig(
        steps=30, batch_size=6, crop_min_s=0.5, crop_max_s=0.8, lr=5e-3, warmup=1, margin_ramp=0.0,
        log_every=5, val_every=15, threads=1,
    )  # fmt: skip
    path = train_style(corpus, out, cfg, StyleEncoderConfig.debug())
    rows = _rows(out / "losses.jsonl")
    losses = [r["aam"] for r in rows if "aam" in r]
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert [r["step"] for r in rows if "val_eer" in r] == [15, 30]
    assert (out / "losses.png").is_file() and (out / "state.pt").is_file()

    enc = load_style_encoder(path)
    for split, n in (("train", 9), ("valid", 3)):
        with np.load(corpus / "cache" / f"style_{split}.npz") as z:
            ids, style = z["ids"], z["style"]
        data = CorpusData(corpus, split)
        assert ids.tolist() == [c.row["id"] for c in data.clips] and style.shape == (n, 192)
        assert style.dtype == np.float32 and np.isfinite(style).all()
        # the cache holds exactly what inference computes from the exported weights
        ref = enc.embed(Audio(data.clip_audio(0), 22050)).numpy()
        np.testing.assert_allclose(style[0], ref, atol=1e-5)

    # resume: extending the run continues from step 30, not from scratch
    cfg.steps = 40
    train_style(corpus, out, cfg, StyleEncoderConfig.debug())
    steps = [r["step"] for r in _rows(out / "losses.jsonl")]
    assert steps == sorted(steps) and max(steps) == 40 and steps.count(5) == 1
    assert torch.load(out / "state.pt", weights_only=False)["step"] == 40


def test_cli_style_stage(tmp_path, capsys):
    corpus, out = tmp_path / "corpus", tmp_path / "run"
    make_fake_corpus(corpus, n_speakers=2, clips_per_speaker=3, seconds=1.0)
    rc = main(["train", "style", "--config", "debug", "--data", str(corpus), "--out", str(out),
               "--steps", "2", "--threads", "1"])  # fmt: skip
    assert rc == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["stage"] == "style"
    assert (out / "style.safetensors").is_file() and (corpus / "cache" / "style_valid.npz").is_file()
