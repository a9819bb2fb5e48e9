"""How a fine-tuning method sits on a model: which tensors it owns, their names, merging.

Both the training recipe and inference use this one mapping, so an adapter trained here loads
and merges with the same names and the same peft layers.

Per stage (``gpt`` = ``UnifiedVoice``, ``s2m`` = ``S2M``) an adapter has *settings* (stored in
``adapter_config.json``) and *tensors* (``adapter_model.safetensors``), named by their path in
the stage, prefixed with the stage:

* lora / ia3: peft layers injected into the stage's peft root (``gpt.gpt``: the GPT-2 blocks;
  ``s2m.models.cfm.estimator``: the DiT), e.g. ``gpt.gpt.h.0.attn.c_attn.lora_A.weight`` (peft's
  own key with the adapter name ``default`` removed). Settings: ``kind, r, alpha, dropout,
  targets`` (full module paths inside the peft root) and, for IA³, ``feedforward``.
* partial / full: plain weights, e.g. ``gpt.mel_head.weight``; settings ``kind, modules``.

Merging: peft's own ``merge_and_unload`` (lora: ``W + (alpha/r)·B·A``; IA³: ``W·l``) turns the
injected layers back into plain ones with merged weights; partial / full weights are copied in.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.finetune.config import IA3_FEEDFORWARD, PARTIAL_MODULES, STAGES
from voxsmith.models.parts_base import PartsBase

PEFT_ROOTS = {"gpt": "gpt", "s2m": "models.cfm.estimator"}  # submodule of each stage that peft adapts
ADAPTER_NAME = "default"  # peft's adapter name inside the layers; not part of our keys


def stage_modules(parts: PartsBase) -> dict[str, nn.Module]:
    return {"gpt": parts.gpt, "s2m": parts.s2m}


def _matches(path: str, name: str) -> bool:
    """peft's rule for a list of target names: the whole path, or its last dotted parts."""
    return path == name or path.endswith("." + name)


def resolve_settings(parts: PartsBase, method: str, targets: Iterable[str], rank: int, alpha: float,
                     dropout: float) -> dict[str, dict]:  # fmt: skip
    """The per-stage settings of ``method`` on ``parts`` (stages the method does not touch are left out).

    lora / ia3: every target name must match at least one linear layer of the GPT blocks or
    the S2M estimator (a ``ConfigError`` names the ones that match nothing).
    """
    modules = stage_modules(parts)
    if method == "full":
        return {s: {"kind": "full"} for s in STAGES}
    if method == "partial":
        return {s: {"kind": "partial", "modules": list(PARTIAL_MODULES[s])} for s in STAGES}
    names = list(targets)
    out: dict[str, dict] = {}
    used: set[str] = set()
    for stage in STAGES:
        root = modules[stage].get_submodule(PEFT_ROOTS[stage])
        paths = []
        for path, mod in root.named_modules():
            hit = [n for n in names if _matches(path, n)]
            if hit and isinstance(mod, nn.Linear | Conv1D):
                paths.append(path)
                used.update(hit)
        if paths:
            st = {"kind": method, "targets": paths}
            if method == "lora":
                st.update(r=rank, alpha=alpha, dropout=dropout)
            else:
                st["feedforward"] = [p for p in paths if any(_matches(p, f) for f in IA3_FEEDFORWARD)]
            out[stage] = st
    unused = [n for n in names if n not in used]
    if unused:
        raise ConfigError(
            f"--targets {', '.join(unused)}: no linear layer of that name in the GPT blocks or the S2M "
            "estimator (GPT: c_attn, c_proj, c_fc; S2M: wqkv, wo, w1, w2, w3, ...)"
        )
    return out


def inject(root: nn.Module, settings: Mapping) -> object:
    """Inject peft layers (lora or ia3) into ``root`` in place; returns the peft tuner (for unloading)."""
    from peft import IA3Config, LoraConfig
    from peft.tuners.ia3 import IA3Model
    from peft.tuners.lora import LoraModel

    targets = list(settings["targets"])
    # GPT-2's Conv1D stores weights (in, out): peft must transpose them
    fan_in_fan_out = any(isinstance(root.get_submodule(t), Conv1D) for t in targets)
    try:
        if settings["kind"] == "lora":
            cfg = LoraConfig(r=int(settings["r"]), lora_alpha=float(settings["alpha"]), lora_dropout=float(settings["dropout"]),
                             target_modules=targets, fan_in_fan_out=fan_in_fan_out, bias="none")  # fmt: skip
            tuner = LoraModel(root, cfg, ADAPTER_NAME)
        elif settings["kind"] == "ia3":
            cfg = IA3Config(target_modules=targets, feedforward_modules=list(settings["feedforward"]),
                            fan_in_fan_out=fan_in_fan_out)  # fmt: skip
            tuner = IA3Model(root, cfg, ADAPTER_NAME)
        else:
            raise ConfigError(f"adapter kind {settings['kind']!r} is not a peft method")
    except (ValueError, KeyError, AttributeError) as exc:
        raise ConfigError(f"cannot adapt {targets[:3]}...: {exc}") from exc
    return tuner


