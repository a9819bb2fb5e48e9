"""Configuration of the pronunciation checker: recogniser size and the calibrated decision.

Both travel inside the checker's safetensors (``kind="pron_checker"``): the model config
says what to build, the calibration says when a syllable counts as misread.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from voxsmith.errors import CheckpointError
from voxsmith.models.units import UNITS

FRONTENDS = ("mel", "whisper")


@dataclass
class CheckerConfig:
    """Size of the CTC pronunciation recogniser: log-mel at 86.13 Hz in, units at 43.07 Hz out
    (``frontend="mel"``), or Whisper encoder states at 50 Hz in and out (``"whisper"``,
    ``check/whisper_features.py``)."""

    frontend: str = "mel"  # "mel" (learned from the corpus alone) or "whisper" (Whisper base's encoder)
    n_mels: int = 80  # input log-mel bins (the shared mel definition of voxsmith.audio)
    whisper_dim: int = 512  # encoder state width with frontend="whisper" (Whisper base)
    pitch: bool = True  # add the 3 speaker-normalised pitch channels of check/pitch.py
    conv_dim: int = 256  # width of the convolutional layers
    conv_layers: int = 5  # conv blocks; the first has stride 2 (86.13 -> 43.07 Hz)
    kernel: int = 5  # conv kernel size in frames
    rnn_dim: int = 160  # BiGRU hidden size per direction (when rnn_layers > 0)
    rnn_layers: int = 0  # BiGRU layers after the convolutions; 0 = convolutions only
    n_units: int = len(UNITS)  # CTC outputs including blank (id 0); see voxsmith.models.units
    dropout: float = 0.15  # dropout in training

    @classmethod
    def tiny(cls) -> CheckerConfig:
        """The log-mel size (the built-in checker's before the Whisper frontend): convolutions
        only, ~1.5M parameters, each output frame sees +-0.21 s of audio (about one syllable
        each side).

        Why no recurrent layer: a BiGRU sees the whole sentence and, trained on a corpus in
        which every polyphone is read the way its context dictates, learns to hear the
        reading the context predicts instead of the one spoken (on held-out voices it heard
        the intended reading in 17 of 30 clips that said another one). A bounded context
        keeps the decision on the sound, and trains about 3x faster per step.
        """
        return cls()

    @classmethod
    def whisper(cls) -> CheckerConfig:
        """The built-in size: a convolutional head (~1.4M parameters) on Whisper base's encoder
        states with the pitch channels; each output frame sees +-0.1 s of states (which
        themselves carry context from the whole clip, hence the reading-swap clips in training:
        without them the head learns the reading a word usually has, see BENCHMARKS.md)."""
        return cls(frontend="whisper", conv_layers=3)

    @classmethod
    def debug(cls) -> CheckerConfig:
        """A few thousand parameters, for unit tests."""
        return cls(conv_dim=24, conv_layers=2, rnn_dim=16, rnn_layers=1, dropout=0.0)

    def __post_init__(self) -> None:
        if self.frontend not in FRONTENDS:
            raise CheckpointError(f"checker frontend must be one of {FRONTENDS}, got {self.frontend!r}")

    @property
    def n_main(self) -> int:
        """Channels of the main features (log-mel bins or encoder states), before the pitch ones."""
        return self.whisper_dim if self.frontend == "whisper" else self.n_mels

    @property
    def in_channels(self) -> int:
        from voxsmith.check.pitch import N_PITCH

        return self.n_main + (N_PITCH if self.pitch else 0)

    @property
    def downsample(self) -> int:
        """Input frames per output frame: the mel (86.13 Hz) is halved; Whisper states are at 50 Hz."""
        return 1 if self.frontend == "whisper" else 2

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CheckerConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise CheckpointError(f"checker config has unknown fields {unknown}")
        return cls(**d)


@dataclass
class Calibration:
    """When a syllable is judged misread, fitted on held-out clips of the corpus (valid split).

    A *margin* is ``log p(intended reading) - max log p(other candidate)`` over the
    syllable's aligned window, in nats. A syllable is flagged when its margin is below the
    threshold; ``confidence = sigmoid(scale * (margin - threshold))`` so that 0.5 is the
    decision boundary. ``poly_*`` judges polyphones against their other readings,
    ``syl_*`` judges any syllable against its other tones (``check_all``). With a tone judge
    in the file, candidate scores add ``tone_weight`` times its tone log-probability.
    """

    poly_threshold: float = 0.0  # nats; below = the polyphone was read another way
    poly_scale: float = 1.0  # logistic slope of the confidence (1/nats)
    syl_threshold: float = -2.0  # nats; below = the syllable's tone was read another way
    syl_scale: float = 1.0  # logistic slope of the confidence (1/nats)
    tone_weight: float = 0.0  # weight of the pitch tone judge in candidate scores (0: recogniser only)
    max_false_alarm: float = 0.02  # false-alarm rate the thresholds were fitted for
    detection_slack: float = 0.0  # share of caught wrong readings given up for fewer false alarms
    fitted: bool = False  # False = defaults, not fitted on data
    stats: dict | None = None  # what the fit saw: counts, false alarms, detection on the fit data

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Calibration:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})
