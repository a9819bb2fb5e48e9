"""BigVGAN v2 vocoder (mel → waveform), the official-size vocoder of IndexTTS2, under official key names."""

from voxsmith.models.bigvgan.activations import Activation1d, Snake, SnakeBeta
from voxsmith.models.bigvgan.amp import AMPBlock1, AMPBlock2
from voxsmith.models.bigvgan.config import BigVGANConfig
from voxsmith.models.bigvgan.generator import BigVGAN
from voxsmith.models.bigvgan.resample import DownSample1d, LowPassFilter1d, UpSample1d, kaiser_sinc_filter1d

__all__ = [
    "AMPBlock1",
    "AMPBlock2",
    "Activation1d",
    "BigVGAN",
    "BigVGANConfig",
    "DownSample1d",
    "LowPassFilter1d",
    "Snake",
    "SnakeBeta",
    "UpSample1d",
    "kaiser_sinc_filter1d",
]
