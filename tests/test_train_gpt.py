from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tests.helpers import debug_gpt_config, make_coded_corpus
from voxsmith.checkpoints import load_safetensors
from voxsmith.text.tokenizer import PhoneTokenizer
from voxsmith.train.content import train_codec
from voxsmith.train.gpt import GPTData, GPTTrainConfig, train_gpt


def test_gpt_recipe_trains_and_resumes(tmp_path):
    corpus, _, _ = make_coded_corpus(tmp_path)
    data = GPTData(corpus, "train", PhoneTokenizer())
    rng = np.random.default_rng(0)
    batch, speakers, langs = data.make_batch(data.pick(rng, 200), rng, 100)
    assert batch.spk_feats.shape[-1] == 80 and batch.spk_feats.shape[1] <= 100
    assert batch.codes.max() < 16 and speakers.max() < 3 and (langs == 0).all()
    cfg = GPTTrainConfig(
        steps=12, max_batch_codes=200, max_ref_frames=60, warmup=1, log_every=2, val_every=6,
        dropout=0.3, code_noise=0.1, self_feed=0.2, text_drop=0.2,
    )  # fmt: skip
    out = tmp_path / "gpt"
    path = train_gpt(corpus, out, 16, cfg, debug_gpt_config(16))
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    ce = [r["mel_ce"] for r in rows if "mel_ce" in r]
    assert ce[-1] < ce[0]
    val = [r for r in rows if "val_mel_ce" in r]
    assert val and all(r["val_emo_spread"] > 0 and r["val_emo_norm"] > 0 for r in val)
    assert all(0.0 <= r["val_mel_acc"] <= 1.0 for r in val)
    # a text-drop run also scores the codes with every text emptied (the guidance's other half)
    assert all(r["val_mel_ce_notext"] > 0 and r["val_mel_ce_notext"] != r["val_mel_ce"] for r in val)
    tensors, config, _ = load_safetensors(path, kind="gpt")
    assert config["model_dim"] == 32 and tensors["mel_head.weight"].shape[0] == 18
    assert config["dropout"] == 0.3  # the training override is recorded
    cfg.steps = 14
    train_gpt(corpus, out, 16, cfg, debug_gpt_config(16))
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert max(steps) == 14 and steps.count(2) == 1
    assert torch.isfinite(tensors["mel_head.weight"]).all()


def test_reset_emotion_conditioner_touches_only_the_emotion_path():
    from voxsmith.models.gpt import UnifiedVoice
    from voxsmith.train.gpt import EMOTION_MODULES, reset_emotion_conditioner

    torch.manual_seed(1)
    model = UnifiedVoice(debug_gpt_config(16))
    with torch.no_grad():
        model.emo_layer.weight.mul_(1000.0)  # a collapsed, inflated emotion path
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.emo_layer.weight.sum().backward()
    model.text_embedding.weight.sum().backward()
    opt.step()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    reset_emotion_conditioner(model, opt, seed=3)
    after = model.state_dict()
    torch.manual_seed(3)
    fresh = UnifiedVoice(debug_gpt_config(16)).state_dict()
    for k in after:
        if k.split(".")[0] in EMOTION_MODULES:
            assert torch.equal(after[k], fresh[k]), k
        else:
            assert torch.equal(after[k], before[k]), k
    assert model.emo_layer.weight not in opt.state and model.text_embedding.weight in opt.state


def _codes_file(path, clips: dict[str, np.ndarray]):
    ids = np.array(list(clips))
    lens = np.array([len(c) for c in clips.values()])
    np.savez(path, ids=ids, lens=lens, codes=np.concatenate(list(clips.values())).astype(np.int16))
    return path


