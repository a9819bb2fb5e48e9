"""Audio I/O and the one mel definition every model stage shares.

``AudioProcessor`` is a namespace of static functions: nothing here holds state, so the
CLI, the server and the training code call the same functions.

Mel (DESIGN.md): 22050 Hz, n_fft 1024, win 1024, hop 256, 80 Slaney mel bins, fmin 0,
fmax 11025, ``center=False`` after a reflect pad of (n_fft-hop)/2 on each side,
magnitude ``sqrt(re^2 + im^2 + 1e-9)``, ``log(clamp(x, 1e-5))``.
"""

from __future__ import annotations

import io
import logging
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf
import torch

from voxsmith.errors import AudioError
from voxsmith.fileio import atomic_path

log = logging.getLogger(__name__)

SAMPLE_RATE = 22050
REFERENCE_MAX_SECONDS = 15.0
REFERENCE_MIN_SECONDS = 1.0
MAX_INPUT_SECONDS = 2 * 60 * 60  # refuse to decode more than two hours into memory
SILENCE_PEAK = 1e-4  # a clip whose peak is below this is treated as silence


@dataclass(frozen=True)
class MelConfig:
    """Parameters of the log-mel spectrogram (both model sizes use the same one)."""

    sample_rate: int = SAMPLE_RATE  # Hz
    n_fft: int = 1024  # FFT size in samples
    win_length: int = 1024  # Hann window length in samples
    hop_length: int = 256  # frame shift in samples (86.13 frames/s at 22050 Hz)
    n_mels: int = 80  # mel bins
    fmin: float = 0.0  # lowest mel edge, Hz
    fmax: float | None = 11025.0  # highest mel edge, Hz (None = Nyquist)
    clamp: float = 1e-5  # floor before the log


# the log-mel value of silence (and of padding): log of MelConfig.clamp
SILENCE_LOG_MEL = float(np.log(MelConfig.clamp))


class Audio(NamedTuple):
    """Mono float32 samples in [-1, 1] and their sample rate. Unpacks as ``samples, sr``."""

    samples: np.ndarray  # (T,) float32
    sample_rate: int

    @property
    def seconds(self) -> float:
        return len(self.samples) / float(self.sample_rate)


def _describe(src: str | os.PathLike | bytes | io.IOBase) -> str:
    if isinstance(src, bytes | bytearray):
        return f"<{len(src)} bytes>"
    if isinstance(src, io.IOBase):
        return "<stream>"
    return str(src)


