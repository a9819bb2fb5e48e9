from __future__ import annotations

import json

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
    train(corpus, out, cfg, VocosConfig.debug())
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    losses = [r["mel_l1"] for r in rows if "mel_l1" in r]
    assert losses[-1] < losses[0]
    tensors, config, meta = load_safetensors(out / "vocoder.safetensors", kind="vocos")
    assert config["dim"] == 32 and meta["kind"] == "vocos"
    # resume: extending the run continues from step 30, not from scratch
    cfg.steps = 45
    train(corpus, out, cfg, VocosConfig.debug())
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and max(steps) == 45 and steps.count(5) == 1
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    assert any("adv" in r for r in rows) and not any("adv" in r for r in rows if r["step"] < 20)
