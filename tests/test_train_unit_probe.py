from __future__ import annotations

import json

import pytest
import torch

from tests.helpers import debug_gpt_config, make_coded_corpus
from voxsmith.errors import CheckpointError
from voxsmith.text.tokenizer import PhoneTokenizer, Segment
from voxsmith.train.gpt import GPTTrainConfig, train_gpt
from voxsmith.train.unit_probe import BLANK, FIRST_SPOKEN, UnitProbe, spoken_units


def test_spoken_units_drop_tags_boundaries_pauses_and_padding():
    tok = PhoneTokenizer()
    ids = tok.encode(Segment("hi there.", ["<en>", "HH", "AY1", "_", "DH", "EH1", "R", "."]))
    text = torch.tensor([ids, ids[:4] + [0] * (len(ids) - 4)])
    targets, counts = spoken_units(text, torch.tensor([len(ids), 4]))
    assert counts.tolist() == [5, 2]  # HH AY1 DH EH1 R; HH AY1
    assert tok.decode(targets.tolist()) == "HH AY1 DH EH1 R HH AY1"
    assert (targets >= FIRST_SPOKEN).all() and BLANK < FIRST_SPOKEN


def test_unit_probe_learns_an_alignment_and_reads_it_back():
    torch.manual_seed(0)
    vocab, dim = 20, 8
    units = torch.tensor([[12, 15, 13, 0], [14, 12, 0, 0]])  # padded with 0
    lengths = torch.tensor([3, 2])
    codes = torch.tensor([9, 6])
    # latents that say each unit for a few frames: a linear head can read them
    frames = [[12, 12, 12, 15, 15, 15, 13, 13, 13], [14, 14, 14, 12, 12, 12, 0, 0, 0]]
    latents = torch.nn.functional.one_hot(torch.tensor(frames) % dim, dim).float()
    probe = UnitProbe(dim, vocab)
    before = probe.unit_error(latents, codes, units, lengths)
    opt = torch.optim.Adam(probe.parameters(), lr=0.1)
    first = None
    for _ in range(150):
        loss = probe.loss(latents, codes, units, lengths)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.2 * first
    assert before > 0.5 and probe.unit_error(latents, codes, units, lengths) == 0.0
    # more units than frames cannot be aligned: zero, not inf
    short = probe.loss(latents[:, :2], torch.tensor([2, 2]), units, lengths)
    assert torch.isfinite(short)


def test_unit_probe_switched_on_when_resuming(tmp_path):
    corpus, _, _ = make_coded_corpus(tmp_path)
    cfg = GPTTrainConfig(steps=4, max_batch_codes=200, max_ref_frames=60, warmup=1, log_every=2, val_every=4)
    out = tmp_path / "gpt"
    train_gpt(corpus, out, 16, cfg, debug_gpt_config(16))
    cfg.steps, cfg.unit_ctc_weight = 8, 1.0
    train_gpt(corpus, out, 16, cfg, debug_gpt_config(16))
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows if "unit_ctc" in r] == [6, 8]
    assert all(r["unit_ctc"] > 0 for r in rows if "unit_ctc" in r)
    val = [r for r in rows if "val_mel_ce" in r]
    assert "val_unit_error" not in val[0] and val[-1]["val_unit_error"] > 0  # 4 steps: still misreads
    state = torch.load(out / "state.pt", weights_only=False)
    assert "unit_probe" in state["modules"]
    # switching it off again cannot reuse the optimiser: a clear error, nothing overwritten
    cfg.steps, cfg.unit_ctc_weight = 10, 0.0
    with pytest.raises(CheckpointError, match="same training heads"):
        train_gpt(corpus, out, 16, cfg, debug_gpt_config(16))
    assert torch.load(out / "state.pt", weights_only=False)["step"] == 8
