"""Parity of voxsmith's ``BigVGAN`` with the official IndexTTS2 bigvgan fixture.

Rebuilds the generator from ``spec.json``'s constructor ``h`` (the official ``config.json``),
loads ``weights.safetensors`` strictly under the official key names — the weight-normalised
layout (``weight_g``/``weight_v``) with the Kaiser filter buffers — and replays the calls:
first every ``*_before_remove_weight_norm`` output with weight norm in place, then
``remove_weight_norm()`` (as ``infer_v2``) and every other output. An output ``wav<suffix>``
is the generator applied to the input ``mel<suffix>``.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file

from voxsmith.checkpoints import strict_load
from voxsmith.errors import CheckpointError, VoxsmithError
from voxsmith.models.bigvgan import BigVGAN, BigVGANConfig
from voxsmith.parity.result import ParityResult, fixture_inputs

BEFORE = "_before_remove_weight_norm"


def build_from_spec(module_dir: Path) -> tuple[BigVGAN, dict]:
    """The fixture's generator (weight norm still in place) with its weights loaded strictly, and the spec."""
    spec_path = module_dir / "spec.json"
    if not spec_path.is_file():
        raise CheckpointError(f"{spec_path}: spec.json not found")
    spec = json.loads(spec_path.read_text())
    model = BigVGAN(BigVGANConfig.from_official(spec["constructor"]["h"])).eval()
    strict_load(model, load_file(str(module_dir / "weights.safetensors")), f"{module_dir.name} fixture")
    return model, spec


def _input_for(name: str, inp: dict[str, torch.Tensor]) -> torch.Tensor:
    """The mel an output was made from: ``wav<suffix>[_before_remove_weight_norm]`` ← ``mel<suffix>``."""
    base = name.removesuffix(BEFORE)
    if not base.startswith("wav"):
        raise KeyError(f"no replay known for output {name!r}")
    key = "mel" + base[len("wav") :]
    if key not in inp:
        raise KeyError(f"input in.{key} missing from io.safetensors")
    return inp[key]


def check(module_dir: str | Path) -> ParityResult:
    """Replay every ``out.*`` of the fixture in ``module_dir`` and compare.

    Problems are recorded in the result (never raised), so one bad fixture does not stop a run.
    """
    module_dir = Path(module_dir)
    result = ParityResult(module="bigvgan")
    try:
        model, _ = build_from_spec(module_dir)
        io = load_file(str(module_dir / "io.safetensors"))
    except (VoxsmithError, KeyError, OSError, ValueError) as exc:
        return result.fail_setup(exc)
    inp = fixture_inputs(io)
    names = sorted(k[4:] for k in io if k.startswith("out."))
    # weight-normed outputs first: remove_weight_norm() is one-way
    before = [n for n in names if n.endswith(BEFORE)]
    after = [n for n in names if not n.endswith(BEFORE)]
    with torch.inference_mode():
        for phase, group in (("weight norm", before), ("removed", after)):
            if phase == "removed":
                model.remove_weight_norm()
            for name in group:
                try:
                    ours = model(_input_for(name, inp))
                except (VoxsmithError, KeyError, RuntimeError) as exc:
                    result.errors[name] = float("inf")
                    result.failures.append(f"{name}: replay failed ({exc.__class__.__name__}: {exc})")
                    continue
                result.compare(name, ours, io[f"out.{name}"])
    return result