def resample(samples: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample ``(T,)`` or ``(T, C)`` float audio with soxr (high quality)."""
    if sr_in == sr_out:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples, sr_in, sr_out, quality="HQ").astype(np.float32)


@lru_cache(maxsize=8)
def _mel_basis(cfg: MelConfig) -> torch.Tensor:
    import librosa

    fb = librosa.filters.mel(
        sr=cfg.sample_rate, n_fft=cfg.n_fft, n_mels=cfg.n_mels, fmin=cfg.fmin, fmax=cfg.fmax
    )
    return torch.from_numpy(fb).float()


@lru_cache(maxsize=8)
def _hann(win_length: int) -> torch.Tensor:
    return torch.hann_window(win_length)


class AudioProcessor:
    """Load, save, resample, clean up references and compute mels."""

    @staticmethod
    def load(
        src: str | os.PathLike | bytes | io.IOBase,
        sr: int | None = None,
        *,
        min_seconds: float = 0.0,
    ) -> Audio:
        """Read wav/flac/ogg/mp3 from a path, bytes or a file object.

        Mixes down to mono, resamples to ``sr`` (if given) and checks the content.
        Raises ``AudioError`` naming the source for a missing, unreadable, empty,
        non-finite or all-silent file, or one shorter than ``min_seconds``.
        """
        name = _describe(src)
        if isinstance(src, str | os.PathLike):
            path = Path(src)
            if not path.exists():
                raise AudioError(f"{name}: file not found")
            if path.is_dir():
                raise AudioError(f"{name}: is a directory, expected an audio file")
            if path.stat().st_size == 0:
                raise AudioError(f"{name}: file is empty (0 bytes)")
            handle: object = str(path)
        elif isinstance(src, bytes | bytearray):
            if len(src) == 0:
                raise AudioError("<bytes>: no audio data (0 bytes)")
            handle = io.BytesIO(bytes(src))
        else:
            handle = src
        try:
            info = sf.info(handle)
            if info.frames > MAX_INPUT_SECONDS * info.samplerate:
                raise AudioError(
                    f"{name}: {info.frames / info.samplerate:.0f} s of audio is more than the "
                    f"{MAX_INPUT_SECONDS // 3600} h this tool reads at once; split the file first"
                )
            if isinstance(handle, io.IOBase):
                handle.seek(0)
            data, file_sr = sf.read(handle, dtype="float32", always_2d=True)
        except AudioError:
            raise
        except Exception as exc:  # soundfile raises several types for corrupt input
            raise AudioError(f"{name}: cannot decode audio ({exc.__class__.__name__}: {exc})") from exc
        if data.size == 0:
            raise AudioError(f"{name}: contains no samples")
        samples = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
        if not np.all(np.isfinite(samples)):
            raise AudioError(f"{name}: contains NaN or infinite samples")
        if sr is not None and sr != file_sr:
            samples = resample(samples, file_sr, sr)
            file_sr = sr
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if float(np.max(np.abs(samples))) < SILENCE_PEAK:
            raise AudioError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
        seconds = len(samples) / file_sr
        if seconds < min_seconds:
            raise AudioError(f"{name}: {seconds:.2f} s is too short, need at least {min_seconds:g} s")
        return Audio(samples, int(file_sr))

    @staticmethod
    def save(
        audio: Audio | np.ndarray | torch.Tensor,
        path: str | os.PathLike,
        sample_rate: int | None = None,
        *,
        subtype: str = "PCM_16",
    ) -> Path:
        """Write wav or flac atomically (temp file in the same directory, then rename)."""
        if isinstance(audio, Audio):
            samples, sr = audio.samples, audio.sample_rate
        else:
            if sample_rate is None:
                sample_rate = SAMPLE_RATE
            samples, sr = audio, sample_rate
        if isinstance(samples, torch.Tensor):
            samples = samples.detach().float().cpu().numpy()
        samples = np.asarray(samples, dtype=np.float32).squeeze()
        if samples.ndim != 1:
            raise AudioError(f"save expects mono audio, got shape {samples.shape}")
        if samples.size == 0:
            raise AudioError(f"{path}: refusing to write an empty audio file")
        if not np.all(np.isfinite(samples)):
            raise AudioError(f"{path}: refusing to write NaN or infinite samples")
        out = Path(path)
        fmt = {".wav": "WAV", ".flac": "FLAC"}.get(out.suffix.lower())
        if fmt is None:
            raise AudioError(f"{out}: unsupported output format (use .wav or .flac)")
        with atomic_path(out) as tmp:
            sf.write(tmp, np.clip(samples, -1.0, 1.0), int(sr), format=fmt, subtype=subtype)
        return out

    resample = staticmethod(resample)

    @staticmethod
    def trim_silence(samples: np.ndarray, sr: int, top_db: float = 40.0, pad_ms: float = 50.0) -> np.ndarray:
        """Cut leading/trailing audio quieter than ``top_db`` below the peak, keeping ``pad_ms``."""
        frame = max(1, int(sr * 0.02))
        n = len(samples) // frame
        if n == 0:
            return samples
        rms = np.sqrt(np.mean(samples[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
        db = 20 * np.log10(rms / (rms.max() + 1e-12))
        voiced = np.flatnonzero(db > -top_db)
        if voiced.size == 0:
            return samples
        pad = int(sr * pad_ms / 1000)
        start = max(0, voiced[0] * frame - pad)
        end = min(len(samples), (voiced[-1] + 1) * frame + pad)
        return samples[start:end]

    @staticmethod
    def normalize_loudness(samples: np.ndarray, target_dbfs: float = -20.0, peak: float = 0.95) -> np.ndarray:
        """Scale to an RMS of ``target_dbfs`` without letting the peak exceed ``peak``."""
        rms = float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))
        if rms < 1e-8:
            return samples
        gain = 10 ** (target_dbfs / 20) / rms
        max_abs = float(np.max(np.abs(samples))) * gain
        if max_abs > peak:
            gain *= peak / max_abs
        return (samples * gain).astype(np.float32)

    @staticmethod
    def prepare_reference(
        audio: Audio,
        sr: int = SAMPLE_RATE,
        max_seconds: float = REFERENCE_MAX_SECONDS,
        min_seconds: float = REFERENCE_MIN_SECONDS,
        name: str = "reference",
    ) -> Audio:
        """Resample, trim silence, normalise loudness and cap a reference clip at ``max_seconds``."""
        raw = np.asarray(audio.samples)
        if raw.size == 0:
            raise AudioError(f"{name}: contains no samples")
        if raw.ndim != 1:
            raise AudioError(f"{name}: expected mono samples (T,), got shape {raw.shape}")
        if not np.all(np.isfinite(raw)):
            raise AudioError(f"{name}: contains NaN or infinite samples")
        if float(np.max(np.abs(raw))) < SILENCE_PEAK:
            raise AudioError(f"{name}: audio is silent (peak below {SILENCE_PEAK:g})")
        samples = resample(raw, audio.sample_rate, sr)
        samples = AudioProcessor.trim_silence(samples, sr)
        if len(samples) / sr < min_seconds:
            raise AudioError(
                f"{name}: {len(samples) / sr:.2f} s of speech after trimming silence; "
                f"a reference needs at least {min_seconds:g} s"
            )
        if len(samples) > max_seconds * sr:
            log.warning("%s: %.1f s reference truncated to %.0f s", name, len(samples) / sr, max_seconds)
            samples = samples[: int(max_seconds * sr)]
        return Audio(AudioProcessor.normalize_loudness(samples), sr)

    @staticmethod
    def mel(audio: Audio | np.ndarray | torch.Tensor, cfg: MelConfig = MelConfig()) -> torch.Tensor:
        """Log-mel spectrogram.

        audio: (T,) or (B, T) samples at ``cfg.sample_rate`` (an ``Audio`` is resampled).
        returns: (B, n_mels, frames) float32, frames = (T + pad*2 - n_fft) // hop + 1.
        """
        if isinstance(audio, Audio):
            audio = resample(audio.samples, audio.sample_rate, cfg.sample_rate)
        x = torch.as_tensor(audio, dtype=torch.float32)
        if x.dim() == 1:
            x = x.unsqueeze(0)
        pad = (cfg.n_fft - cfg.hop_length) // 2
        if x.shape[-1] <= pad:
            raise AudioError(f"audio of {x.shape[-1]} samples is too short for a mel frame")
        x = torch.nn.functional.pad(x.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
        spec = torch.stft(
            x,
            cfg.n_fft,
            hop_length=cfg.hop_length,
            win_length=cfg.win_length,
            window=_hann(cfg.win_length).to(x.device),
            center=False,
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        mag = torch.sqrt(spec.real.pow(2) + spec.imag.pow(2) + 1e-9)
        mel = torch.matmul(_mel_basis(cfg).to(x.device), mag)
        return torch.log(torch.clamp(mel, min=cfg.clamp))
