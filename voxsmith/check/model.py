"""The pronunciation recogniser: log-mel (or Whisper encoder states) -> CTC posteriors over
toned-pinyin units.

    features (B, 80 [+3], T) at 86.13 Hz: log-mel [+ pitch channels, check/pitch.py]
      -> per-utterance mean/variance normalisation of the mel (removes channel and level)
      -> conv block, stride 2 (B, C, T') at 43.07 Hz, T' = ceil(T / 2)
      -> residual conv blocks (B, C, T') [-> optional BiGRU layers (B, T', 2H)]
      -> linear (B, T', n_units)

With ``frontend="whisper"`` the input is Whisper base's encoder states at 50 Hz plus the
pitch channels averaged onto that grid (``check/whisper_features.py``): per-frame LayerNorm,
no stride, output at 50 Hz.

Both sizes use convolutions only, so a frame's posteriors depend on about a syllable of
input each side (see ``CheckerConfig.tiny``); Whisper's states themselves see the whole clip.

Units are ``voxsmith.models.units.UNITS``: blank (id 0), pinyin initials, toned finals
(``hang2`` = ``h`` + ``ang2``) and ARPAbet phones for English words in Mandarin text.
43 Hz leaves a syllable (~0.2 s) about nine frames: room for an initial, a final and the
blanks between them, which the 21.5 Hz content encoder does not have.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from voxsmith.audio import AudioProcessor
from voxsmith.check.config import Calibration, CheckerConfig
from voxsmith.check.pitch import pitch_features
from voxsmith.check.tone import ToneJudge
from voxsmith.check.whisper_features import n_frames as whisper_n_frames
from voxsmith.check.whisper_features import whisper_features
from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.errors import CheckpointError
from voxsmith.models.content import ContentEncoder
from voxsmith.models.units import UNITS

KIND = "pron_checker"


def _mask(t: int, lens: torch.Tensor) -> torch.Tensor:
    """(B, 1, t) float mask of valid frames."""
    return (torch.arange(t, device=lens.device)[None] < lens[:, None]).unsqueeze(1).float()


class _ChannelNorm(nn.Module):
    """LayerNorm over channels of a (B, C, T) tensor."""

    def __init__(self, dim: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class PronRecognizer(nn.Module):
    """features (B, in_channels, T) -> CTC logits (B, ceil(T/s), n_units) and their lengths (B,),
    ``s = cfg.downsample`` (2 on log-mel, 1 on Whisper states)."""

    def __init__(self, cfg: CheckerConfig):
        super().__init__()
        self.cfg = cfg
        self.whisper = None  # the WhisperBackend whose encoder makes the input (frontend "whisper")
        k = cfg.kernel
        # Whisper states differ in scale from channel to channel: normalised per frame, learned gain
        self.in_norm = nn.LayerNorm(cfg.whisper_dim) if cfg.frontend == "whisper" else None
        self.stem = nn.Conv1d(cfg.in_channels, cfg.conv_dim, k, stride=cfg.downsample, padding=k // 2)
        self.stem_norm = _ChannelNorm(cfg.conv_dim)
        self.convs = nn.ModuleList(
            nn.Conv1d(cfg.conv_dim, cfg.conv_dim, k, padding=k // 2) for _ in range(cfg.conv_layers - 1)
        )
        self.norms = nn.ModuleList(_ChannelNorm(cfg.conv_dim) for _ in range(cfg.conv_layers - 1))
        # rnn_layers=0: convolutions only, so each frame sees a bounded context (see CheckerConfig)
        self.rnn = (
            nn.GRU(
                cfg.conv_dim,
                cfg.rnn_dim,
                num_layers=cfg.rnn_layers,
                batch_first=True,
                bidirectional=True,
                dropout=cfg.dropout if cfg.rnn_layers > 1 else 0.0,
            )
            if cfg.rnn_layers
            else None
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(2 * cfg.rnn_dim if cfg.rnn_layers else cfg.conv_dim, cfg.n_units)

    def out_lengths(self, mel_lens: torch.Tensor) -> torch.Tensor:
        s = self.cfg.downsample
        return torch.div(mel_lens + s - 1, s, rounding_mode="floor")

    def forward(
        self, feats: torch.Tensor, mel_lens: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(logits (B, T', n_units), lengths (B,))``; padding never leaks into valid frames."""
        if mel_lens is None:
            mel_lens = torch.full((feats.shape[0],), feats.shape[-1], dtype=torch.long, device=feats.device)
        n = self.cfg.n_main
        if self.in_norm is not None:
            main = self.in_norm(feats[:, :n].transpose(1, 2)).transpose(1, 2)
        else:
            main = ContentEncoder.normalize(feats[:, :n], mel_lens)
        x = torch.cat([main, feats[:, n:]], 1) * _mask(feats.shape[-1], mel_lens)
        lens = self.out_lengths(mel_lens)
        x = self.stem(x)
        m = _mask(x.shape[-1], lens)
        x = self.stem_norm(F.gelu(x)) * m
        for conv, norm in zip(self.convs, self.norms, strict=True):
            x = norm(x + self.drop(F.gelu(conv(x)))) * m
        h = x.transpose(1, 2)  # (B, T', C)
        if self.rnn is not None:
            packed = nn.utils.rnn.pack_padded_sequence(
                self.drop(h), lens.cpu(), batch_first=True, enforce_sorted=False
            )
            h, _ = self.rnn(packed)
            h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=x.shape[-1])
        return self.head(self.drop(h)), lens

    def pitch_track(self, samples: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(3, 2 * T') pitch channels (``check.pitch``) at twice the output rate ``T'``: the
        mel's own grid, or resampled to 100 Hz for Whisper states. The tone judge reads them
        so (two frames per recogniser frame)."""
        pitch = pitch_features(samples)
        if self.cfg.frontend != "whisper":
            return pitch
        t = 2 * whisper_n_frames(len(samples))  # Whisper states are not downsampled
        if pitch.shape[-1] == 0:
            return torch.zeros(pitch.shape[0], t)
        return F.interpolate(pitch[None], size=t, mode="linear", align_corners=True)[0]

    def encoder(self):
        """The Whisper backend of the ``whisper`` frontend (the default judge, fitted window)."""
        if self.whisper is None:
            from voxsmith.eval.whisper import WhisperBackend, WhisperConfig

            self.whisper = WhisperBackend(WhisperConfig(beam_size=1, fit_window=True))
        return self.whisper

    def main_features(self, samples: torch.Tensor | np.ndarray) -> torch.Tensor:
        """(n_main, frames): the log-mel, or the Whisper encoder states, of (N,) samples at 22050 Hz."""
        if self.cfg.frontend == "whisper":
            return whisper_features(samples, self.encoder())
        return AudioProcessor.mel(samples)[0]

    def combine(self, main: torch.Tensor, pitch: torch.Tensor | None) -> torch.Tensor:
        """Model input from the main features and ``pitch_track`` (pitch averaged onto the
        input grid for Whisper states)."""
        if not self.cfg.pitch:
            return main
        assert pitch is not None
        if self.cfg.frontend == "whisper":
            pitch = F.avg_pool1d(pitch[None], 2, ceil_mode=True)[0]
        pitch = pitch[:, : main.shape[-1]]
        if pitch.shape[-1] < main.shape[-1]:
            pitch = F.pad(pitch, (0, main.shape[-1] - pitch.shape[-1]))
        return torch.cat([main, pitch], 0)

    def features(self, samples: torch.Tensor | np.ndarray, pitch: torch.Tensor | None = None) -> torch.Tensor:
        """(N,) samples at 22050 Hz -> this model's input (in_channels, frames); ``pitch``:
        ``pitch_track(samples)`` when the caller has it already."""
        main = self.main_features(samples)
        if self.cfg.pitch and pitch is None:
            pitch = self.pitch_track(samples)
        return self.combine(main, pitch)

    @torch.no_grad()
    def log_probs(self, feats: torch.Tensor) -> torch.Tensor:
        """One clip's features (in_channels, T) -> log-posteriors (ceil(T/2), n_units), in eval mode."""
        self.eval()
        logits, _ = self(feats.unsqueeze(0))
        return F.log_softmax(logits[0].float(), dim=-1)

    def ctc_loss(
        self, feats: torch.Tensor, mel_lens: torch.Tensor, targets: torch.Tensor, target_lens: torch.Tensor
    ) -> torch.Tensor:
        """CTC loss (blank = 0), batch mean of per-target-unit losses."""
        logits, lens = self(feats, mel_lens)
        logp = F.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T', B, U)
        return F.ctc_loss(logp, targets, lens, target_lens, blank=0, reduction="mean", zero_infinity=True)


TONE_PREFIX = "tone_judge."  # keys of the optional pitch tone judge (check/tone.py)


def save_checker(
    model: PronRecognizer,
    calibration: Calibration,
    path: str | os.PathLike,
    tone_judge: ToneJudge | None = None,
) -> Path:
    """Write the self-describing checker file: weights (fp16), model config, unit inventory,
    calibration and, if given, the tone judge (its weights under ``tone_judge.``)."""
    config = {"model": model.cfg.to_dict(), "units": list(UNITS), "calibration": calibration.to_dict()}
    tensors = dict(model.state_dict())
    if tone_judge is not None:
        config["tone_judge"] = {"hidden": tone_judge.hidden}
        tensors.update({TONE_PREFIX + k: v for k, v in tone_judge.state_dict().items()})
    return save_safetensors(tensors, path, kind=KIND, config=config, dtype=torch.float16)


def load_checker(path: str | os.PathLike) -> tuple[PronRecognizer, Calibration, ToneJudge | None]:
    """Build what a checker file describes and load it strictly (eval mode): the recogniser,
    its calibration and the tone judge (None in files without one)."""
    tensors, config, _ = load_safetensors(path, kind=KIND)
    if config.get("units") != list(UNITS):
        raise CheckpointError(
            f"{path}: the checker was trained on another unit inventory "
            f"({len(config.get('units') or [])} units, this voxsmith has {len(UNITS)}); retrain it"
        )
    model = PronRecognizer(CheckerConfig.from_dict(config["model"]))
    judge_tensors = {k[len(TONE_PREFIX) :]: v for k, v in tensors.items() if k.startswith(TONE_PREFIX)}
    strict_load(model, {k: v for k, v in tensors.items() if not k.startswith(TONE_PREFIX)}, str(path))
    judge = None
    if "tone_judge" in config:
        judge = ToneJudge(int(config["tone_judge"]["hidden"]))
        strict_load(judge, judge_tensors, f"{path} (tone judge)")
        judge.eval()
    elif judge_tensors:
        raise CheckpointError(f"{path}: tone judge weights without their config; re-export the checker")
    return model.eval(), Calibration.from_dict(config.get("calibration", {})), judge
