"""The GPT-2 block stack run by voxsmith's own loop, with a preallocated KV cache.

The blocks are transformers' ``GPT2Model`` modules (``gpt.h.N.attn.c_attn`` ... : the official
checkpoint names and what peft targets), but the stack is driven here rather than through
``GPT2Model.forward``: the official model has no GPT-2 token or position tables (its inputs
are embeddings with their own position tables), and decoding wants a cache that is written in
place instead of concatenated every step. Training and decoding share this one code path, so
cached decoding equals the full forward by construction. Every submodule is called as a
module (``block.attn.c_attn(h)``), so LoRA / IA³ wrappers installed by peft take effect.

Shapes: B rows, T new positions, S cached + new positions, L blocks, H heads, d head size,
D = H·d.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from transformers import GPT2Config, GPT2Model
from transformers.pytorch_utils import Conv1D

SMALL_ROWS = 16  # up to this many rows per matmul, oneDNN's kernel beats MKL's on these CPUs


def build_gpt2(layers: int, dim: int, heads: int, positions: int, dropout: float) -> GPT2Model:
    """A ``GPT2Model`` without its token/position tables (the official layout: ``h.*``, ``ln_f``)."""
    config = GPT2Config(
        vocab_size=256,  # unused: the token table is removed below
        n_positions=positions,
        n_ctx=positions,
        n_embd=dim,
        n_layer=layers,
        n_head=heads,
        resid_pdrop=dropout,
        embd_pdrop=dropout,
        attn_pdrop=dropout,
        use_cache=False,
    )
    gpt = GPT2Model(config)
    # inputs arrive as embeddings with their own learned position tables (official layout)
    del gpt.wte
    del gpt.wpe
    for block in gpt.h:
        # the eager-attention causal table (positions² bools per block) is never used here
        del block.attn.bias
        del block.attn.masked_bias
    return gpt


class KVCache:
    """Keys and values of every block, preallocated: ``(L, 2, B, H, capacity, d)``.

    Beam search reorders rows every step; that copy goes into a second buffer of the same
    shape (``index_select(out=...)``, one pass over memory; the buffer is made at the first
    reorder, so sampling never pays for it) and the two are swapped. Rows of
    one input share their prompt, so after :meth:`expand` only positions past the prompt
    are ever moved.
    """

    def __init__(self, layers: int, batch: int, heads: int, head_dim: int, capacity: int, like: torch.Tensor):
        self.data = like.new_empty((layers, 2, batch, heads, capacity, head_dim))
        self.spare: torch.Tensor | None = None  # second buffer for reordering, allocated on demand
        self.length = 0  # positions filled so far
        self.shared = 0  # positions identical across the rows of one input (the prompt)

    @property
    def capacity(self) -> int:
        return self.data.size(4)

    @property
    def batch(self) -> int:
        return self.data.size(2)

    def write(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Store ``k, v (B, H, T, d)`` after the filled part; return the views ``(B, H, S, d)``."""
        end = self.length + k.size(2)
        self.data[layer, 0, :, :, self.length : end] = k
        self.data[layer, 1, :, :, self.length : end] = v
        return self.data[layer, 0, :, :, :end], self.data[layer, 1, :, :, :end]

    def advance(self, steps: int) -> None:
        self.length += steps

    def expand(self, repeats: int) -> None:
        """Repeat every row ``repeats`` times (row i → rows i·r … i·r+r-1), e.g. one per beam."""
        shape = (*self.data.shape[:2], self.batch * repeats, *self.data.shape[3:])
        new = self.data.new_empty(shape)
        new[:, :, :, :, : self.length] = self.data[:, :, :, :, : self.length].repeat_interleave(
            repeats, dim=2
        )
        self.spare = None  # made by the first reorder (beam search); sampling never needs it
        self.data = new
        self.shared = self.length

    def reorder(self, index: torch.Tensor) -> None:
        """Row ``index[j]`` becomes row j; rows only move within the group of one input."""
        if bool((index == torch.arange(self.batch, device=index.device)).all()):
            return  # identity: nothing to move
        if self.spare is None:  # the shared prompt must be in both buffers
            self.spare = self.data.clone() if self.shared else torch.empty_like(self.data)
        lo, hi = self.shared, self.length
        torch.index_select(self.data[:, :, :, :, lo:hi], 2, index, out=self.spare[:, :, :, :, lo:hi])
        self.data, self.spare = self.spare, self.data


