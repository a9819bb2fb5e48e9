"""Conformer encoder and Perceiver resampler at tiny sizes."""

from __future__ import annotations

import math

import pytest
import torch

from voxsmith.errors import AudioError, ConfigError
from voxsmith.models.conformer import ConformerConfig, ConformerEncoder, RelPositionAttention, sinusoid_table
from voxsmith.models.perceiver import PerceiverResampler


def _encoder(**kw) -> ConformerEncoder:
    cfg = ConformerConfig(
        input_size=20, output_size=16, attention_heads=2, linear_units=32, num_blocks=2, **kw
    )
    return ConformerEncoder(cfg).eval()


def test_conv2d2_subsampling_shapes_and_mask():
    enc = _encoder()
    x = torch.randn(2, 37, 20)
    y, valid = enc(x, torch.tensor([37, 31]))
    assert y.shape == (2, 18, 16)  # (37 - 1) // 2
    assert valid.shape == (2, 1, 18)
    assert valid[0].all() and valid[1, 0, :15].all() and not valid[1, 0, 15:].any()


def test_lengths_beyond_t_mean_all_valid():
    enc = _encoder()
    x = torch.randn(1, 25, 20)
    a, _ = enc(x, torch.tensor([1024]))  # the official inference passes the feature size as length
    b, _ = enc(x, None)
    torch.testing.assert_close(a, b)


def test_padding_content_does_not_reach_real_frames():
    # as in the official module, real frames see *that* there is padding (GLU bias, conv edges)
    # but never *what* is in it: attention masks it and the convolution module zeroes it
    enc = _encoder()
    real = torch.randn(1, 21, 20)
    a = torch.cat([real, 5 * torch.randn(1, 12, 20)], dim=1)
    b = torch.cat([real, -3 * torch.randn(1, 12, 20)], dim=1)
    out, valid = enc(torch.cat([a, b]), torch.tensor([21, 21]))
    n = int(valid[0].sum())
    assert n == (21 - 1) // 2
    torch.testing.assert_close(out[0, :n], out[1, :n])
    assert not torch.allclose(out[0, n:], out[1, n:])


def test_pe_is_a_persistent_sinusoid_buffer():
    enc = _encoder(max_positions=50)
    pe = enc.state_dict()["embed.pos_enc.pe"]
    assert pe.shape == (1, 50, 16)
    assert math.isclose(float(pe[0, 3, 0]), math.sin(3.0), abs_tol=1e-6)
    assert math.isclose(float(pe[0, 3, 1]), math.cos(3.0), abs_tol=1e-6)
    torch.testing.assert_close(pe, sinusoid_table(50, 16))


def test_rel_pos_attention_matches_the_explicit_formula():
    torch.manual_seed(1)
    att = RelPositionAttention(heads=2, dim=8, dropout=0.0).eval()
    x, pos = torch.randn(2, 5, 8), torch.randn(1, 5, 8)
    mask = torch.tensor([[True] * 5, [True] * 3 + [False] * 2])
    got = att(x, pos, mask[:, None, None, :])
    # reference: ((q + u)·k + (q + v)·p) / sqrt(d), masked softmax, no relative shift
    q = att.linear_q(x).view(2, 5, 2, 4)
    k = att.linear_k(x).view(2, 5, 2, 4).transpose(1, 2)
    v = att.linear_v(x).view(2, 5, 2, 4).transpose(1, 2)
    p = att.linear_pos(pos).view(1, 5, 2, 4).transpose(1, 2)
    ac = (q + att.pos_bias_u).transpose(1, 2) @ k.transpose(-1, -2)
    bd = (q + att.pos_bias_v).transpose(1, 2) @ p.transpose(-1, -2)
    scores = ((ac + bd) / 2.0).masked_fill(~mask[:, None, None, :], float("-inf"))
    ref = att.linear_out((scores.softmax(-1) @ v).transpose(1, 2).reshape(2, 5, 8))
    torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)


def test_linear_front_end_keeps_frame_rate():
    y, valid = _encoder(input_layer="linear")(torch.randn(1, 9, 20))
    assert y.shape == (1, 9, 16) and valid.shape == (1, 1, 9)


def test_bad_inputs_raise_typed_errors():
    enc = _encoder()
    with pytest.raises(AudioError, match="at least 3"):
        enc(torch.randn(1, 2, 20))
    with pytest.raises(AudioError, match="expected features"):
        enc(torch.randn(1, 10, 19))
    with pytest.raises(ConfigError):
        ConformerConfig(output_size=10, attention_heads=3)
    with pytest.raises(ConfigError):
        ConformerConfig(input_layer="conv2d8")


def test_official_conformer_keys():
    keys = set(ConformerEncoder(ConformerConfig.tiny()).state_dict())
    for k in (
        "embed.conv.0.weight",
        "embed.out.0.weight",
        "embed.pos_enc.pe",
        "encoders.1.self_attn.pos_bias_u",
        "encoders.1.self_attn.linear_pos.weight",
        "encoders.1.conv_module.depthwise_conv.weight",
        "encoders.1.norm_final.bias",
        "after_norm.weight",
    ):
        assert k in keys


def test_perceiver_shapes_keys_and_mask():
    torch.manual_seed(0)
    per = PerceiverResampler(24, dim_context=16, num_latents=4, dim_head=8, heads=2, ff_mult=2).eval()
    assert per.layers[0][1][0].out_features == 2 * int(24 * 2 * 2 / 3)
    assert {
        "latents",
        "proj_context.weight",
        "layers.1.0.to_kv.weight",
        "layers.1.1.2.bias",
        "norm.gamma",
    } <= set(per.state_dict())
    ctx = torch.randn(1, 7, 16)
    alone = per(ctx)
    assert alone.shape == (1, 4, 24)
    padded = torch.cat([ctx, torch.randn(1, 3, 16)], dim=1)
    mask = torch.cat([torch.ones(1, 4 + 7, dtype=torch.bool), torch.zeros(1, 3, dtype=torch.bool)], dim=1)
    torch.testing.assert_close(per(padded, mask), alone, atol=1e-5, rtol=1e-5)
    # same width: no projection and no projection keys, as in the official module
    assert "proj_context.weight" not in PerceiverResampler(16, dim_context=16, num_latents=2).state_dict()
