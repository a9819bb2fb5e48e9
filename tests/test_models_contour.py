"""Per-code prosody contour: unvoiced filling, the latents → contour head, S2M's contour input."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import make_coded_corpus, make_random_model, make_tone, s2m_from_plain
from voxsmith.audio import Audio
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.prosody import CONTOUR, CONTOUR_SCALES, MEASURES, SCALES, ContourHead, fill_unvoiced
from voxsmith.models.s2m import S2MConfig


def test_fill_unvoiced_interpolates_between_voiced_codes_and_holds_the_ends():
    f0 = np.array([np.nan, 2.0, np.nan, np.nan, 8.0, np.nan])
    assert fill_unvoiced(f0).tolist() == [2.0, 2.0, 4.0, 6.0, 8.0, 8.0]
    assert fill_unvoiced(np.full(3, np.nan)).tolist() == [0.0, 0.0, 0.0]


def test_contour_head_recovers_a_linear_map_and_an_offset_moves_pitch_range_and_loudness():
    g = torch.Generator().manual_seed(0)
    x = 5.0 * torch.randn(600, 8, generator=g) + 3.0
    w = torch.randn(len(CONTOUR), 8, generator=g) / 5.0
    y = x @ w.T + torch.tensor([0.5, -1.0])
    head = ContourHead.fit(x, y, spread=2.0, ridge=1e-6)
    assert torch.allclose(head(x[:7]), y[:7], atol=1e-3)
    c = head(x[:10]).unsqueeze(0)  # (1, N, Kc)
    assert torch.equal(head.shift(c, None), c)
    assert torch.allclose(head.shift(c, torch.zeros(1, len(MEASURES))), c)
    up = torch.tensor([[0.75, 0.0, 0.5, 0.0]])  # +3 st, +3 dB
    moved = head.shift(c, up)
    assert torch.allclose(moved[..., 0] - c[..., 0], torch.full((1, 10), 3.0 / CONTOUR_SCALES[0]), atol=1e-5)
    assert torch.allclose(moved[..., 1] - c[..., 1], torch.full((1, 10), 3.0 / CONTOUR_SCALES[1]), atol=1e-5)
    # the contour's own spread grows by the asked 0.5 st, its mean stays
    own = float(c[..., 0].std(unbiased=False)) * CONTOUR_SCALES[0]
    wider = head.shift(c, torch.tensor([[0.0, 0.5 / SCALES[1], 0.0, 0.0]]))
    dev, dev2 = c[..., 0] - c[..., 0].mean(), wider[..., 0] - wider[..., 0].mean()
    assert torch.allclose(dev2, (own + 0.5) / own * dev, atol=1e-5)
    assert float(wider[..., 0].std(unbiased=False)) * CONTOUR_SCALES[0] == pytest.approx(own + 0.5, abs=1e-4)
    assert torch.allclose(wider[..., 0].mean(), c[..., 0].mean(), atol=1e-6)
    # a flat contour scales against the corpus's spread (2 st): nothing to scale, nothing breaks
    flat = torch.zeros(1, 5, len(CONTOUR))
    assert torch.allclose(head.shift(flat, torch.tensor([[0.0, 1.0 / SCALES[1], 0.0, 0.0]])), flat)
    again = ContourHead.from_tensors(head.tensors())
    assert again is not None and again.spread == 2.0 and torch.equal(again(x[:2]), head(x[:2]))
    assert ContourHead.from_tensors({"feat1": torch.zeros(1)}) is None
    with pytest.raises(ConfigError):
        head(torch.zeros(2, 5))
    with pytest.raises(CheckpointError):
        ContourHead(torch.zeros(3, 8), torch.zeros(3), 2.0)
    with pytest.raises(CheckpointError):
        ContourHead(torch.zeros(2, 8), torch.zeros(2), 0.0)


def test_s2m_contour_input_reaches_the_target_codes_only_and_starts_from_zero(tmp_path):

    torch.manual_seed(0)
    plain, model = s2m_from_plain(tmp_path, contour_dim=len(CONTOUR))
    emb, con = torch.randn(2, 6, 32), torch.randn(2, 6, len(CONTOUR))
    assert torch.equal(model.content(emb, contour=con), emb)
    torch.nn.init.normal_(model.models["contour_layer"].weight)
    mask = torch.tensor([[False, False, True, True, True, True]] * 2)
    out = model.content(emb, latent_mask=mask, contour=con)
    assert torch.equal(out[:, :2], emb[:, :2]) and not torch.allclose(out[:, 2:], emb[:, 2:])
    # code by code: changing one code's contour changes that code's content only
    con2 = con.clone()
    con2[:, 4] += 1.0
    with torch.no_grad():
        diff = (model.content(emb, contour=con2) - model.content(emb, contour=con)).abs().sum(-1)
    assert bool((diff[:, 4] > 0).all()) and float(diff[:, [0, 1, 2, 3, 5]].sum()) == 0.0
    mel, lens, style = torch.randn(2, 80, 24), torch.tensor([24, 20]), torch.randn(2, 8)
    g = [torch.Generator().manual_seed(1) for _ in range(2)]
    a = model.loss(emb, mel, lens, style, prompt_lens=torch.tensor([8, 8]), generator=g[0], contour=con)
    b = model.loss(emb, mel, lens, style, prompt_lens=torch.tensor([8, 8]), generator=g[1], contour=2 * con)
    assert a.item() != b.item()
    with pytest.raises(ConfigError, match="contour"):
        model.content(emb, contour=torch.zeros(2, 5, len(CONTOUR)))
    with pytest.raises(ConfigError, match="contour"):
        plain.content(emb, contour=con)
    with pytest.raises(ConfigError, match="contour_dim"):
        S2MConfig(contour_dim=-1)


def test_batches_carry_each_codes_measured_contour(tmp_path):
    from voxsmith.train.prosody import contour, prosody_cache, speaker_offsets
    from voxsmith.train.s2m import S2MData, S2MTrainConfig

    corpus, _, _ = make_coded_corpus(tmp_path)
    data = S2MData(corpus, "train", contour=True)
    assert set(data.contours) == set(data.keep)
    per_code = prosody_cache(corpus, "train")
    base = speaker_offsets(per_code, [data.data.clips[k].row for k in data.keep])
    k = data.keep[0]
    row = data.data.clips[k].row
    assert np.array_equal(data.contours[k], contour(per_code[row["id"]], base[row["speaker"]]))
    assert not np.isnan(data.contours[k]).any()
    cfg = S2MTrainConfig(batch_size=4, crop_codes=12, cross_prompt=0.5)
    b = data.batch(np.random.default_rng(3), cfg, 8)
    assert b.contour is not None and b.contour.shape == (*b.codes.shape, len(CONTOUR))
    assert float(b.contour.abs().sum()) > 0  # the tones' pitches differ from their speaker's median
    # a self-prompted crop's contour is its clip's contour at the same codes
    cfg.cross_prompt = 0.0
    b = data.batch(np.random.default_rng(4), cfg, 8)
    rng = np.random.default_rng(4)
    k = data.keep[int(rng.integers(len(data.keep)))]
    n_codes = min(len(data.codes[k]), data.data.clip_mel(k).shape[1] // 4)
    n = min(12, n_codes)
    rng.uniform(cfg.prompt_min, cfg.prompt_max)
    s = int(rng.integers(0, n_codes - n + 1))
    assert torch.equal(b.codes[0, :n], torch.from_numpy(data.codes[k][s : s + n].astype(np.int64)))
    want = np.zeros((n, len(CONTOUR)), np.float32)
    part = data.contours[k][s : s + n]
    want[: len(part)] = part
    assert torch.equal(b.contour[0, :n], torch.from_numpy(want))
    assert S2MData(corpus, "train").batch(np.random.default_rng(1), cfg, 8).contour is None


def test_the_contour_head_drives_s2m_and_an_emotion_moves_it(tmp_path):
    from voxsmith.models.prosody import s2m_share
    from voxsmith.pipeline import IndexTTSModel

    root = make_random_model(tmp_path / "m", gpt_latents=True, prosody=True, contour=True)
    model = IndexTTSModel.from_pretrained(root)
    p = model.parts
    assert p.contour is not None and p.s2m.cfg.contour_dim == len(CONTOUR)
    torch.nn.init.normal_(p.s2m.models["contour_layer"].weight)
    spk = model.speaker_encoder(Audio(make_tone(4.0, freq=180.0), 22050))
    codes = torch.arange(12) % p.codec.cfg.codebook_size
    ids = [5, 6, 7, 8]
    base = p.codes_to_mel(codes, spk, text_ids=ids, seed=1)
    assert torch.equal(base, p.codes_to_mel(codes, spk, text_ids=ids, emo_vec=spk.emo_vec, seed=1))
    latent = p.gpt_latent(codes.unsqueeze(0), spk, ids, None, None)
    own = p.prosody_contour(latent, spk, spk.emo_vec)
    assert own is not None and torch.allclose(own, p.contour(latent))  # own emotion: contour as predicted
    happy = model._emotion_vector(spk, model.emotion_encoder.preset("happy"))
    moved = p.prosody_contour(latent, spk, happy)
    offset = p.prosody.offset(happy, spk.emo_vec)
    assert torch.allclose(moved, p.contour.shift(p.contour(latent), s2m_share(offset)))
    # loudness goes onto S2M's output, not into its contour
    assert torch.allclose(moved[..., 1], p.contour(latent)[..., 1])
    assert not torch.allclose(moved[..., 0], p.contour(latent)[..., 0])
    p.contour.bias = p.contour.bias + torch.tensor([1.0, 0.0])  # a higher predicted contour changes the mel
    assert not torch.allclose(base, p.codes_to_mel(codes, spk, text_ids=ids, seed=1))


def test_a_contour_reading_s2m_without_its_head_fails_to_load(tmp_path):
    from voxsmith.checkpoints import load_safetensors, save_safetensors
    from voxsmith.pipeline import IndexTTSModel

    root = make_random_model(tmp_path / "m", gpt_latents=True, prosody=True, contour=True)
    tensors, config, _ = load_safetensors(root / "emotion.safetensors", kind="emotion_matrix")
    assert {"contour_weight", "contour_bias", "contour_spread"} <= set(tensors)
    kept = {k: v for k, v in tensors.items() if not k.startswith("contour_")}
    save_safetensors(kept, root / "emotion.safetensors", kind="emotion_matrix", config=config)
    with pytest.raises(CheckpointError, match="contour head"):
        IndexTTSModel.from_pretrained(root)
