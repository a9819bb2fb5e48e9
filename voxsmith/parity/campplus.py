"""Parity of voxsmith's style path (Kaldi fbank + CAMPPlus) with the official campplus fixture.

Rebuilds ``CAMPPlus`` from ``spec.json``'s constructor kwargs (plus the defaults the spec
says were kept), loads ``weights.safetensors`` strictly under the official key names (no
renames: voxsmith's CAMPPlus keeps ``head.*`` / ``xvector.*``), replays every call of the
spec — the Kaldi fbank of the 16 kHz clip, its mean normalisation, the embedding of that
clip and of a random feature batch — and compares every ``out.*``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file

from voxsmith.checkpoints import strict_load
from voxsmith.errors import CheckpointError
from voxsmith.models.campplus import CAMPPlus, CAMPPlusConfig
from voxsmith.models.fbank import FbankConfig, kaldi_fbank, mean_normalize
from voxsmith.parity.result import ParityResult

# the official call: kaldi.fbank(audio_16k, num_mel_bins=80, dither=0, sample_frequency=16000)
FBANK = FbankConfig(sample_rate=16000, n_mels=80)


def build_from_spec(module_dir: Path) -> tuple[CAMPPlus, dict]:
    """The fixture's model (eval mode) with its weights loaded strictly, and the parsed spec."""
    spec_path = module_dir / "spec.json"
    if not spec_path.is_file():
        raise CheckpointError(f"{spec_path}: spec.json not found")
    spec = json.loads(spec_path.read_text())
    ctor = spec["constructor"]
    cfg = CAMPPlusConfig.from_official({**ctor.get("defaults_kept", {}), **ctor["kwargs"]})
    model = CAMPPlus(cfg).eval()
    strict_load(model, load_file(str(module_dir / "weights.safetensors")), f"{module_dir.name} fixture")
    return model, spec


def _producers(model: CAMPPlus, inp: dict[str, torch.Tensor]) -> dict[str, Callable[[], torch.Tensor]]:
    """Output name → function computing it, as the spec's ``calls`` describe."""
    memo: dict[str, torch.Tensor] = {}

    def raw() -> torch.Tensor:
        if "raw" not in memo:
            memo["raw"] = kaldi_fbank(inp["audio_16k"][0], FBANK)  # (T, 80): channel 0 of (1, N)
        return memo["raw"]

    return {
        "fbank_raw": raw,
        "fbank_cmn": lambda: mean_normalize(raw()),
        "style": lambda: model(mean_normalize(raw()).unsqueeze(0)),
        "style_b2": lambda: model(inp["feats_b2"]),
    }


def check(module_dir: str | Path) -> ParityResult:
    """Replay every ``out.*`` of the fixture in ``module_dir`` and compare."""
    module_dir = Path(module_dir)
    result = ParityResult(module="campplus")
    model, _ = build_from_spec(module_dir)
    io = load_file(str(module_dir / "io.safetensors"))
    inp = {k[3:]: v for k, v in io.items() if k.startswith("in.")}
    out = {k[4:]: v for k, v in io.items() if k.startswith("out.")}
    with torch.inference_mode():
        producers = _producers(model, inp)
        for name in sorted(out):
            if name not in producers:
                result.errors[name] = float("inf")
                result.failures.append(f"{name}: no replay known for this output")
                continue
            result.compare(name, producers[name](), out[name])
    return result
