"""Timbre match: the reference's broad envelope onto S2M's output."""

from __future__ import annotations

import pytest
import torch

from tests.helpers import make_random_model
from voxsmith.errors import CheckpointError
from voxsmith.models.envelope import match_envelope, smooth, speech_frames, speech_log_power, speech_mean
from voxsmith.models.prosody import band_slope


def _mels():
    g = torch.Generator().manual_seed(0)
    out = torch.randn(80, 120, generator=g) * 0.3 - 4.0
    bins = torch.linspace(0.0, 1.0, 80)
    broad = 1.5 * torch.sin(3.1 * bins) - 0.8 * bins  # a voice's envelope: slow across the bins
    prompt = torch.randn(80, 200, generator=g) * 0.3 - 4.0 + broad[:, None] + 0.7  # also 0.7 louder
    return out, prompt, broad


def test_match_moves_the_broad_envelope_toward_the_prompt_and_keeps_the_level():
    out, prompt, broad = _mels()
    assert match_envelope(out, prompt, 0.0) is out
    before = speech_mean(prompt) - speech_mean(out)
    matched = match_envelope(out, prompt, 1.0)
    after = speech_mean(prompt) - speech_mean(matched)
    centred = lambda v: v - v.mean()  # noqa: E731
    assert centred(after).abs().mean() < 0.25 * centred(before).abs().mean()
    # loudness left alone: the speech power is the same, although the shape moved
    assert float(speech_log_power(matched)) == pytest.approx(float(speech_log_power(out)), abs=1e-4)
    half = speech_mean(prompt) - speech_mean(match_envelope(out, prompt, 0.5))
    assert centred(after).abs().mean() < centred(half).abs().mean() < centred(before).abs().mean()
    # every frame moves by the same per-bin constant: dynamics stay as S2M made them
    d = matched - out
    assert torch.allclose(d, d[:, :1].expand_as(d), atol=1e-5)


def test_a_brighter_output_pulled_darker_is_not_made_louder():
    """Lifting the low bins (where the power is) and lowering the high ones by the same amount in
    logs would raise the power; the match offsets that away."""
    bins = torch.linspace(0.0, 1.0, 80)
    out = (-2.0 - 3.0 * bins)[:, None] + 0.1 * bins[:, None] * torch.ones(80, 50)  # falls with frequency
    prompt = out - 1.0 * (bins - 0.5)[:, None]  # darker: more low, less high, same mean in logs
    matched = match_envelope(out, prompt, 1.0)
    assert float(speech_log_power(matched)) == pytest.approx(float(speech_log_power(out)), abs=1e-4)
    assert float((matched - out)[0, 0]) > float((matched - out)[-1, 0])  # the low bins gained on the high


def test_smoothing_keeps_slow_shapes_and_drops_fine_detail():
    bins = torch.arange(80, dtype=torch.float32)
    slow = torch.cos(torch.pi * (bins + 0.5) * 3 / 80)
    fine = torch.cos(torch.pi * (bins + 0.5) * 60 / 80)
    assert torch.allclose(smooth(slow), slow, atol=1e-4)
    assert smooth(fine).abs().max() < 1e-4
    assert smooth(torch.full((80,), 2.0)).abs().max() < 1e-5  # the mean is left out


def test_the_matchs_tilt_share_is_its_own():
    """``tilt=0`` moves the envelope's shape toward the prompt's but leaves its slope over the tilt
    band (what an emotion's tilt sets) as S2M made it; ``tilt=1`` takes the prompt's slope whatever
    the strength; by default the tilt follows the strength."""
    out, prompt, _ = _mels()
    bins = torch.linspace(0.0, 1.0, 80)
    prompt = prompt - 2.0 * bins[:, None]  # a darker reference
    slope = lambda m: band_slope(speech_frames(m).mean(dim=1))  # noqa: E731
    full, flat = match_envelope(out, prompt, 1.0), match_envelope(out, prompt, 1.0, tilt=0.0)
    assert slope(full) < slope(out) - 0.1  # pulled darker
    assert slope(flat) == pytest.approx(slope(out), abs=1e-4)  # the slope kept
    half = match_envelope(out, prompt, 0.5)
    assert slope(half) == pytest.approx(0.5 * (slope(full) + slope(out)), abs=1e-3)
    pinned = match_envelope(out, prompt, 0.5, tilt=1.0)
    assert slope(pinned) == pytest.approx(slope(full), abs=1e-3)  # the prompt's slope at half strength
    assert torch.equal(match_envelope(out, prompt, 0.0, tilt=0.0), out)
    tilt_only = match_envelope(out, prompt, 0.0, tilt=1.0)
    assert slope(tilt_only) == pytest.approx(slope(full), abs=1e-3)
    centred = lambda v: v - v.mean()  # noqa: E731
    before = centred(speech_mean(prompt) - speech_mean(out)).abs().mean()
    assert centred(speech_mean(prompt) - speech_mean(flat)).abs().mean() < before  # the shape still moved
    for m in (flat, pinned, tilt_only):
        assert float(speech_log_power(m)) == pytest.approx(float(speech_log_power(out)), abs=1e-4)


def test_settings_are_overridden_as_a_card_checks_them(tmp_path):
    from voxsmith.models.parts import override_settings
    from voxsmith.pipeline import IndexTTSModel

    parts = IndexTTSModel.from_pretrained(make_random_model(tmp_path / "m")).parts
    cfg = parts.cfg_rate
    assert override_settings(parts, {"timbre_match": 0.3, "cfg_rate": None}, "here") == {"timbre_match": 0.3}
    assert parts.timbre_match == 0.3 and parts.cfg_rate == cfg
    with pytest.raises(CheckpointError, match="here: timbre_match_tilt"):
        override_settings(parts, {"timbre_match": 0.7, "timbre_match_tilt": 2.0}, "here")
    assert parts.timbre_match == 0.3  # nothing set from a refused override
