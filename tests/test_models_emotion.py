"""Gradient reversal adversary and the emotion matrix."""

from __future__ import annotations

import pytest
import torch

from voxsmith.errors import ConfigError
from voxsmith.models.emotion import (
    EMOTIONS,
    OFFICIAL_COUNTS,
    EmotionMatrix,
    GradientReversal,
    SpeakerAdversary,
    normalize_weights,
    scale_weights,
)


def test_grl_is_identity_forward_and_flips_the_gradient():
    x = torch.randn(3, 4, requires_grad=True)
    w = torch.randn(3, 4)
    y = GradientReversal(scale=0.5)(x)
    assert torch.equal(y, x)
    (y * w).sum().backward()
    torch.testing.assert_close(x.grad, -0.5 * w)


def test_adversary_pushes_the_encoder_against_the_classifier():
    torch.manual_seed(0)
    enc = torch.nn.Linear(6, 8)
    adv = SpeakerAdversary(8, num_speakers=3, hidden=16)
    x, spk = torch.randn(5, 6), torch.tensor([0, 1, 2, 0, 1])
    adv.loss(enc(x), spk).backward()
    reversed_grad = enc.weight.grad.clone()
    enc.zero_grad()
    torch.nn.functional.cross_entropy(
        adv.classifier(torch.nn.functional.normalize(enc(x), dim=-1)), spk
    ).backward()
    torch.testing.assert_close(reversed_grad, -enc.weight.grad)
    assert adv.classifier[0].weight.grad is not None  # the classifier itself learns normally
    with pytest.raises(ConfigError):
        SpeakerAdversary(8, num_speakers=1)


def _matrix(style_dim: int = 4, dim: int = 6) -> EmotionMatrix:
    g = torch.Generator().manual_seed(0)
    rows = sum(OFFICIAL_COUNTS)
    return EmotionMatrix.from_official(
        torch.randn(rows, style_dim, generator=g), torch.randn(rows, dim, generator=g)
    )


def test_pick_takes_the_most_similar_style_row_per_category():
    m = _matrix()
    starts = [sum(OFFICIAL_COUNTS[:i]) for i in range(len(OFFICIAL_COUNTS))]
    target = m.style_rows[starts[1] + 5] * 3.0  # scale does not matter for cosine similarity
    picks = m.pick(target)
    assert len(picks) == len(EMOTIONS) and picks[1] == 5
    assert all(0 <= p < c for p, c in zip(picks, OFFICIAL_COUNTS, strict=True))
    a = m.pick(None, generator=torch.Generator().manual_seed(3))
    b = m.pick(None, generator=torch.Generator().manual_seed(3))
    assert a == b and all(0 <= p < c for p, c in zip(a, OFFICIAL_COUNTS, strict=True))


def test_mix_is_the_official_formula():
    m = _matrix()
    base = torch.randn(1, 6)
    style = torch.randn(4)
    w = torch.tensor([0.3, 0.0, 0.0, 0.0, 0.0, 0.0, 0.2, 0.1])
    rows = m.rows(m.pick(style))
    expected = (w[:, None] * rows).sum(0, keepdim=True) + (1 - w.sum()) * base
    torch.testing.assert_close(m.mix(w, base, style), expected)
    torch.testing.assert_close(
        m.mix(torch.zeros(8), base, style), base
    )  # no weight: the speaker's own emotion
    with pytest.raises(ConfigError, match="8 values"):
        m.mix([0.5] * 7, base, style)
    with pytest.raises(ConfigError, match=">= 0"):
        m.mix([-0.1] + [0.0] * 7, base, style)


def test_matrix_validation_and_clustering():
    with pytest.raises(ConfigError, match="counts sum"):
        EmotionMatrix(torch.zeros(10, 4), torch.zeros(10, 6))
    g = torch.Generator().manual_seed(1)
    labels = torch.arange(8).repeat_interleave(6)
    emovec = torch.randn(48, 6, generator=g) + labels[:, None].float() * 10
    m = EmotionMatrix.from_examples(torch.randn(48, 4, generator=g), emovec, labels, [2] * 8)
    assert m.counts == [2] * 8 and m.emotion_rows.shape == (16, 6)
    # every category's rows stay in that category's region
    assert torch.allclose(m.emotion_rows.mean(1).view(8, 2).mean(1) / 10, torch.arange(8.0), atol=0.3)


def test_official_weight_normalisation():
    torch.testing.assert_close(normalize_weights([0.2] + [0.0] * 7), torch.tensor([0.1875] + [0.0] * 7))
    assert float(normalize_weights([1.0] * 8).sum()) == pytest.approx(0.8)


def test_emo_alpha_scales_the_weights_as_officially():
    torch.testing.assert_close(scale_weights([0.5, 0.33333], 0.6), torch.tensor([0.3, 0.1999]))
    torch.testing.assert_close(scale_weights([0.5, 0.2], 1.7), torch.tensor([0.5, 0.2]))  # clamped to 1
    assert float(scale_weights([0.5], -1.0)[0]) == 0.0


def test_speaker_adversary_cannot_be_fooled_by_growing_the_norm():
    torch.manual_seed(0)
    adv = SpeakerAdversary(8, num_speakers=3, hidden=16)
    x = torch.randn(4, 8, requires_grad=True)
    ids = torch.tensor([0, 1, 2, 0])
    assert torch.allclose(adv.loss(x, ids), adv.loss(100 * x, ids), atol=1e-5)
    adv.loss(x, ids).backward()
    # the reversed gradient reaching the encoder has no component along the vector itself
    radial = (x.grad * x).sum(-1) / x.norm(dim=-1)
    assert radial.abs().max() < 1e-5 and x.grad.abs().max() > 1e-4
