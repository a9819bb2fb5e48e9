from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import make_fake_corpus
from voxsmith.checkpoints import load_safetensors
from voxsmith.models.vocoder import VocosConfig, VocosVocoder
from voxsmith.train.data import CorpusData
from voxsmith.train.vocoder import VocoderTrainConfig, train


def test_vocos_output_length():
    model = VocosVocoder(VocosConfig.debug())
    wav = model(torch.randn(2, 80, 13))
    assert wav.shape == (2, 13 * 256)
    for frames in (1, 2, 3):  # shorter than an STFT window: no Griffin-Lim rounds to run, no error
        assert model(torch.randn(1, 80, frames)).shape == (1, frames * 256)


def test_corpus_data_packs_and_caches(tmp_path):
    make_fake_corpus(tmp_path)
    data = CorpusData(tmp_path, "train")
    assert len(data) == 9 and data.speakers == ["spk0", "spk1", "spk2"]
    mel = data.clip_mel(0)
    assert mel.shape[0] == 80 and mel.shape[1] == data.clips[0].n_frames
    assert (tmp_path / "cache" / "train.npz").is_file()
    again = CorpusData(tmp_path, "train")  # from cache
    assert torch.equal(again.clip_mel(3), data.clip_mel(3))


def test_vocoder_training_reduces_loss_and_resumes(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "run"
    make_fake_corpus(corpus)
    cfg = VocoderTrainConfig(
        steps=30, batch_size=2, crop_frames=16, lr=2e-3, warmup=1, log_every=5, val_every=15, gan_start=20
    )
    predicted = VocosConfig(dim=32, intermediate_dim=64, num_layers=2)  # the waveform-trained kind
    train(corpus, out, cfg, predicted)
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    losses = [r["mel_l1"] for r in rows if "mel_l1" in r]
    assert losses[-1] < losses[0]
    tensors, config, meta = load_safetensors(out / "vocoder.safetensors", kind="vocos")
    assert config["dim"] == 32 and meta["kind"] == "vocos"
    # resume: extending the run continues from step 30, not from scratch
    cfg.steps = 45
    train(corpus, out, cfg, predicted)
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and max(steps) == 45 and steps.count(5) == 1
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    assert any("adv" in r for r in rows) and not any("adv" in r for r in rows if r["step"] < 20)


def test_griffin_lim_vocoder_trains_its_magnitude_and_resumes(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "run"
    make_fake_corpus(corpus)
    cfg = VocoderTrainConfig(
        steps=30, batch_size=2, crop_frames=16, lr=2e-3, warmup=1, log_every=5, val_every=15
    )
    train(corpus, out, cfg, VocosConfig.debug())
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    losses = [r["mag_l1"] for r in rows if "mag_l1" in r]
    assert losses[-1] < losses[0] and not any("adv" in r for r in rows)
    assert sum("val_mel_l1" in r for r in rows) == 2
    _, config, _ = load_safetensors(out / "vocoder.safetensors", kind="vocos")
    assert config["phase"] == "griffin-lim" and config["gl_iters"] == 4  # self-describing
    cfg.steps = 40
    train(corpus, out, cfg, VocosConfig.debug())
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert max(steps) == 40 and steps.count(5) == 1


def test_griffin_lim_removes_the_frame_rate_buzz_of_a_frozen_phase():
    import numpy as np

    from voxsmith.eval.buzz import frame_rate_buzz

    model = VocosVocoder(VocosConfig.debug())
    sr, f0 = 22050, 196.0
    t = torch.arange(sr) / sr
    tone = torch.sin(2 * torch.pi * f0 * t) * (1 + 0.3 * torch.sin(2 * torch.pi * 3 * t))
    mag = model.stft(tone[None])[..., : sr // 256].abs()
    frozen = torch.zeros_like(mag)  # the same phase at every frame: each frame's waveform repeats
    buzzy = model.synthesize(mag, frozen)[0].numpy()
    fixed = model.synthesize(mag, model.griffin_lim(mag, frozen, 32))[0].numpy()
    assert frame_rate_buzz(buzzy, sr).share > 0.5
    assert frame_rate_buzz(fixed, sr).share < 0.1
    spectrum = np.abs(np.fft.rfft(fixed * np.hanning(fixed.size)))
    peak = np.fft.rfftfreq(fixed.size, 1 / sr)[int(np.argmax(spectrum))]
    assert abs(peak - f0) < 3.0  # the tone's own frequency, not a multiple of 86 Hz


def test_vocos_config_checks_the_phase_source():
    from voxsmith.errors import ConfigError

    with pytest.raises(ConfigError, match="phase"):
        VocosConfig(phase="magic")
    with pytest.raises(ConfigError, match="gl_iters"):
        VocosConfig(gl_iters=-1)
    assert VocosConfig().phase == "predicted"  # a checkpoint that names no phase: the head's
    assert VocosConfig.tiny().phase == "griffin-lim"


def test_spectrum_and_synthesize_are_the_forward_pass():
    model = VocosVocoder(VocosConfig(dim=32, intermediate_dim=64, num_layers=2)).eval()
    mel = torch.randn(1, 80, 10)
    mag, phase = model.spectrum(mel)
    assert mag.shape == phase.shape == (1, 513, 10)
    assert torch.equal(model.synthesize(mag, phase), model(mel))
