"""The pitch tone judge (voxsmith.check.tone): contour features, learning tones across
voices, its weight in candidate scores, its place in the checker file and decisions."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from voxsmith.audio import Audio
from voxsmith.check.checker import PronunciationChecker
from voxsmith.check.config import Calibration, CheckerConfig
from voxsmith.check.expected import ExpectedToken, expected_tokens
from voxsmith.check.gop import TokenScore
from voxsmith.check.model import PronRecognizer, load_checker, save_checker
from voxsmith.check.pitch import pitch_features
from voxsmith.check.tone import (
    N_FEATURES,
    ToneJudge,
    contour_features,
    fit_tone_judge,
    syllable_regions,
    token_features,
    tone_of,
)
from voxsmith.errors import CheckpointError

SR = 22050
SYL = 0.3  # seconds per synthetic syllable
# f0 path of each tone relative to the voice's base: (start, middle, end)
SHAPES = {1: (1.3, 1.3, 1.3), 2: (0.95, 1.05, 1.35), 3: (0.85, 0.72, 0.85), 4: (1.4, 1.1, 0.8)}


def voiced(f0: np.ndarray) -> np.ndarray:
    """A voice following the per-sample f0 track (fundamental and a weak second harmonic)."""
    phase = 2 * np.pi * np.cumsum(f0) / SR
    return (0.3 * np.sin(phase) + 0.1 * np.sin(2 * phase)).astype(np.float32)


def sentence(base: float, tones: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Audio of syllables in ``tones`` and their peaky (CTC-like) spans at 43 Hz."""
    n = int(SYL * SR)
    tracks = [np.interp(np.arange(n), [0, n // 2, n - 1], [base * v for v in SHAPES[t]]) for t in tones]
    audio = voiced(np.concatenate(tracks))
    per = SYL * SR / 256 / 2  # recogniser frames per syllable
    spans = np.array([[int(k * per + 0.4 * per), int(k * per + 0.6 * per)] for k in range(len(tones))])
    return audio, spans


def features_of(base: float, tones: list[int]) -> np.ndarray:
    audio, spans = sentence(base, tones)
    pitch = pitch_features(audio)
    tokens = [ExpectedToken("zh", "妈", f"ma{t}", ("m", f"a{t}")) for t in tones]
    return token_features(pitch, spans, (pitch.shape[1] + 1) // 2, tokens)


def test_regions_reach_between_the_neighbours():
    spans = np.array([[3, 4], [10, 11], [20, 20]])
    assert syllable_regions(spans, 30).tolist() == [[0, 9], [5, 19], [12, 25]]
    assert tone_of("hang2") == 2 and tone_of("ma5") == 5 and tone_of("m") == 5


def test_contour_features_follow_the_pitch():
    rise, fall, flat = (features_of(150.0, [t])[0] for t in (2, 4, 1))
    assert rise[4] > rise[0] + 0.2 and rise[12] > 0  # end above start (octaves), positive slope
    assert fall[4] < fall[0] - 0.4 and fall[12] < 0
    assert abs(flat[4] - flat[0]) < 0.05 and flat[13] == 1.0 and flat[11] > 0.9
    assert rise[5] == pytest.approx(rise[0] / max(0.05, float(np.std(rise[:5]))), rel=0.5)  # spread-scaled
    # neighbours: the previous syllable's end and the next's start, and their tones one-hot
    f = features_of(150.0, [2, 4, 1])
    assert f[1, 14] == pytest.approx(f[0, 4]) and f[1, 17] == pytest.approx(f[2, 0])
    assert f[1, 20 + 2] == 1 and f[1, 26 + 1] == 1 and f[0, 20] == 1 and f[2, 26] == 1
    silent = contour_features(torch.zeros(3, 40), np.array([[0, 19]]), [1])
    assert silent.shape == (1, N_FEATURES) and silent[0, 13] == 0  # no contour: flag off


def test_judge_learns_tones_that_carry_over_to_an_unheard_voice():
    rng = np.random.default_rng(0)
    feats, tones = [], []
    for base in (100.0, 125.0, 150.0):  # training voices
        for _ in range(30):
            seq = [int(t) for t in rng.integers(1, 5, size=5)]
            feats.append(features_of(base * rng.uniform(0.95, 1.05), seq))
            tones += seq
    judge, train_acc = fit_tone_judge(np.concatenate(feats), np.array(tones), seed=0)
    assert train_acc > 0.9
    test_seq = [int(t) for t in rng.integers(1, 5, size=40)]
    lp = judge.log_probs(features_of(230.0, test_seq))  # a voice far above the training ones
    assert lp.shape == (40, 5) and np.allclose(np.exp(lp).sum(1), 1, atol=1e-5)
    assert (lp.argmax(1) + 1 == np.array(test_seq)).mean() >= 0.8
    with pytest.raises(ValueError, match="at least 50 syllables"):
        fit_tone_judge(np.zeros((10, N_FEATURES)), np.ones(10))


def test_tone_weight_moves_only_rivals_in_another_tone():
    ts = TokenScore("zhong3", ("zhong4", "chong3"))
    ts.lls = {"zhong3": -5.0, "zhong4": -4.0, "chong3": -4.5}
    assert ts.margin("zhong3", ["zhong4"]) == pytest.approx(-1.0)
    ts.tone_lp = np.log(np.array([0.05, 0.05, 0.8, 0.05, 0.05]))
    ts.tone_weight = 1.0
    assert ts.margin("zhong3", ["zhong4"]) == pytest.approx(-1.0 + np.log(16))  # pitch says tone 3
    assert ts.margin("zhong3", ["chong3"]) == pytest.approx(-0.5)  # same tone: pitch has no say
    assert ts.best(["zhong3", "zhong4"]) == "zhong3"


def test_checker_file_carries_the_judge():
    model = PronRecognizer(CheckerConfig.debug())
    torch.manual_seed(0)
    judge = ToneJudge(hidden=8)
    judge.mean.copy_(torch.randn(N_FEATURES))
    x = np.random.default_rng(0).normal(size=(6, N_FEATURES)).astype(np.float32)
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        path = save_checker(model, Calibration(tone_weight=2.0), Path(tmp) / "c.safetensors", judge)
        _, cal, loaded = load_checker(path)
        assert cal.tone_weight == 2.0 and loaded is not None and loaded.hidden == 8
        np.testing.assert_allclose(loaded.log_probs(x), judge.log_probs(x), atol=2e-2)  # fp16 file
        plain = save_checker(model, Calibration(), Path(tmp) / "p.safetensors")
        assert load_checker(plain)[2] is None
        from voxsmith.checkpoints import save_safetensors

        tensors = {**model.state_dict(), **{f"tone_judge.{k}": v for k, v in judge.state_dict().items()}}
        config = {
            "model": model.cfg.to_dict(),
            "units": __import__("voxsmith.models.units").models.units.UNITS,
        }
        bad = save_safetensors(tensors, Path(tmp) / "b.safetensors", kind="pron_checker", config=config)
        with pytest.raises(CheckpointError, match="without their config"):
            load_checker(bad)


class FixedJudge(ToneJudge):
    """A judge that always hears ``tone``."""

    def __init__(self, tone: int):
        super().__init__(hidden=4)
        self.tone = tone

    def log_probs(self, feats):
        p = np.full((len(feats), 5), 0.01)
        p[:, self.tone - 1] = 0.96
        return np.log(p)


class PosteriorChecker(PronunciationChecker):
    def __init__(self, lp, **kwargs):
        super().__init__(PronRecognizer(CheckerConfig.debug()), **kwargs)
        self.lp = lp

    def log_probs(self, audio, pitch=None):
        return self.lp


def test_decisions_weigh_the_judge_by_the_calibrated_weight():
    from tests.test_check import said

    text = "数"  # shu3 (count) or shu4 (number)
    _, tokens = expected_tokens(text)
    reading = tokens[0].reading
    rival = next(a for a in tokens[0].alternatives if a[:-1] == reading[:-1])
    clip = Audio(sentence(150.0, [tone_of(reading)])[0], SR)
    lp = said([reading])
    cal = dict(poly_threshold=0.0, poly_scale=1.0, syl_threshold=0.0, syl_scale=1.0, fitted=True)
    off = PosteriorChecker(lp, calibration=Calibration(**cal), tone_judge=FixedJudge(tone_of(rival)))
    on = PosteriorChecker(
        lp, calibration=Calibration(**cal, tone_weight=10.0), tone_judge=FixedJudge(tone_of(rival))
    )
    agree = PosteriorChecker(
        lp, calibration=Calibration(**cal, tone_weight=10.0), tone_judge=FixedJudge(tone_of(reading))
    )
    assert off.check(clip, text, content=False).ok  # weight 0: the recogniser alone decides
    flagged = on.check(clip, text, content=False).syllables[0]
    assert not flagged.ok and flagged.heard == rival  # pitch outweighs a clear recogniser
    assert agree.check(clip, text, content=False).syllables[0].confidence > 0.99
