from __future__ import annotations

import json

import numpy as np
import torch

from tests.helpers import debug_gpt_config, make_coded_corpus
from voxsmith.checkpoints import save_safetensors
from voxsmith.models.gpt import UnifiedVoice
from voxsmith.train.gpt import GPTTrainConfig, _config_dict, train_gpt
from voxsmith.train.latent_scale import PerceiverScale, RefitConfig, refit_perceivers, scale_penalty


def _inflate(model: UnifiedVoice) -> None:
    """Blow the speaker Perceiver up the way training did: larger attention values and
    feed-forwards, so the quadratic GEGLUs drive the pre-norm latents to norms the final RMSNorm hides."""
    with torch.no_grad():
        for attn, ff in model.perceiver_encoder.layers:
            attn.to_kv.weight.mul_(3.0)
            attn.to_out.weight.mul_(8.0)
            ff[0].weight.mul_(3.0)
            ff[2].weight.mul_(3.0)


def _refs(rng: np.random.Generator, n: int) -> list[torch.Tensor]:
    return [
        torch.from_numpy(rng.normal(-4.0, 2.0, (int(rng.integers(40, 80)), 80)).astype(np.float32))
        for _ in range(n)
    ]


def test_scale_penalty_is_zero_under_the_cap_and_pulls_down_above_it():
    small = torch.full((2, 4, 8), 3.0, requires_grad=True)
    assert float(scale_penalty(small, 8.0).detach()) == 0.0
    big = torch.full((2, 4, 8), 1e8, requires_grad=True)
    pen = scale_penalty(big, 8.0)
    pen.backward()
    assert float(pen.detach()) > 100.0  # log(1e8 / 8)² ≈ 266
    assert (big.grad > 0).all() and float(big.grad.abs().max()) < 1.0  # downhill is smaller, gently


def test_prenorm_scale_records_training_passes_only():
    torch.manual_seed(0)
    model = UnifiedVoice(debug_gpt_config(16))
    _inflate(model)
    scale = PerceiverScale({"perceiver_encoder": model.perceiver_encoder})
    mels = torch.randn(2, 50, 80)
    with torch.no_grad():
        model.speaker_latents(mels)
    assert scale.max_rms() == {}
    out = model.speaker_latents(mels)
    rms = scale.max_rms()["perceiver_encoder"]
    assert rms > 100.0  # inflated: the RMSNorm hides it from the output
    assert float(out.detach().pow(2).mean(-1).sqrt().max()) < 10.0
    scale.penalty(8.0).backward()
    assert model.perceiver_encoder.layers[0][1][0].weight.grad is not None
    scale.remove()
    scale.clear()
    model.speaker_latents(mels)
    assert scale.max_rms() == {}


def test_refit_bounds_an_inflated_perceiver_and_keeps_its_latents():
    torch.manual_seed(0)
    model = UnifiedVoice(debug_gpt_config(16))
    _inflate(model)
    mels = _refs(np.random.default_rng(7), 6)
    lengths = torch.tensor([len(m) for m in mels])
    x = torch.nn.utils.rnn.pad_sequence(mels, batch_first=True, padding_value=float(np.log(1e-5)))
    with torch.no_grad():
        before = model.speaker_latents(x, lengths)
    emo_before = {k: v.clone() for k, v in model.emo_perceiver_encoder.state_dict().items()}
    report = refit_perceivers(model, _refs, RefitConfig(steps=200, batch=8, lr=1e-3))
    assert set(report) == {"perceiver_encoder"}  # the healthy emotion Perceiver is left alone
    r = report["perceiver_encoder"]
    assert r["rms_before"] > 1e3 and r["rms_after"] < 2 * 8.0
    assert r["cosine"] > 0.8  # a fresh Perceiver's latents score about 0 against the old ones
    with torch.no_grad():
        after = model.speaker_latents(x, lengths)
    cos = torch.nn.functional.cosine_similarity(after, before, dim=-1).mean()
    assert float(cos) > 0.8  # unseen references too
    for k, v in model.emo_perceiver_encoder.state_dict().items():
        assert torch.equal(v, emo_before[k]), k


def test_gpt_recipe_refits_an_inflated_init_and_logs_its_gradients(tmp_path):
    corpus, _, _ = make_coded_corpus(tmp_path)
    torch.manual_seed(0)
    cfg_model = debug_gpt_config(16)
    model = UnifiedVoice(cfg_model)
    _inflate(model)
    init = tmp_path / "inflated.safetensors"
    save_safetensors(model.state_dict(), init, kind="gpt", config=_config_dict(cfg_model))
    cfg = GPTTrainConfig(
        steps=2, max_batch_codes=200, max_ref_frames=60, warmup=1, log_every=1, val_every=2, refit_steps=200
    )
    out = tmp_path / "gpt"
    train_gpt(corpus, out, 16, cfg, debug_gpt_config(16), init=init, refit_perceivers=True)
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "grad_norm" in r]
    assert [r["step"] for r in logged] == [1, 2]
    assert all(np.isfinite(r["grad_norm"]) and 0.0 <= r["grad_cut"] <= 1.0 for r in logged)
    # the first training batch meets the refitted Perceiver (the init's scale is in the thousands)
    assert logged[0]["spk_scale"] < 2 * 8.0
