"""The official IndexTTS-2 checkpoints as a voxsmith model (``OfficialParts``).

- ``layout``: the official directory (which files, where they come from, what is missing);
- ``features``: w2v-BERT 2.0 conditioning features (hidden state 17, normalised);
- ``parts``: ``OfficialParts``, the facade's interface over the official modules;
- ``load``: official directory → ``OfficialParts`` (strict, ``weights_only=True``);
- ``store``: voxsmith's self-describing format for them (``voxsmith convert``).
"""

from voxsmith.models.official.features import W2VBertFeatures
from voxsmith.models.official.layout import OfficialLayout, looks_official
from voxsmith.models.official.load import load_official
from voxsmith.models.official.parts import ARCHITECTURE, OfficialParts
from voxsmith.models.official.store import load_converted, save_official_parts

__all__ = [
    "ARCHITECTURE",
    "OfficialLayout",
    "OfficialParts",
    "W2VBertFeatures",
    "load_converted",
    "load_official",
    "looks_official",
    "save_official_parts",
]
