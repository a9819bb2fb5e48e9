"""The mel speaker judge and S2M's speaker-consistency loss."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers import make_coded_corpus, make_fake_corpus
from voxsmith.cli.main import main
from voxsmith.errors import ConfigError
from voxsmith.models.mel_speaker import MelSpeakerConfig, MelSpeakerEncoder, load_mel_speaker
from voxsmith.models.s2m import S2MConfig
from voxsmith.models.s2m.cfm import CFM, CFMTerms
from voxsmith.train.mel_speaker import MelSpeakerTrainConfig, train_mel_speaker
from voxsmith.train.s2m import S2MTrainConfig, speaker_term, train_s2m


def _judge(seed: int = 0) -> MelSpeakerEncoder:
    torch.manual_seed(seed)
    return MelSpeakerEncoder(MelSpeakerConfig.debug()).eval()


def test_judge_shapes_ignores_loudness_and_refuses_short_mel():
    judge = _judge()
    mel = torch.randn(3, 80, 40)
    emb = judge(mel)
    assert emb.shape == (3, judge.config.dim) and torch.isfinite(emb).all()
    # a level shift of the log-mel (louder, same voice) changes nothing; a tilt does
    torch.testing.assert_close(judge(mel + 2.0), emb, atol=1e-5, rtol=1e-5)
    tilt = torch.linspace(-1, 1, 80)[None, :, None]
    assert not torch.allclose(judge(mel + tilt), emb, atol=1e-3)
    with pytest.raises(ConfigError, match="log-mel"):
        judge(torch.randn(1, 80, 4))
    with pytest.raises(ConfigError, match="log-mel"):
        judge(torch.randn(1, 64, 40))


def test_judge_round_trip_is_frozen(tmp_path):
    judge = _judge()
    path = judge.save(tmp_path / "mel_speaker.safetensors")
    back = load_mel_speaker(path)
    mel = torch.randn(2, 80, 32)
    torch.testing.assert_close(back(mel), judge(mel))
    assert not back.training and not any(p.requires_grad for p in back.parameters())


def test_loss_terms_estimate_is_the_clean_mel_when_the_velocity_is_right():
    """With the true velocity, ``x1_hat`` recovers the target mel past the prompt, at any t."""
    cfg = S2MConfig.tiny(content_dim=8, gpt_dim=None, style_dim=4)
    cfm = CFM(cfg)
    cfm.class_dropout_prob = 0.0
    x1 = torch.randn(3, cfg.dit.in_channels, 24)
    lens, prompts = torch.tensor([24, 20, 16]), torch.tensor([4, 6, 2])
    sig = cfm.sigma_min

    def true_velocity(y, prompt, x_lens, t, style, mu):
        t = t[:, None, None]
        z = (y - t * x1) / (1 - (1 - sig) * t)
        return x1 - (1 - sig) * z

    cfm.estimator.forward = true_velocity  # type: ignore[method-assign]
    terms = cfm.loss_terms(x1, lens, prompts, torch.zeros(3, 24, 8), torch.zeros(3, 4),
                           generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert isinstance(terms, CFMTerms) and terms.loss.item() < 1e-5
    for i in range(3):
        torch.testing.assert_close(
            terms.x1_hat[i, :, prompts[i] :], x1[i, :, prompts[i] :], atol=1e-4, rtol=1e-4
        )
    assert terms.t.shape == (3,) and terms.kept.tolist() == [1.0, 1.0, 1.0]


def test_speaker_term_is_zero_on_the_real_mel_and_pulls_an_estimate_towards_it():
    judge = _judge()
    mel = torch.randn(2, 80, 60)
    prompts, lens = torch.tensor([10, 20]), torch.tensor([60, 50])
    t, kept = torch.tensor([0.9, 0.5]), torch.ones(2)
    same = speaker_term(judge, CFMTerms(torch.zeros(()), mel.clone(), t, kept), mel, prompts, lens, 160)
    assert abs(same.item()) < 1e-5
    est = (mel + torch.linspace(-2, 2, 80)[None, :, None]).requires_grad_(True)
    miss = speaker_term(judge, CFMTerms(torch.zeros(()), est, t, kept), mel, prompts, lens, 160)
    assert miss.item() > 1e-3
    miss.backward()
    assert est.grad is not None and est.grad.abs().sum() > 0
    assert est.grad[0, :, :10].abs().sum() == 0  # the prompt frames are not judged
    # items trained unconditioned count nothing; too short a target region gives no term
    none_kept = speaker_term(
        judge, CFMTerms(torch.zeros(()), est, t, torch.zeros(2)), mel, prompts, lens, 160
    )
    assert none_kept.item() == 0.0
    short = speaker_term(
        judge, CFMTerms(torch.zeros(()), est, t, kept), mel, torch.tensor([55, 45]), lens, 160
    )
    assert short.item() == 0.0


def test_mel_speaker_recipe_trains_validates_and_resumes(tmp_path):
    corpus, out = tmp_path / "corpus", tmp_path / "run"
    make_fake_corpus(corpus)
    cfg = MelSpeakerTrainConfig(
        steps=30, batch_size=6, crop_min=24, crop_max=40, lr=5e-3, warmup=1, margin_ramp=0.0,
        log_every=5, val_every=15, threads=1,
    )  # fmt: skip
    path = train_mel_speaker(corpus, out, cfg, MelSpeakerConfig.debug())
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    losses = [r["aam"] for r in rows if "aam" in r]
    assert len(losses) == 6 and losses[-1] < losses[0]
    assert [r["step"] for r in rows if "val_eer" in r] == [15, 30]
    assert load_mel_speaker(path).config.dim == MelSpeakerConfig.debug().dim
    cfg.steps = 40
    train_mel_speaker(corpus, out, cfg, MelSpeakerConfig.debug())
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert max(steps) == 40 and steps.count(5) == 1
    with pytest.raises(ConfigError, match="crop range"):
        train_mel_speaker(corpus, tmp_path / "bad", MelSpeakerTrainConfig(crop_min=40, crop_max=20))


def test_s2m_trains_with_a_speaker_loss_and_refuses_one_without_a_judge(tmp_path, capsys):
    corpus, _, codec = make_coded_corpus(tmp_path)
    judge = tmp_path / "judge"
    rc = main(["train", "mel-speaker", "--config", "debug", "--data", str(corpus), "--out", str(judge),
               "--steps", "2", "--threads", "1"])  # fmt: skip
    assert rc == 0 and json.loads(capsys.readouterr().out.strip().splitlines()[-1])["stage"] == "mel-speaker"
    model_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=192)
    model_cfg.dit.depth, model_cfg.wavenet.num_layers = 2, 1
    cfg = S2MTrainConfig(steps=6, batch_size=2, crop_codes=12, warmup=1, log_every=2, val_every=6,
                         speaker_loss=0.5, speaker_frames=16)  # fmt: skip
    with pytest.raises(ConfigError, match="speaker-judge"):
        train_s2m(corpus, codec, tmp_path / "s2m0", cfg, model_cfg)
    out = tmp_path / "s2m"
    train_s2m(corpus, codec, out, cfg, model_cfg, speaker_judge=judge / "mel_speaker.safetensors")
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    spk = [r["spk_loss"] for r in rows if "spk_loss" in r]
    assert len(spk) == 3 and all(np.isfinite(spk)) and max(spk) > 0
    assert all("fm_loss" in r for r in rows if "spk_loss" in r)
