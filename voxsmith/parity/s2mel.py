"""Parity of voxsmith's ``S2M`` with the official IndexTTS2 s2mel fixture.

Rebuilds the model from ``spec.json``'s constructor config (the official ``s2mel`` section),
loads ``weights.safetensors`` strictly under the official key names (no renames: voxsmith's
S2M keeps the official ``models.{cfm,length_regulator,gpt_layer}.*`` layout), replays every
call of the spec — length regulator, gpt_layer, single DiT velocity evaluations, and the CFM
Euler runs listed in the ``run.cfm`` block with the saved noise — and compares every ``out.*``.

The saved noise is itself an output: it is re-drawn from the seed named in the call
(``torch.manual_seed(N)`` then ``randn((B, M, T))``), which checks that our sampler draws the
official noise for a given seed; the Euler runs use the saved tensor either way.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from pathlib import Path

import torch
from safetensors.torch import load_file

from voxsmith.checkpoints import strict_load
from voxsmith.errors import CheckpointError
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.parity.result import ParityResult


def build_from_spec(module_dir: Path) -> tuple[S2M, dict]:
    """The fixture's model with its weights loaded strictly, and the parsed spec."""
    spec_path = module_dir / "spec.json"
    if not spec_path.is_file():
        raise CheckpointError(f"{spec_path}: spec.json not found")
    spec = json.loads(spec_path.read_text())
    cfg = S2MConfig.from_official(spec["constructor"]["s2mel_cfg"])
    compression = spec.get("run", {}).get("length_compression")
    if compression is not None:
        cfg = dataclasses.replace(cfg, frames_per_code=float(compression))
    model = S2M(cfg).eval()
    strict_load(model, load_file(str(module_dir / "weights.safetensors")), f"{module_dir.name} fixture")
    return model, spec


def _seed_of(call: str) -> int | None:
    match = re.search(r"manual_seed\((\d+)\)", call)
    return int(match.group(1)) if match else None


def _producers(model: S2M, spec: dict, inp: dict[str, torch.Tensor], out: dict[str, torch.Tensor]) -> dict:
    """Output name → function computing it (shared intermediate results are cached)."""
    memo: dict[str, torch.Tensor] = {}

    def once(name: str, fn: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
        def get() -> torch.Tensor:
            if name not in memo:
                memo[name] = fn()
            return memo[name]

        return get

    lr = model.length_regulator
    est = model.cfm.estimator
    p: dict[str, Callable[[], torch.Tensor]] = {}
    p["lr_prompt_condition"] = once("lrp", lambda: lr(inp["S_ref"], inp["ref_target_lengths"])[0])
    p["gpt_layer_out"] = once("gpt", lambda: model.models["gpt_layer"](inp["gpt_latent"]))
    p["target_lengths"] = once("tl", lambda: model.target_lengths(inp["code_lens"]))
    p["lr_target_cond"] = once(
        "lrt", lambda: lr(inp["S_infer_vq"] + p["gpt_layer_out"](), p["target_lengths"]())[0]
    )
    p["lr_b2_out"] = lambda: lr(inp["S_b2"], inp["ylens_b2"])[0]
    p["lr_b2_olens"] = lambda: lr(inp["S_b2"], inp["ylens_b2"])[1]
    p["cat_condition"] = once(
        "cat", lambda: torch.cat((p["lr_prompt_condition"](), p["lr_target_cond"]()), dim=1)
    )
    if "dit_x" in inp:
        p["dit_velocity_cfgstack"] = lambda: est(
            inp["dit_x"],
            inp["dit_prompt_x"],
            inp["dit_x_lens"],
            inp["dit_t"],
            inp["dit_style"],
            inp["dit_cond"],
        )
        p["dit_velocity_b2_masked"] = lambda: est(
            inp["dit_x"],
            inp["dit_prompt_x"],
            inp["dit_x_lens_b2"],
            inp["dit_t_b2"],
            inp["dit_style_b2"],
            inp["dit_cond_b2"],
        )

    ref_mel, style = inp["ref_mel"], inp["style"]
    calls = spec.get("calls", {})
    for name, run in spec.get("run", {}).get("cfm", {}).items():
        noise_name = run.get("noise")
        if noise_name not in out:
            continue

        def solve(run: dict = run, noise_name: str = noise_name) -> torch.Tensor:
            mu = p["cat_condition"]()
            x_lens = torch.tensor([mu.shape[1]])
            return model.cfm.solve(
                out[noise_name],
                x_lens,
                ref_mel,
                mu,
                style,
                int(run["n_timesteps"]),
                float(run["inference_cfg_rate"]),
            )

        result = once(name, solve)
        p[name] = result
        if run.get("vc_target"):
            p[run["vc_target"]] = lambda r=result: r()[:, :, ref_mel.shape[-1] :]
        seed = _seed_of(calls.get(name, "")) or _seed_of(
            next((v for k, v in calls.items() if "cfm_out" in k), "")
        )
        if seed is not None:
            shape = out[noise_name].shape
            p[noise_name] = lambda s=seed, sh=shape: torch.randn(
                sh, generator=torch.Generator().manual_seed(s)
            )
    return p


def check(module_dir: str | Path) -> ParityResult:
    """Replay every ``out.*`` of the fixture in ``module_dir`` and compare."""
    module_dir = Path(module_dir)
    result = ParityResult(module="s2mel")
    model, spec = build_from_spec(module_dir)
    io = load_file(str(module_dir / "io.safetensors"))
    inp = {k[3:]: v for k, v in io.items() if k.startswith("in.")}
    out = {k[4:]: v for k, v in io.items() if k.startswith("out.")}
    with torch.inference_mode():
        producers = _producers(model, spec, inp, out)
        for name in sorted(out):
            if name not in producers:
                result.errors[name] = float("inf")
                result.failures.append(f"{name}: no replay known for this output")
                continue
            result.compare(name, producers[name](), out[name], exact=not out[name].is_floating_point())
    return result
