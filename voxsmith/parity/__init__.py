"""Numerical parity with the official IndexTTS-2 modules, driven by fixture directories.

A fixture set is a directory with one sub-directory per module (``gpt/``, ``s2mel/``,
``bigvgan/``, ``campplus/``, ``semantic_codec/``), each holding ``spec.json``,
``weights.safetensors`` (official key names) and ``io.safetensors`` (``in.*``/``out.*``).
Each module's checker lives in ``voxsmith/parity/<module>.py`` and exposes
``check(module_dir: Path) -> ParityResult``: it rebuilds our module from ``spec.json``,
loads the weights strictly through ``voxsmith.checkpoints`` mapping, replays the calls
the spec describes and compares every output.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from voxsmith.parity.result import ParityResult

# fixture sub-directory name -> checker module
CHECKERS: dict[str, str] = {
    "gpt": "voxsmith.parity.gpt",
    "s2mel": "voxsmith.parity.s2mel",
    "bigvgan": "voxsmith.parity.bigvgan",
    "campplus": "voxsmith.parity.campplus",
    "semantic_codec": "voxsmith.parity.semantic_codec",
}


def run_parity(fixture_root: str | Path, modules: list[str] | None = None) -> dict[str, ParityResult]:
    """Run every checker whose fixture directory exists under ``fixture_root``."""
    root = Path(fixture_root)
    results: dict[str, ParityResult] = {}
    for name, mod in CHECKERS.items():
        if modules is not None and name not in modules:
            continue
        if not (root / name / "spec.json").exists():
            continue
        results[name] = importlib.import_module(mod).check(root / name)
    return results


__all__ = ["CHECKERS", "ParityResult", "run_parity"]
