"""Function-preserving depth growth of the DiT trunk: a trained S2M into a deeper one.

A trained tiny S2M plateaus; training a deeper one from scratch on CPU would throw its history
away. Instead the deeper model starts as the trained one: its new blocks are identities
(attention ``wo`` and feed-forward ``w2`` at zero, so both residual branches add nothing, and a
new block that merges a U-ViT skip takes ``skip_in_linear = [I | 0]``, ignoring the skip), so
at step 0 the grown model computes exactly what the old one did, and training only adds.

Where the blocks go, with U-ViT skips (blocks ``i < depth // 2`` push, ``i > depth // 2`` pop
LIFO): ``k = (new - old) / 2`` new blocks right after the old encoder half (they push their
identity output), the old middle block, then ``k`` new blocks that pop exactly those pushes,
then the old decoder half, which pops the old encoder blocks as before. Without U-ViT skips the
new blocks sit in the middle too. The depth must grow by an even number of blocks so that the
push/pop pairing is kept.
"""

from __future__ import annotations

import torch

from voxsmith.errors import ConfigError


def block_map(old: int, new: int) -> list[int | None]:
    """For each new block index, the old block it copies (None: a new identity block)."""
    if new < old or (new - old) % 2 or old < 2:
        raise ConfigError(f"DiT growth: depth {old} → {new} must add an even number of blocks to depth ≥ 2")
    k = (new - old) // 2
    half = old // 2
    enc = list(range(half))  # old blocks that push
    return [*enc, *([None] * k), half, *([None] * k), *range(half + 1, old)]


def grow_depth(
    tensors: dict[str, torch.Tensor], fresh: dict[str, torch.Tensor], old: int, new: int, uvit: bool
) -> dict[str, torch.Tensor]:
    """A state dict for the ``new``-deep model from ``tensors`` of the ``old``-deep one.

    ``fresh``: the new model's own (randomly initialised) state dict, the source of the new
    blocks' attention/feed-forward inputs and norms. Everything outside the trunk's blocks is
    copied unchanged.
    """
    prefix = _trunk_prefix(fresh)
    if not any(k.startswith(prefix) for k in tensors):
        raise ConfigError(f"DiT growth: no {prefix}* blocks in the checkpoint")
    mapping = block_map(old, new)
    out = {k: v for k, v in tensors.items() if not k.startswith(prefix)}
    half = new // 2
    for i, src in enumerate(mapping):
        dst = f"{prefix}{i}."
        names = [k[len(dst) :] for k in fresh if k.startswith(dst)]
        for name in names:
            if src is not None:
                out[dst + name] = tensors[f"{prefix}{src}.{name}"]
                continue
            w = fresh[dst + name].clone()
            if name in ("attention.wo.weight", "feed_forward.w2.weight"):
                w.zero_()
            elif name == "skip_in_linear.weight" and uvit and i > half:
                d = w.shape[0]
                w.zero_()
                w[:, :d] = torch.eye(d)
            elif name == "skip_in_linear.bias" and uvit and i > half:
                w.zero_()
            out[dst + name] = w
    return out


def _trunk_prefix(state: dict[str, torch.Tensor]) -> str:
    """The key prefix of the trunk's blocks, e.g. ``models.cfm.estimator.transformer.layers.``."""
    tag = "transformer.layers."
    found = {k[: k.index(tag) + len(tag)] for k in state if tag in k}
    if len(found) != 1:
        raise ConfigError(f"DiT growth: expected one transformer trunk, found {sorted(found)}")
    return found.pop()
