"""Carry a trained GPT over to a refitted codec by matching codes that mark the same frames.

A new content encoder or codebook renumbers the codes, so a GPT trained on the old ones
would start its code embedding and output head from rows that now mean something else.
Both codecs run at the same frame rate over the same clips, so every frame has an old
and a new code; each new code takes the GPT rows of the old code it co-occurs with most.
Rows after the codebook (start / stop codes) keep their place at the end. Codes that
never occur keep their old row. This is only an initialisation: training then separates
new codes that inherited the same row.
"""

from __future__ import annotations

import logging

import numpy as np
import torch

from voxsmith.errors import DataError

log = logging.getLogger(__name__)

CODE_ROWS = ("mel_embedding.weight", "mel_head.weight", "mel_head.bias")


def code_correspondence(
    old: dict[str, np.ndarray], new: dict[str, np.ndarray], n_old: int, n_new: int
) -> tuple[np.ndarray, float]:
    """For each new code, the old code seen most often on the same frames.

    Returns ``(mapping (n_new,), agreement)``, where agreement is the share of frames whose
    old code is the one their new code maps to (1.0 for a pure renumbering).
    """
    counts = np.zeros((n_new, n_old), dtype=np.int64)
    shared = 0
    for cid, new_codes in new.items():
        old_codes = old.get(cid)
        if old_codes is None:
            continue
        n = min(len(old_codes), len(new_codes))
        np.add.at(counts, (new_codes[:n].astype(np.int64), old_codes[:n].astype(np.int64)), 1)
        shared += n
    if shared == 0:
        raise DataError("the old and new codes share no clip: cannot match codes")
    mapping = counts.argmax(1)
    seen = counts.sum(1) > 0
    mapping[~seen] = np.arange(n_new)[~seen] % n_old  # unseen: any row, training decides
    agreement = float(counts[np.arange(n_new), mapping].sum() / shared)
    return mapping, agreement


def remap_code_rows(
    state: dict[str, torch.Tensor], mapping: np.ndarray, n_old: int
) -> dict[str, torch.Tensor]:
    """GPT state dict with its code rows reordered for the new codes (``mapping`` from
    ``code_correspondence``); rows past ``n_old`` (start / stop) follow at the end."""
    out = dict(state)
    for name in CODE_ROWS:
        rows = state[name]
        if rows.shape[0] < n_old:
            raise DataError(f"{name}: {rows.shape[0]} rows, fewer than the {n_old} old codes")
        index = torch.cat([torch.as_tensor(mapping, dtype=torch.long), torch.arange(n_old, rows.shape[0])])
        out[name] = rows[index].clone()
    return out