def unload(tuner: object, root: nn.Module, merge: bool) -> None:
    """Put plain layers back into ``root`` (merged weights when ``merge``) and drop peft's bookkeeping."""
    if merge:
        tuner.merge_and_unload()  # type: ignore[attr-defined]
    else:
        tuner.unload()  # type: ignore[attr-defined]
    if "peft_config" in root.__dict__:
        del root.__dict__["peft_config"]


def _key(stage: str, name: str) -> str:
    """``gpt`` + ``gpt.h.0.attn.c_attn.lora_A.default.weight`` → ``gpt.gpt.h.0.attn.c_attn.lora_A.weight``."""
    return stage + "." + ".".join(p for p in name.split(".") if p != ADAPTER_NAME)


def owned_parameters(module: nn.Module, stage: str, settings: Mapping) -> dict[str, nn.Parameter]:
    """The parameters of a stage that the adapter owns, by adapter key (peft layers already injected)."""
    kind = settings["kind"]
    if kind in ("lora", "ia3"):
        marker = "lora_" if kind == "lora" else "ia3_l"
        return {_key(stage, n): p for n, p in module.named_parameters() if marker in n}
    if kind == "full":
        return {_key(stage, n): p for n, p in module.named_parameters()}
    if kind == "partial":
        out = {}
        for path in settings["modules"]:
            try:
                sub = module.get_submodule(path)
            except AttributeError as exc:
                raise CheckpointError(f"adapter: {stage} has no module {path!r}") from exc
            out.update({f"{stage}.{path}.{n}": p for n, p in sub.named_parameters()})
        return out
    raise CheckpointError(f"adapter: unknown kind {kind!r} for stage {stage}")


def check_keys(expected: Iterable[str], given: Iterable[str], what: str) -> None:
    """Loud key comparison (torchtune style): every missing and unexpected key is listed."""
    expected, given = set(expected), set(given)
    missing, unexpected = sorted(expected - given), sorted(given - expected)
    if missing or unexpected:
        parts = [f"{len(v)} {k}: {', '.join(v[:8])}{' ...' if len(v) > 8 else ''}"
                 for k, v in (("missing", missing), ("unexpected", unexpected)) if v]  # fmt: skip
        raise CheckpointError(f"{what}: adapter tensors do not match the model; " + "; ".join(parts))


def _copy(params: Mapping[str, nn.Parameter], tensors: Mapping[str, torch.Tensor], what: str) -> None:
    check_keys(params, tensors, what)
    with torch.no_grad():
        for k, p in params.items():
            t = tensors[k]
            if tuple(t.shape) != tuple(p.shape):
                raise CheckpointError(f"{what}: {k} has shape {tuple(t.shape)}, the model {tuple(p.shape)}")
            p.copy_(t.to(p.dtype))


def merge_into(parts: PartsBase, settings: Mapping[str, Mapping], tensors: Mapping[str, torch.Tensor],
               base: dict[str, torch.Tensor], what: str = "adapter") -> None:  # fmt: skip
    """Merge an adapter into ``parts`` in place; the originals of every weight it changes go to ``base``.

    ``base`` (key ``stage.path``) is only added to, so it keeps the weights of the base model
    across several merges as long as :func:`restore` runs between them.
    """
    unknown = sorted(set(settings) - set(STAGES))
    if unknown:
        raise CheckpointError(f"{what}: unknown stages {unknown}")
    modules = stage_modules(parts)
    for stage, st in settings.items():
        module = modules[stage]
        mine = {k: v for k, v in tensors.items() if k.startswith(stage + ".")}
        if st["kind"] in ("lora", "ia3"):
            root = module.get_submodule(PEFT_ROOTS[stage])
            tuner = inject(root, st)
            try:
                _copy(owned_parameters(module, stage, st), mine, f"{what} ({stage})")
                from peft.tuners.tuners_utils import BaseTunerLayer

                for path, layer in root.named_modules():
                    if isinstance(layer, BaseTunerLayer):
                        for n, p in layer.get_base_layer().named_parameters(recurse=False):
                            base.setdefault(f"{stage}.{PEFT_ROOTS[stage]}.{path}.{n}", p.detach().clone())
            except BaseException:
                unload(tuner, root, merge=False)
                raise
            unload(tuner, root, merge=True)
        else:
            params = owned_parameters(module, stage, st)
            check_keys(params, mine, f"{what} ({stage})")
            for k, p in params.items():
                base.setdefault(k, p.detach().clone())
            _copy(params, mine, f"{what} ({stage})")
    stray = sorted(k for k in tensors if k.split(".", 1)[0] not in settings)
    if stray:
        raise CheckpointError(f"{what}: tensors for stages without settings: {', '.join(stray[:5])}")


def restore(parts: PartsBase, base: Mapping[str, torch.Tensor]) -> None:
    """Copy the saved originals back (undo every merge since ``base`` was started)."""
    modules = stage_modules(parts)
    with torch.no_grad():
        for key, value in base.items():
            stage, name = key.split(".", 1)
            modules[stage].get_parameter(name).copy_(value)


def count(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
