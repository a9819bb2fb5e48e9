from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers import debug_gpt_config, make_coded_corpus
from voxsmith.errors import DataError
from voxsmith.text.tokenizer import PhoneTokenizer
from voxsmith.train.gpt import GPTData, GPTTrainConfig, _Budget, train_gpt
from voxsmith.train.gpt_pack import (
    MEL_HI,
    MEL_LO,
    PackedGPTData,
    dequantise_mel,
    gpt_data,
    pack_gpt,
    quantise_mel,
)


def test_mel_quantisation_error_is_half_a_step():
    rng = np.random.default_rng(0)
    mel = rng.uniform(MEL_LO, MEL_HI, size=(50, 80)).astype(np.float32)
    back = dequantise_mel(quantise_mel(mel))
    step = (MEL_HI - MEL_LO) / 255
    assert np.abs(back - mel).max() <= step / 2 + 1e-5
    assert quantise_mel(np.full((1, 80), 99.0)).max() == 255  # clipped, not wrapped


def test_pack_holds_what_the_corpus_gives_the_recipe(tmp_path):
    corpus, _, _ = make_coded_corpus(tmp_path)
    pack = pack_gpt(corpus, tmp_path / "pack", refs_per_style=1, max_ref_frames=40)
    info = json.loads((pack / "pack.json").read_text())
    assert set(info["splits"]) == {"train", "valid"}
    tok = PhoneTokenizer()
    src, packed = GPTData(corpus, "train", tok), gpt_data(pack, "train", tok)
    assert isinstance(packed, PackedGPTData) and not isinstance(gpt_data(corpus, "train", tok), PackedGPTData)
    assert len(packed.keep) == len(src.keep)
    for i, k in enumerate(src.keep):  # every training clip keeps its codes, phones and speaker
        assert np.array_equal(packed.codes[i], src.codes[k])
        assert packed.text[i] == src.text[k]
        assert packed.data.rows[i]["speaker"] == src.data.clips[k].row["speaker"]
    # one reference per (speaker, style), cut to 40 frames, within a quantisation step
    assert info["splits"]["train"]["refs"] == len(src.by_style)
    for k, q in packed.data.ref_mels.items():
        row = packed.data.rows[k]
        assert packed.by_style[(row["speaker"], row["style"])] == [k] and len(q) <= 40
        want = src.data.clip_mel(src.keep[k])[:, :40]
        assert torch.allclose(packed.data.clip_mel(k), want, atol=(MEL_HI - MEL_LO) / 255)
    with pytest.raises(DataError, match="no reference mel"):
        packed.data.clip_mel(next(k for k in range(len(packed.keep)) if k not in packed.data.ref_mels))
    rng = np.random.default_rng(0)
    batch, speakers, langs = packed.make_batch(packed.pick(rng, 200), rng, 30)
    assert batch.spk_feats.shape[1] <= 30 and batch.emo_feats.shape[-1] == 80
    assert speakers.max() < len(packed.data.speakers) and batch.codes.max() < 16
    # the prosody targets travel too
    src.attach_prosody(corpus)
    packed.attach_prosody()
    for i, k in enumerate(src.keep):
        a, b = src.prosody[src.data.clips[k].row["id"]], packed.prosody[packed.data.rows[i]["id"]]
        assert a.shape == b.shape and np.allclose(a, b, atol=1e-2, equal_nan=True)


def test_gpt_recipe_trains_from_a_pack_and_rejects_remapping(tmp_path):
    corpus, _, _ = make_coded_corpus(tmp_path)
    pack = pack_gpt(corpus, tmp_path / "pack", refs_per_style=2, max_ref_frames=60)
    cfg = GPTTrainConfig(
        steps=8,
        max_batch_codes=200,
        max_ref_frames=60,
        warmup=1,
        log_every=2,
        val_every=4,
        prosody_weight=1.0,
    )
    out = tmp_path / "gpt"
    train_gpt(pack, out, 16, cfg, debug_gpt_config(16))
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    ce = [r["mel_ce"] for r in rows if "mel_ce" in r]
    assert ce[-1] < ce[0] and any("val_prosody" in r for r in rows)
    with pytest.raises(DataError, match="remap"):
        train_gpt(
            pack,
            tmp_path / "g2",
            16,
            cfg,
            debug_gpt_config(16),
            init=out / "gpt.safetensors",
            remap_codes=pack,
        )
    no_pros = pack_gpt(corpus, tmp_path / "pack2", prosody=False)
    with pytest.raises(DataError, match="prosody"):
        PackedGPTData(no_pros, "train").attach_prosody()
    info = json.loads((no_pros / "pack.json").read_text())
    (no_pros / "pack.json").write_text(json.dumps(info | {"version": 99}))
    with pytest.raises(DataError, match="version 99"):
        PackedGPTData(no_pros, "train")


def test_budget_fits_the_schedule_to_the_wall_time(monkeypatch):
    clock = iter([0.0, 10.0, 14.0])  # created at 0; step 20 at 10 s; step 60 at 14 s: 10 steps/s
    monkeypatch.setattr("voxsmith.train.gpt.time.monotonic", lambda: next(clock))
    budget = _Budget(1.0, first_step=0)
    assert budget.fit(0) is None and budget.fit(20) is None
    total = budget.fit(60)
    assert total == 60 + int(0.95 * (60.0 - 14.0) * 10)
    assert budget.fit(61) is None  # fitted once


def test_gpt_recipe_names_a_bad_device_before_reading_data(tmp_path):
    from voxsmith.errors import ConfigError

    with pytest.raises(ConfigError, match="not a torch device"):
        train_gpt(tmp_path / "missing", tmp_path / "out", 16, GPTTrainConfig(device="bogus"))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="no CUDA device"):
            train_gpt(tmp_path / "missing", tmp_path / "out", 16, GPTTrainConfig(device="cuda"))


def test_a_non_finite_batch_changes_no_weight_and_a_diverging_run_stops():
    from voxsmith.train.optim import SkipGuard, optimizer_step

    model = torch.nn.Linear(3, 1)
    opt = torch.optim.AdamW(model.parameters(), lr=0.1)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    before = [p.detach().clone() for p in model.parameters()]
    x = torch.ones(2, 3)
    assert not optimizer_step(model(x).sum() * float("nan"), model.parameters(), opt, sched, 1.0)
    assert not optimizer_step(
        (model(x) * torch.tensor(float("inf"))).sum(), model.parameters(), opt, sched, 1.0
    )
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert sched.last_epoch == 2  # the schedule still advances
    assert optimizer_step(model(x).sum(), model.parameters(), opt, sched, 1.0)
    assert not torch.equal(before[0], model.weight)
    guard = SkipGuard("gpt", limit=3)
    guard(False, 1), guard(False, 2), guard(True, 3), guard(False, 4), guard(False, 5)  # a good step resets
    with pytest.raises(DataError, match="3 steps in a row"):
        guard(False, 6)


def test_pack_gpt_cli(tmp_path, capsys):
    from voxsmith.cli.main import main as cli

    corpus, _, _ = make_coded_corpus(tmp_path)
    assert (
        cli(["corpus", "pack-gpt", str(corpus), "--out", str(tmp_path / "p"), "--refs-per-style", "1"]) == 0
    )
    out = capsys.readouterr().out
    assert "train:" in out and "references" in out and (tmp_path / "p" / "gpt_valid.npz").is_file()
    assert (
        cli(["corpus", "pack-gpt", str(corpus), "--out", str(tmp_path / "q"), "--refs-per-style", "0"]) != 0
    )
    assert "refs_per_style" in capsys.readouterr().err
