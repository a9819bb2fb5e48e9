from __future__ import annotations

import json

import numpy as np
import torch

from tests.helpers import debug_gpt_config, make_coded_corpus, make_tone
from voxsmith.train.prosody import (
    ENERGY_SCALE,
    F0_SCALE,
    ProsodyProbe,
    code_prosody,
    speaker_offsets,
    targets,
)


def test_code_prosody_reads_pitch_and_energy_per_code_window():
    sr = 22050
    tone = make_tone(1.0, sr, freq=200.0)
    x = np.concatenate([tone, np.zeros(sr // 2, np.float32)])  # 1 s at 200 Hz, then 0.5 s silence
    p = code_prosody(x, sr)
    assert p.shape == (-(-len(x) // 1024), 2)
    voiced = p[2:18, 0]
    assert np.allclose(voiced, 12.0, atol=0.5)  # 200 Hz = 12 semitones re 100 Hz
    assert np.isnan(p[-5:, 0]).all()  # silence: no f0
    assert p[-5:, 1].max() < p[2:18, 1].min() - 40  # and far less energy
    louder = code_prosody(2 * x, sr)
    assert np.allclose(louder[2:18, 1] - p[2:18, 1], 20 * np.log10(2), atol=0.05)


def test_targets_are_relative_to_the_speakers_neutral_median():
    rows = [
        {"id": "a", "speaker": "s", "style": "neutral"},
        {"id": "b", "speaker": "s", "style": "happy"},
    ]
    pros = {"a": np.array([[10.0, -20.0], [np.nan, -30.0]]), "b": np.array([[14.0, -14.0]])}
    off = speaker_offsets(pros, rows)
    assert np.allclose(off["s"], [10.0, -25.0])  # neutral clips only; NaN f0 ignored
    t = targets(pros["b"], off["s"])
    assert np.allclose(t, [[4.0 / F0_SCALE, 11.0 / ENERGY_SCALE]])


def test_probe_loss_skips_unvoiced_and_padded_codes_and_can_be_fit():
    torch.manual_seed(0)
    probe = ProsodyProbe(8)
    lat = torch.randn(2, 5, 8)
    tgt = torch.randn(2, 5, 2)
    tgt[0, 1, 0] = float("nan")
    lengths = torch.tensor([5, 3])
    base = probe.loss(lat, tgt, lengths)
    assert torch.isfinite(base)
    moved = tgt.clone()
    moved[1, 3:] += 100.0  # padding
    assert torch.equal(probe.loss(lat, moved, lengths), base)
    w = torch.linalg.lstsq(lat.reshape(-1, 8), torch.nan_to_num(tgt).reshape(-1, 2)).solution
    with torch.no_grad():
        probe.head.weight.copy_(w.T)
        probe.head.bias.zero_()
    assert probe.loss(lat, tgt, lengths) < base


def test_gpt_recipe_with_the_prosody_probe(tmp_path):
    from voxsmith.checkpoints import load_safetensors
    from voxsmith.models.gpt import UnifiedVoice
    from voxsmith.text.tokenizer import PhoneTokenizer
    from voxsmith.train.gpt import GPTData, GPTTrainConfig, train_gpt

    corpus, _, _ = make_coded_corpus(tmp_path)
    cfg = debug_gpt_config(16)
    train_cfg = GPTTrainConfig(
        steps=6,
        max_batch_codes=200,
        max_ref_frames=60,
        warmup=1,
        log_every=2,
        val_every=6,
        prosody_weight=1.0,
    )
    path = train_gpt(corpus, tmp_path / "gpt", 16, train_cfg, cfg)
    assert (corpus / "cache" / "prosody_train.npz").is_file()
    rows = [json.loads(x) for x in (tmp_path / "gpt" / "losses.jsonl").read_text().splitlines()]
    assert any("prosody" in r for r in rows) and any("val_prosody" in r for r in rows)
    tensors, _, _ = load_safetensors(path, kind="gpt")
    assert not any("prosody" in k for k in tensors)  # training-only, never exported
    # the probe's gradient reaches the emotion path through the latents
    data = GPTData(corpus, "train", PhoneTokenizer())
    data.attach_prosody(corpus)
    rng = np.random.default_rng(0)
    picks = data.pick(rng, 200)
    batch, _, _ = data.make_batch(picks, rng, 60)
    tgt = data.prosody_of(picks)
    assert tgt.shape[:2] == batch.codes.shape and not torch.isnan(tgt[..., 1]).all()
    model = UnifiedVoice(cfg)
    ProsodyProbe(32).loss(model(batch).latents, tgt, batch.code_lengths).backward()
    assert float(model.emo_layer.weight.grad.abs().sum()) > 0
