"""Open any model directory voxsmith reads: its own format (tiny or converted official) or the
official IndexTTS-2 release layout, and return the facade's ``PartsBase``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from voxsmith.errors import CheckpointError
from voxsmith.models.parts_base import PartsBase


def load_model_dir(root: str | os.PathLike) -> PartsBase:
    """``model.json`` → voxsmith format (``architecture`` picks tiny or official); else an official
    directory (``config.yaml`` / ``gpt.pth`` / ``s2mel.pth``) is read in place."""
    root = Path(root)
    card_path = root / "model.json"
    if card_path.is_file():
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{card_path}: not valid JSON ({exc})") from exc
        from voxsmith.models.official import ARCHITECTURE

        if card.get("architecture") == ARCHITECTURE:
            from voxsmith.models.official import load_converted

            return load_converted(root)
        from voxsmith.models.parts import load_parts

        return load_parts(root)
    from voxsmith.models.official import load_official, looks_official

    if looks_official(root):
        return load_official(root)
    raise CheckpointError(
        f"{root}: not a voxsmith model directory (no model.json) nor an official IndexTTS-2 directory "
        "(no config.yaml / gpt.pth / s2mel.pth); the built-in model ships in voxsmith/assets/tiny"
    )
