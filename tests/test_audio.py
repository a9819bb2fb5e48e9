from __future__ import annotations

import io

import librosa
import numpy as np
import pytest
import soundfile as sf
import torch

from tests.helpers import make_tone
from voxsmith.audio import Audio, AudioProcessor, MelConfig
from voxsmith.errors import AudioError


def reference_mel(x: np.ndarray, cfg: MelConfig) -> np.ndarray:
    """Independent mel: numpy framing + rfft, librosa filters (float64)."""
    pad = (cfg.n_fft - cfg.hop_length) // 2
    xp = np.pad(x.astype(np.float64), (pad, pad), mode="reflect")
    n_frames = (len(xp) - cfg.n_fft) // cfg.hop_length + 1
    win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(cfg.win_length) / cfg.win_length)  # periodic Hann
    frames = np.stack(
        [xp[i * cfg.hop_length : i * cfg.hop_length + cfg.n_fft] * win for i in range(n_frames)]
    )
    spec = np.fft.rfft(frames, axis=1)
    mag = np.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    fb = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
    )
    return np.log(np.maximum(fb.astype(np.float64) @ mag.T, cfg.clamp))


def test_mel_matches_independent_reference():
    rng = np.random.default_rng(1)
    x = make_tone(1.5) + 0.01 * rng.standard_normal(int(1.5 * 22050)).astype(np.float32)
    ours = AudioProcessor.mel(x).squeeze(0).double().numpy()
    ref = reference_mel(x, MelConfig())
    assert ours.shape == ref.shape == (80, (len(x) + 768 - 1024) // 256 + 1)
    assert np.max(np.abs(ours - ref)) < 1e-4


def test_mel_batch_equals_single():
    x = np.stack([make_tone(1.0, freq=150), make_tone(1.0, freq=300)])
    batch = AudioProcessor.mel(x)
    assert batch.shape[0] == 2
    assert torch.allclose(batch[1], AudioProcessor.mel(x[1])[0], atol=1e-5)


@pytest.mark.parametrize("ext", [".wav", ".flac", ".ogg", ".mp3"])
def test_load_formats_stereo_and_resample(tmp_path, ext):
    sr = 44100
    mono = make_tone(1.2, sr=sr)
    stereo = np.stack([mono, 0.5 * mono], axis=1)
    path = tmp_path / f"x{ext}"
    sf.write(path, stereo, sr)
    audio = AudioProcessor.load(path, sr=22050)
    assert isinstance(audio, Audio) and audio.sample_rate == 22050
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert abs(audio.seconds - 1.2) < 0.08  # mp3 adds encoder padding
    assert np.max(np.abs(audio.samples)) == pytest.approx(0.75 * np.max(np.abs(mono)), rel=0.1)


def test_load_bytes_and_file_object(tmp_path):
    buf = io.BytesIO()
    sf.write(buf, make_tone(1.0), 22050, format="WAV")
    a = AudioProcessor.load(buf.getvalue())
    buf.seek(0)
    b = AudioProcessor.load(buf)
    assert np.array_equal(a.samples, b.samples)


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "not found"),
        (b"", "empty"),
        (b"RIFF\x00\x00garbage-not-audio" * 4, "cannot decode"),
    ],
)
def test_load_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.wav"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(AudioError, match=message) as info:
        AudioProcessor.load(path)
    assert "bad.wav" in str(info.value)


def test_load_silent_nonfinite_and_short(tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050, dtype=np.float32), 22050)
    with pytest.raises(AudioError, match="silent"):
        AudioProcessor.load(silent)
    nan = tmp_path / "nan.wav"
    x = make_tone(1.0)
    x[100] = np.nan
    sf.write(nan, x, 22050, subtype="FLOAT")
    with pytest.raises(AudioError, match="NaN"):
        AudioProcessor.load(nan)
    short = tmp_path / "short.wav"
    sf.write(short, make_tone(0.5), 22050)
    with pytest.raises(AudioError, match="too short"):
        AudioProcessor.load(short, min_seconds=1.0)
    empty = tmp_path / "zero.wav"
    sf.write(empty, np.zeros(0, dtype=np.float32), 22050)
    with pytest.raises(AudioError):
        AudioProcessor.load(empty)


def test_save_is_atomic_and_round_trips(tmp_path, monkeypatch):
    x = make_tone(1.0)
    out = AudioProcessor.save(Audio(x, 22050), tmp_path / "a.wav")
    back = AudioProcessor.load(out)
    assert back.sample_rate == 22050 and np.max(np.abs(back.samples - x)) < 1e-3
    flac = AudioProcessor.save(torch.from_numpy(x), tmp_path / "b.flac", 22050)
    assert AudioProcessor.load(flac).samples.shape == x.shape
    # a failing write leaves neither a partial target nor a temp file behind
    target = tmp_path / "c.wav"

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sf, "write", boom)
    with pytest.raises(OSError):
        AudioProcessor.save(Audio(x, 22050), target)
    assert not target.exists()
    assert {p.name for p in tmp_path.iterdir()} == {"a.wav", "b.flac"}


def test_save_rejects_bad_audio(tmp_path):
    with pytest.raises(AudioError, match="empty"):
        AudioProcessor.save(np.zeros(0), tmp_path / "e.wav")
    with pytest.raises(AudioError, match="format"):
        AudioProcessor.save(make_tone(0.5), tmp_path / "e.mp4")
    assert not any(tmp_path.iterdir())


def test_prepare_reference_trims_normalises_and_truncates(caplog):
    sr = 22050
    speech = make_tone(20.0, sr=sr, amp=0.05)
    x = np.concatenate([np.zeros(sr, dtype=np.float32), speech, np.zeros(sr, dtype=np.float32)])
    with caplog.at_level("WARNING"):
        ref = AudioProcessor.prepare_reference(Audio(x, sr))
    assert ref.seconds == pytest.approx(15.0, abs=1e-3)
    assert "truncated" in caplog.text
    first_sound = int(np.flatnonzero(np.abs(ref.samples) > 1e-3)[0])
    assert first_sound < int(0.08 * sr)  # the 1 s of leading silence is cut to the 50 ms pad
    rms_db = 20 * np.log10(np.sqrt(np.mean(ref.samples**2)))
    assert abs(rms_db - -20.0) < 1.0


def test_prepare_reference_too_short_after_trim():
    sr = 22050
    x = np.concatenate([np.zeros(2 * sr, dtype=np.float32), make_tone(0.4, sr=sr)])
    with pytest.raises(AudioError, match="at least 1 s"):
        AudioProcessor.prepare_reference(Audio(x, sr), name="ref.wav")