def attention_mask(key_valid: torch.Tensor | None, new: int, total: int) -> torch.Tensor | None:
    """Boolean ``(B, 1, T, S)`` mask: causal, minus padded keys; None when plain causal suffices.

    Every query may see itself, so a padded query row never has an empty softmax (which would
    put NaNs into the cache and, through 0·NaN, into real rows).
    """
    if key_valid is None or bool(key_valid.all()):
        return None
    device = key_valid.device
    q_pos = torch.arange(total - new, total, device=device)[:, None]
    k_pos = torch.arange(total, device=device)[None, :]
    causal = k_pos <= q_pos  # (T, S)
    mask = causal[None] & key_valid[:, None, :]
    mask = mask | (k_pos == q_pos)[None]
    return mask.unsqueeze(1)


def small_matmuls(x: torch.Tensor) -> bool:
    """Whether :func:`linear` may take oneDNN's fp32 kernel for ``x`` (CPU inference, few rows).

    MKL runs a few-row fp32 GEMM as one pass over the weights per row, and on AMD CPUs without
    its fast paths even a single row reaches only about half the memory bandwidth; oneDNN's
    kernel reads the weights once at full speed (measured: 2× for 1 row, 3× for 3 rows).
    Same fp32 arithmetic, another summation order.
    """
    return (
        x.device.type == "cpu"
        and x.dtype == torch.float32
        and not torch.is_grad_enabled()
        and x.numel() // x.size(-1) <= SMALL_ROWS
        and torch.backends.mkldnn.is_available()
        and hasattr(torch.ops.mkldnn, "_linear_pointwise")
    )


def linear(module: nn.Module, x: torch.Tensor, fast: bool) -> torch.Tensor:
    """``module(x)``; a plain GPT-2 ``Conv1D`` or ``nn.Linear`` goes through oneDNN when ``fast``.

    Wrapped modules (LoRA, IA³) are called as they are, so adapters always take effect.
    """
    if fast and type(module) is Conv1D:  # weight (in, out): its transpose is the (out, in) view
        return torch.ops.mkldnn._linear_pointwise(x, module.weight.t(), module.bias, "none", [], "")
    if fast and type(module) is nn.Linear:
        return torch.ops.mkldnn._linear_pointwise(x, module.weight, module.bias, "none", [], "")
    return module(x)


def run_stack(
    gpt: GPT2Model,
    x: torch.Tensor,
    *,
    cache: KVCache | None = None,
    key_valid: torch.Tensor | None = None,
) -> torch.Tensor:
    """Run every block and ``ln_f`` over ``x (B, T, D)``; returns ``(B, T, D)``.

    ``cache``: append this call's keys/values after ``cache.length`` and attend to all of them.
    ``key_valid``: ``(B, S)`` bool over all keys (cached + new), False for padding.
    """
    b, t, dim = x.shape
    heads = gpt.config.n_head
    past = cache.length if cache is not None else 0
    mask = attention_mask(key_valid, t, past + t)
    # a single new position attends to everything before it: no mask needed
    causal = mask is None and t > 1
    if causal and past > 0:
        mask = attention_mask(torch.ones(b, past + t, dtype=torch.bool, device=x.device), t, past + t)
        causal = False
    dropout = gpt.config.attn_pdrop if gpt.training else 0.0
    fast = small_matmuls(x)
    h = gpt.drop(x)
    for i, block in enumerate(gpt.h):
        attn, mlp = block.attn, block.mlp
        a = block.ln_1(h)
        q, k, v = linear(attn.c_attn, a, fast).split(dim, dim=2)
        q = q.view(b, t, heads, -1).transpose(1, 2)  # (B, H, T, d)
        k = k.view(b, t, heads, -1).transpose(1, 2)
        v = v.view(b, t, heads, -1).transpose(1, 2)
        if cache is not None:
            k, v = cache.write(i, k, v)  # (B, H, S, d)
        a = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=dropout, is_causal=causal)
        a = attn.resid_dropout(linear(attn.c_proj, a.transpose(1, 2).reshape(b, t, dim), fast))
        h = h + a
        m = linear(mlp.c_proj, mlp.act(linear(mlp.c_fc, block.ln_2(h), fast)), fast)
        h = h + mlp.dropout(m)
    if cache is not None:
        cache.advance(t)
    return gpt.ln_f(h)
