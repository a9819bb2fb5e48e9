"""S2M: semantic codes + GPT latents → mel by conditional flow matching with a DiT (both sizes)."""

from voxsmith.models.s2m.cfm import CFM
from voxsmith.models.s2m.config import DiTConfig, LengthRegulatorConfig, S2MConfig, WaveNetConfig
from voxsmith.models.s2m.dit import DiT
from voxsmith.models.s2m.length_regulator import LengthRegulator
from voxsmith.models.s2m.model import S2M, official_state_dict

__all__ = [
    "CFM",
    "DiT",
    "DiTConfig",
    "LengthRegulator",
    "LengthRegulatorConfig",
    "S2M",
    "S2MConfig",
    "WaveNetConfig",
    "official_state_dict",
]