def test_code_correspondence_recovers_a_renumbering_and_moves_rows(tmp_path):
    from voxsmith.train.code_remap import code_correspondence, remap_code_rows
    from voxsmith.train.data import load_codes

    rng = np.random.default_rng(0)
    perm = rng.permutation(8)  # new code perm[c] marks the frames old code c marked
    old = {f"c{i}": rng.integers(0, 8, 40) for i in range(5)}
    new = {k: perm[v] for k, v in old.items()}
    old_path = _codes_file(tmp_path / "old.npz", old)
    new_path = _codes_file(tmp_path / "new.npz", new)
    mapping, agreement = code_correspondence(load_codes(old_path), load_codes(new_path), 8, 8)
    assert agreement == 1.0 and (mapping[perm] == np.arange(8)).all()
    rows = torch.arange(10, dtype=torch.float32)[:, None].repeat(1, 3)  # 8 codes + start + stop
    state = {"mel_embedding.weight": rows, "mel_head.weight": rows * 2, "mel_head.bias": rows[:, 0]}
    moved = remap_code_rows(state, mapping, 8)
    assert torch.equal(moved["mel_embedding.weight"][perm, 0], torch.arange(8.0))
    assert torch.equal(moved["mel_head.bias"][8:], torch.tensor([8.0, 9.0]))  # start/stop stay last
    # a coarser new codebook: each new code takes the old code it overlaps most
    merged = {k: v // 2 for k, v in old.items()}
    mapping, agreement = code_correspondence(old, merged, 8, 4)
    assert set(mapping.tolist()) <= set(range(8)) and all(m // 2 == i for i, m in enumerate(mapping))
    assert 0.4 < agreement < 0.7


def test_gpt_init_with_remapped_codes(tmp_path):
    corpus, content, _ = make_coded_corpus(tmp_path)
    cfg = GPTTrainConfig(steps=2, max_batch_codes=200, max_ref_frames=60, warmup=1, val_every=2)
    first = train_gpt(corpus, tmp_path / "gpt1", 16, cfg, debug_gpt_config(16))
    before = (corpus / "cache" / "codes_train.npz").read_bytes()
    train_codec(corpus, content, tmp_path / "codec2", codebook_size=8, seed=1)  # refit, fewer codes
    old_codes = corpus / "cache" / "codes_train.previous.npz"  # kept by the refit
    assert old_codes.read_bytes() == before
    cfg0 = GPTTrainConfig(steps=1, lr=0.0, max_batch_codes=200, max_ref_frames=60, warmup=1, val_every=1)
    second = train_gpt(
        corpus, tmp_path / "gpt2", 8, cfg0, debug_gpt_config(8), init=first, remap_codes=old_codes
    )
    a, _, _ = load_safetensors(first, kind="gpt")
    b, _, _ = load_safetensors(second, kind="gpt")
    assert b["mel_embedding.weight"].shape[0] == 10
    assert torch.equal(b["mel_head.bias"][8:], a["mel_head.bias"][16:])  # start / stop rows
    old_rows = {tuple(r.tolist()) for r in a["mel_embedding.weight"][:16]}
    assert all(tuple(r.tolist()) in old_rows for r in b["mel_embedding.weight"][:8])
    assert torch.equal(b["text_embedding.weight"], a["text_embedding.weight"])


def test_remap_and_latent_inputs_fail_clearly(tmp_path, capsys):
    from voxsmith.cli.main import main
    from voxsmith.errors import CheckpointError, DataError
    from voxsmith.train.data import load_codes
    from voxsmith.train.gpt_latents import latents_cache

    with pytest.raises(DataError, match="codes file not found"):
        load_codes(tmp_path / "missing.npz")
    with pytest.raises(CheckpointError, match="GPT weights not found"):
        latents_cache(tmp_path, "train", tmp_path / "missing_gpt.safetensors")
    argv = [
        "train",
        "gpt",
        "--data",
        str(tmp_path),
        "--out",
        str(tmp_path / "run"),
        "--codec",
        "c.safetensors",
    ]
    assert main([*argv, "--remap-codes", "old.npz"]) == 2
    assert "give --init too" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_gpt_grows_deeper_from_a_trained_one_and_resumes_at_its_depth(tmp_path, capsys):
    from dataclasses import replace

    from voxsmith.errors import ConfigError
    from voxsmith.models.gpt import UnifiedVoice
    from voxsmith.models.gpt_grow import layer_map
    from voxsmith.train.gpt import init_gpt

    corpus, _, codec = make_coded_corpus(tmp_path)
    cfg = GPTTrainConfig(steps=3, max_batch_codes=200, max_ref_frames=60, warmup=1, val_every=3)
    small = train_gpt(corpus, tmp_path / "small", 16, cfg, debug_gpt_config(16))
    old, new = UnifiedVoice(debug_gpt_config(16)), UnifiedVoice(replace(debug_gpt_config(16), layers=3))
    init_gpt(old, small)
    init_gpt(new, small)
    old.eval(), new.eval()
    data = GPTData(corpus, "valid", PhoneTokenizer())
    rng = np.random.default_rng(1)
    batch, _, _ = data.make_batch(data.pick(rng, 200), rng, 60)
    with torch.no_grad():
        a, b = old(batch), new(batch)
    # the grown GPT computes what the trained one did (new blocks are identities) ...
    assert torch.allclose(a.mel_loss, b.mel_loss, atol=1e-6)
    assert torch.allclose(a.latents, b.latents, atol=1e-5)
    # ... and has new weights of its own to learn with
    assert sum(p.numel() for p in new.parameters()) > sum(p.numel() for p in old.parameters())
    assert layer_map(4, 8) == [0, None, 1, None, 2, None, 3, None]
    assert layer_map(4, 6) == [0, 1, None, 2, 3, None]
    with pytest.raises(ConfigError, match="only grow"):
        layer_map(4, 3)
    # the recipe: layers deeper than --init grows it; a resume keeps the run's depth by itself
    out = tmp_path / "deep"
    train_gpt(corpus, out, 16, cfg, debug_gpt_config(16), init=small, layers=2)
    cfg.steps = 5
    path = train_gpt(corpus, out, 16, cfg, debug_gpt_config(16))
    tensors, config, _ = load_safetensors(path, kind="gpt")
    assert config["layers"] == 2 and "gpt.h.1.attn.c_proj.weight" in tensors
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert max(steps) == 5
    # the CLI: a GPT cannot shrink, and --depth below 1 stops before any training
    from voxsmith.cli.main import main

    argv = ["train", "gpt", "--data", str(corpus), "--codec", str(codec)]
    assert main([*argv, "--out", str(tmp_path / "bad1"), "--depth", "0"]) == 2
    assert (
        main([*argv, "--out", str(tmp_path / "bad2"), "--init", str(path), "--depth", "1", "--steps", "1"])
        == 2
    )
    err = capsys.readouterr().err
    assert "--depth must be >= 1" in err and "only grow" in err
    assert not (tmp_path / "bad2" / "gpt.safetensors").exists()
