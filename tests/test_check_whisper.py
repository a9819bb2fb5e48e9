"""The checker's Whisper frontend: encoder states as the recogniser's input, one encoder pass
shared with the content check, and the recipe's state cache."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers import make_fake_corpus, make_tone
from voxsmith.audio import SAMPLE_RATE, Audio
from voxsmith.check.checker import PronunciationChecker
from voxsmith.check.config import Calibration, CheckerConfig
from voxsmith.check.content import ContentChecker
from voxsmith.check.model import PronRecognizer, load_checker, save_checker
from voxsmith.check.whisper_features import n_frames, whisper_features
from voxsmith.errors import CheckpointError
from voxsmith.eval.asr import AsrJudge
from voxsmith.eval.whisper import WhisperBackend, WhisperConfig
from voxsmith.models.units import UNITS
from voxsmith.train.checker import CheckerTrainConfig, train_checker
from voxsmith.train.whisper_states import cache_dir


@pytest.fixture(scope="module")
def backend() -> WhisperBackend:
    return WhisperBackend(WhisperConfig(beam_size=1, fit_window=True, threads=1))


def test_states_have_fifty_frames_a_second_and_repeat(backend):
    clip = make_tone(2.3, freq=180.0)
    states = whisper_features(clip, backend)
    assert states.shape == (512, n_frames(len(clip))) == (512, 115)
    assert torch.equal(states, whisper_features(clip, backend))
    # silence and a tone differ: the states follow the audio
    quiet = whisper_features(np.zeros_like(clip), backend)
    assert (states - quiet).abs().mean() > 0.1


def test_long_clips_are_encoded_piece_by_piece(backend):
    clip = make_tone(31.0, freq=150.0)
    states = whisper_features(clip, backend)
    assert states.shape == (512, 1550)
    head = whisper_features(clip[: 28 * SAMPLE_RATE], backend)  # the first piece alone
    other = whisper_features(make_tone(28.0, freq=300.0), backend)
    # the same up to the resampler's edge (attention spreads it): far closer than another clip
    assert (states[:, :1400] - head).abs().mean() < 0.2 * (other - head).abs().mean()


def test_content_check_reuses_the_encoder_pass(backend):
    """The fitted decode of a clip whose states were just computed does not encode again."""
    clip = make_tone(3.0, freq=200.0)
    whisper_features(clip, backend)
    first = backend._encoded
    assert first is not None
    ContentChecker(AsrJudge(backend)).check(Audio(clip, SAMPLE_RATE), "你好")
    assert backend._encoded is first  # same key, same states object
    whisper_features(make_tone(3.0, freq=260.0), backend)
    assert backend._encoded is not first  # another clip: encoded anew


def test_whisper_recogniser_shapes_pitch_grid_and_round_trip(tmp_path):
    cfg = CheckerConfig.whisper()
    assert cfg.in_channels == 515 and cfg.downsample == 1
    model = PronRecognizer(cfg).eval()
    x = torch.randn(1, 515, 60)
    logits, lens = model(x)
    assert logits.shape == (1, 60, len(UNITS)) and lens.tolist() == [60]
    padded, _ = model(torch.cat([x, torch.randn(1, 515, 7)], -1), torch.tensor([60]))
    assert torch.allclose(padded[:, :60], logits, atol=1e-4)  # padding does not leak
    clip = make_tone(1.3, freq=220.0)
    pitch = model.pitch_track(clip)
    assert pitch.shape == (3, 2 * n_frames(len(clip)))  # two pitch frames per output frame
    assert model.combine(torch.zeros(512, n_frames(len(clip))), pitch).shape == (515, 65)
    path = save_checker(model, Calibration(fitted=True), tmp_path / "w.safetensors")
    loaded, _, _ = load_checker(path)
    assert loaded.cfg.frontend == "whisper"
    assert torch.allclose(loaded(x)[0], logits, atol=0.05)  # fp16 weights
    with pytest.raises(CheckpointError, match="frontend"):
        CheckerConfig.from_dict({**cfg.to_dict(), "frontend": "wav2vec"})
    assert CheckerConfig.from_dict(
        {k: v for k, v in CheckerConfig.tiny().to_dict().items() if k != "frontend"}
    ) == (CheckerConfig.tiny())  # files from before the option are log-mel checkers


def test_checker_gives_the_recogniser_the_content_checks_backend(backend):
    model = PronRecognizer(CheckerConfig.whisper())
    checker = PronunciationChecker(model, Calibration(), content=ContentChecker(AsrJudge(backend)))
    assert checker.model.whisper is backend
    report = checker.check(Audio(make_tone(1.5), SAMPLE_RATE), "银行")
    assert [s.expected for s in report.syllables] == ["yin2", "hang2"]


def test_whisper_recipe_caches_states_and_resumes(tmp_path, monkeypatch):
    make_fake_corpus(tmp_path / "corpus")
    cfg = CheckerTrainConfig(
        steps=6,
        max_batch_frames=1200,
        warmup=1,
        log_every=2,
        val_every=3,
        threads=1,
        swap_minutes=0,
        voice_minutes=0,
    )
    size = CheckerConfig(frontend="whisper", conv_dim=16, conv_layers=2, dropout=0.0)
    path = train_checker(tmp_path / "corpus", tmp_path / "run", cfg, size)
    model, _, _ = load_checker(path)
    assert model.cfg.frontend == "whisper"
    from voxsmith.train.data import CorpusData

    shards = sorted(cache_dir(CorpusData(tmp_path / "corpus", "train")).glob("shard_*.pt"))
    assert shards
    stamp = [s.stat().st_mtime_ns for s in shards]
    # resuming encodes nothing again: the encoder is not even called
    monkeypatch.setattr(
        "voxsmith.train.whisper_states.whisper_features", lambda *a, **k: pytest.fail("encoded twice")
    )
    cfg.steps = 9
    train_checker(tmp_path / "corpus", tmp_path / "run", cfg, size)
    assert [s.stat().st_mtime_ns for s in shards] == stamp
    rows = [json.loads(x) for x in (tmp_path / "run" / "losses.jsonl").read_text().splitlines()]
    assert max(r["step"] for r in rows) == 9


def test_built_in_checker_hears_yinhang_read_right_and_wrong():
    """The shipped checker end to end on real speech: 他在银行工作。 read by a held-out voice
    (tests/data/audio: the corpus engine, ttskit + the WORLD timbre of bi-biaobei-rms, from
    toned pinyin with 行 as hang2 and as xing2; 16 kHz FLAC)."""
    from pathlib import Path

    data = Path(__file__).parent / "data" / "audio"
    checker = PronunciationChecker.load()
    assert checker.model.cfg.frontend == "whisper" and checker.calibration.fitted
    right = checker.check(data / "yinhang_correct.flac", "他在银行工作。")
    assert right.ok and right.content.cer == 0.0
    _, wrong = checker.pronunciation(data / "yinhang_wrong.flac", "他在银行工作。")
    hang = next(s for s in wrong if s.text == "行")
    assert not hang.ok and hang.heard == "xing2" and hang.margin is not None and hang.margin < -5
    assert all(s.ok for s in wrong if s.text != "行")
