"""Parity of voxsmith's ``RepCodec`` with the official IndexTTS2 semantic_codec fixture.

Rebuilds the codec from ``spec.json``'s constructor ``cfg`` (the official ``semantic_codec``
section), loads ``weights.safetensors`` strictly under the official key names (encoder,
decoder and quantizer; no renames) and replays the spec's calls literally:

- ``indices<sfx>`` / ``quantized<sfx>``: the official ``quantize(feat<sfx>)`` pair;
- ``vq2emb``: ``quantizer.vq2emb(codes_in.unsqueeze(1))`` as ``infer_v2`` calls it;
- ``vq2emb_of_indices``: the same on our own ``indices`` (so a code mismatch shows twice);
- ``encoder_out`` and ``fvq_z_e``: the encoder output (B, H, T) and its projection to code space.

Codes must be identical; embeddings within the tolerance.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file

from voxsmith.checkpoints import strict_load
from voxsmith.errors import CheckpointError, VoxsmithError
from voxsmith.models.semantic_codec import RepCodec, RepCodecConfig
from voxsmith.parity.result import ParityResult, fixture_inputs


def build_from_spec(module_dir: Path) -> tuple[RepCodec, dict]:
    """The fixture's codec with its weights loaded strictly, and the parsed spec."""
    spec_path = module_dir / "spec.json"
    if not spec_path.is_file():
        raise CheckpointError(f"{spec_path}: spec.json not found")
    spec = json.loads(spec_path.read_text())
    model = RepCodec(RepCodecConfig.from_official(spec["constructor"]["cfg"])).eval()
    strict_load(model, load_file(str(module_dir / "weights.safetensors")), f"{module_dir.name} fixture")
    return model, spec


def _producers(model: RepCodec, inp: dict[str, torch.Tensor]) -> dict[str, Callable[[], torch.Tensor]]:
    """Output name → function computing it (shared intermediate results are cached)."""
    memo: dict[str, object] = {}

    def once(key: str, fn: Callable[[], object]) -> Callable[[], object]:
        def get() -> object:
            if key not in memo:
                memo[key] = fn()
            return memo[key]

        return get

    p: dict[str, Callable[[], torch.Tensor]] = {}
    for name in inp:
        if not name.startswith("feat"):
            continue
        sfx = name[len("feat") :]
        pair = once(f"q{sfx}", lambda name=name: model.quantize_with_embedding(inp[name]))
        p[f"indices{sfx}"] = lambda pair=pair: pair()[0]
        p[f"quantized{sfx}"] = lambda pair=pair: pair()[1]
    encoder_out = once("enc", lambda: model.encode(inp["feat"]))
    p["encoder_out"] = encoder_out
    p["fvq_z_e"] = lambda: model.quantizer.quantizers[0].in_project(encoder_out())
    p["vq2emb"] = lambda: model.quantizer.vq2emb(inp["codes_in"].unsqueeze(1))
    p["vq2emb_of_indices"] = lambda: model.quantizer.vq2emb(p["indices"]().unsqueeze(1))
    return p


def check(module_dir: str | Path) -> ParityResult:
    """Replay every ``out.*`` of the fixture in ``module_dir`` and compare.

    Problems are recorded in the result (never raised), so one bad fixture does not stop a run.
    """
    module_dir = Path(module_dir)
    result = ParityResult(module="semantic_codec")
    try:
        model, _ = build_from_spec(module_dir)
        io = load_file(str(module_dir / "io.safetensors"))
    except (VoxsmithError, KeyError, OSError, ValueError) as exc:
        return result.fail_setup(exc)
    inp = fixture_inputs(io)
    with torch.inference_mode():
        producers = _producers(model, inp)
        for key in sorted(k for k in io if k.startswith("out.")):
            name = key[4:]
            if name not in producers:
                result.errors[name] = float("inf")
                result.failures.append(f"{name}: no replay known for this output")
                continue
            try:
                ours = producers[name]()
            except (VoxsmithError, KeyError, RuntimeError) as exc:
                result.errors[name] = float("inf")
                result.failures.append(f"{name}: replay failed ({exc.__class__.__name__}: {exc})")
                continue
            result.compare(name, ours, io[key], exact=not io[key].is_floating_point())
    return result
