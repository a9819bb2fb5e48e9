"""Function-preserving depth growth of the GPT-2 trunk: a trained GPT into a deeper one.

The tiny GPT (4 blocks) underfits its corpus (train and validation code CE sit together), and
training a deeper one from scratch on CPU would throw away hours of training. So the deeper
model starts as the trained one: each new GPT-2 block gets its attention and MLP output
projections (``attn.c_proj``, ``mlp.c_proj``) at zero, so both of its residual branches add
nothing and the block passes its input through; at step 0 the grown model computes exactly what
the old one did, and training only adds. New blocks are spread evenly, one after each of the
old blocks in turn (4 → 8: old, new, old, new, ...), so every depth of the trunk gains capacity.
"""

from __future__ import annotations

import torch

from voxsmith.errors import ConfigError

BLOCKS = "gpt.h."
ZEROED = ("attn.c_proj.weight", "attn.c_proj.bias", "mlp.c_proj.weight", "mlp.c_proj.bias")


def layer_map(old: int, new: int) -> list[int | None]:
    """For each new block index, the old block it copies (None: a new identity block)."""
    if old < 1 or new < old:
        raise ConfigError(f"GPT growth: {old} → {new} blocks; a GPT can only grow (from at least 1 block)")
    out: list[int | None] = []
    added = new - old
    for j in range(old):
        out.append(j)
        # the new blocks that follow old block j: an even share of them, rounding spread out
        out += [None] * ((j + 1) * added // old - j * added // old)
    return out


def grow_layers(
    tensors: dict[str, torch.Tensor], fresh: dict[str, torch.Tensor], old: int, new: int
) -> dict[str, torch.Tensor]:
    """A state dict for the ``new``-block GPT from ``tensors`` of the ``old``-block one.

    ``fresh``: the new model's own (randomly initialised) state dict, the source of the new
    blocks' norms, attention and MLP inputs. Everything outside the trunk's blocks is copied.
    """
    if not any(k.startswith(BLOCKS) for k in tensors):
        raise ConfigError(f"GPT growth: no {BLOCKS}* blocks in the checkpoint")
    out = {k: v for k, v in tensors.items() if not k.startswith(BLOCKS)}
    for i, src in enumerate(layer_map(old, new)):
        dst = f"{BLOCKS}{i}."
        for name in (k[len(dst) :] for k in fresh if k.startswith(dst)):
            if src is not None:
                out[dst + name] = tensors[f"{BLOCKS}{src}.{name}"]
            elif name in ZEROED:
                out[dst + name] = torch.zeros_like(fresh[dst + name])
            else:
                out[dst + name] = fresh[dst + name].clone()
    return out
