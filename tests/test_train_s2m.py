from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from tests.helpers import debug_gpt_config, make_coded_corpus
from voxsmith.checkpoints import load_safetensors
from voxsmith.errors import ConfigError, DataError
from voxsmith.models.s2m import S2MConfig
from voxsmith.train.s2m import S2MData, S2MTrainConfig, train_s2m


def _style_encoder(path, dim: int = 8):
    """A debug style encoder with ``dim``-wide vectors, exported to ``path``."""
    import torch

    from voxsmith.models.campplus import CAMPPlusConfig
    from voxsmith.models.style import StyleEncoder, StyleEncoderConfig

    torch.manual_seed(0)
    return StyleEncoder(StyleEncoderConfig(CAMPPlusConfig.debug(embedding_size=dim))).save(path)


def _styled_corpus(tmp_path):
    """``make_coded_corpus`` with every clip's style vector written (as the style stage leaves it)."""
    from voxsmith.train.style import style_cache

    corpus, content, codec = make_coded_corpus(tmp_path)
    style_cache(corpus, _style_encoder(tmp_path / "style.safetensors"))
    return corpus, content, codec


def test_s2m_recipe_trains_and_resumes(tmp_path):
    corpus, _, codec = _styled_corpus(tmp_path)
    cfg = S2MTrainConfig(steps=16, batch_size=2, crop_codes=12, warmup=1, log_every=2, val_every=8, lr=1e-3)
    data = S2MData(corpus, "train")
    codes, mel, lens, prompts, style, latent, prosody, contour = data.batch(np.random.default_rng(0), cfg, 8)
    assert mel.shape[-1] == codes.shape[1] * 4 and (prompts < lens).all() and style.shape == (2, 8)
    assert latent is None and prosody is None and contour is None
    model_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    model_cfg.dit.depth, model_cfg.wavenet.num_layers = 2, 1
    out = tmp_path / "s2m"
    path = train_s2m(corpus, codec, out, cfg, model_cfg)
    rows = [json.loads(x) for x in (out / "losses.jsonl").read_text().splitlines()]
    fm = [r["fm_loss"] for r in rows if "fm_loss" in r]
    assert np.mean(fm[-3:]) < np.mean(fm[:3])
    _, config, meta = load_safetensors(path, kind="s2m")
    assert meta["kind"] == "s2m" and config
    cfg.steps = 18
    train_s2m(corpus, codec, out, cfg, model_cfg)
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert max(steps) == 18 and steps.count(2) == 1


def test_s2m_recipe_reads_gpt_latents_and_starts_from_an_s2m_without_them(tmp_path):
    import torch

    from voxsmith.models.s2m import S2M
    from voxsmith.train.data import load_codes
    from voxsmith.train.gpt import GPTTrainConfig, train_gpt
    from voxsmith.train.gpt_latents import latents_cache
    from voxsmith.train.s2m import init_s2m

    corpus, _, codec = _styled_corpus(tmp_path)
    gpt_cfg = debug_gpt_config(16)
    gpt = train_gpt(
        corpus,
        tmp_path / "gpt",
        16,
        GPTTrainConfig(steps=2, max_batch_codes=200, warmup=1, val_every=2),
        gpt_cfg,
    )
    cfg = S2MTrainConfig(steps=4, batch_size=2, crop_codes=12, warmup=1, log_every=2, val_every=4)
    plain_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    plain_cfg.dit.depth, plain_cfg.wavenet.num_layers = 2, 1
    plain = train_s2m(corpus, codec, tmp_path / "s2m", cfg, plain_cfg)
    with_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=32, style_dim=8)
    with_cfg.dit.depth, with_cfg.wavenet.num_layers = 2, 1
    # an S2M without gpt_layer carries over: zero gpt_layer output, the same conditioning
    old, new = S2M(plain_cfg), S2M(with_cfg)
    init_s2m(old, plain)
    init_s2m(new, plain)
    emb, lat = torch.randn(1, 6, 32), torch.randn(1, 6, 32)
    assert torch.allclose(old.condition(emb)[0], new.condition(emb, lat)[0])
    path = train_s2m(corpus, codec, tmp_path / "s2m_gpt", cfg, with_cfg, init=plain, gpt=gpt)
    (cache,) = (corpus / "cache").glob("latents_train_*.npz")
    full = latents_cache(corpus, "train", gpt)
    # the corpus grew (here: one clip's latents missing): only the missing ones are computed
    ids = sorted(full)[1:]
    np.savez(
        cache, ids=np.array(ids), lens=np.array([len(full[i]) for i in ids]),
        codes=np.concatenate([full[i] for i in ids]),
    )  # fmt: skip
    again = latents_cache(corpus, "train", gpt)
    assert set(again) == set(full) and np.array_equal(again[sorted(full)[0]], full[sorted(full)[0]])
    assert set(load_codes(cache)) == set(full)  # and written back
    with pytest.raises(DataError):  # clips without latents drop out; none left is an error
        S2MData(corpus, "train", {})
    tensors, _, _ = load_safetensors(path, kind="s2m")
    assert any(k.startswith("models.gpt_layer.") for k in tensors)
    assert float(tensors["models.gpt_layer.2.weight"].abs().sum()) > 0  # it learned to read them
    with pytest.raises(ConfigError, match="GPT latents"):
        train_s2m(corpus, codec, tmp_path / "s2m_bad", cfg, with_cfg)


def _find(data: S2MData, seg) -> set[int]:
    """Clips whose mel contains ``seg`` (80, F) exactly."""
    import torch

    hits = set()
    for k in data.keep:
        m = data.data.clip_mel(k)
        for s in range(0, m.shape[1] - seg.shape[1] + 1, 4):
            if torch.equal(m[:, s : s + seg.shape[1]], seg):
                hits.add(k)
                break
    return hits


def test_cross_prompt_batches_put_another_clip_of_the_speaker_first(tmp_path):
    import torch

    corpus, _, _ = make_coded_corpus(tmp_path)
    data = S2MData(corpus, "train")
    # distinct style vectors per clip show whose style an item takes
    data.style = {data.data.clips[k].row["id"]: np.full(8, k, np.float32) for k in data.keep}
    cfg = S2MTrainConfig(batch_size=6, crop_codes=12, cross_prompt=1.0)
    codes, mel, lens, prompts, style, *_ = data.batch(np.random.default_rng(1), cfg, 8)
    for i in range(cfg.batch_size):
        p, n = int(prompts[i]), int(lens[i])
        assert 0 < p < n and n <= cfg.crop_codes * 4
        (src,) = _find(data, mel[i, :, :p])
        (tgt,) = _find(data, mel[i, :, p:n])
        rows = data.data.clips[src].row, data.data.clips[tgt].row
        assert src != tgt and rows[0]["speaker"] == rows[1]["speaker"]
        assert torch.equal(style[i], torch.full((8,), float(src)))  # the prompt clip's style
    # without cross prompts the prompt is the start of the same clip
    cfg.cross_prompt = 0.0
    codes, mel, lens, prompts, style, *_ = data.batch(np.random.default_rng(1), cfg, 8)
    for i in range(cfg.batch_size):
        (whole,) = _find(data, mel[i, :, : int(lens[i])])
        assert torch.equal(style[i], torch.full((8,), float(whole)))


def test_warped_batches_move_prompt_and_target_by_one_factor_per_item(tmp_path, capsys):
    import torch

    from voxsmith.audio import SILENCE_LOG_MEL
    from voxsmith.train.content import warp_mel

    corpus, _, codec_path = make_coded_corpus(tmp_path)
    data = S2MData(corpus, "train")
    cfg = S2MTrainConfig(batch_size=6, crop_codes=12, cross_prompt=0.5)
    rng = np.random.default_rng(3)
    plain = data.batch(rng, cfg, 8)
    # the factors are drawn after the crops, so the same seed gives the same crops, then these
    factors = torch.from_numpy(rng.uniform(0.8, 1.2, cfg.batch_size).astype(np.float32))
    cfg.warp = 0.2
    warped = data.batch(np.random.default_rng(3), cfg, 8)
    assert torch.equal(warped.codes, plain.codes) and torch.equal(warped.prompt_lens, plain.prompt_lens)
    assert torch.allclose(warped.mel, warp_mel(plain.mel, factors))
    assert not torch.allclose(warped.mel, plain.mel, atol=1e-3)
    for i in range(cfg.batch_size):  # padding stays silence
        assert torch.allclose(warped.mel[i, :, int(plain.mel_lens[i]) :], torch.tensor(SILENCE_LOG_MEL))
    # validation reads the real voices whatever the training warp, so runs stay comparable
    from voxsmith.models.s2m import S2M
    from voxsmith.train.content import load_codec
    from voxsmith.train.s2m import validate

    model_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    model_cfg.dit.depth, model_cfg.wavenet.num_layers = 2, 1
    torch.manual_seed(0)
    model, codec = S2M(model_cfg), load_codec(codec_path)
    cfg.batch_size = 2
    assert validate(model, codec, data, cfg, 8, batches=1) == validate(
        model, codec, data, dataclasses.replace(cfg, warp=0.0), 8, batches=1
    )
    # and the recipe's crops, whatever a run's crop length and prompt shares
    base = S2MTrainConfig(batch_size=2, cross_prompt=0.5)
    longer = dataclasses.replace(base, crop_codes=40, prompt_min=0.3, prompt_max=0.6)
    assert validate(model, codec, data, longer, 8, batches=1) == validate(
        model, codec, data, base, 8, batches=1
    )
    # the CLI: a warp out of range stops before any run directory is written (content and s2m)
    from voxsmith.cli.main import main

    for stage in ("s2m", "content"):
        out = tmp_path / f"bad_{stage}"
        argv = ["train", stage, "--data", str(corpus), "--codec", str(codec_path), "--out", str(out)]
        assert main([*argv, "--warp", "0.5"]) == 2
        assert "--warp must be in [0, 0.5), got 0.5" in capsys.readouterr().err and not out.exists()
    out = tmp_path / "bad_s2m"
    argv = ["train", "s2m", "--data", str(corpus), "--codec", str(codec_path), "--out", str(out)]
    for extra, message in (
        (["--crop-codes", "4"], "--crop-codes must be >= 8"),
        (["--prompt-share", "0.6", "0.3"], "--prompt-share MIN MAX must satisfy"),
        (["--prompt-share", "0.3", "1.0"], "--prompt-share MIN MAX must satisfy"),
        (["--speaker-loss", "-1"], "--speaker-loss must be >= 0"),
        (["--lr", "0"], "--lr must be in (0, 1), got 0.0"),
    ):
        assert main([*argv, *extra]) == 2
        assert message in capsys.readouterr().err and not out.exists()
    # --lr reaches every stage with an optimiser (s2m once ignored it) and the codec stage refuses it
    import argparse

    from voxsmith.cli.train import _every

    shared = argparse.Namespace(steps=None, lr=1.5e-4, val_every=None, warmup=None)
    assert _every(S2MTrainConfig(), shared).lr == 1.5e-4
    out = tmp_path / "bad_codec"
    assert main(["train", "codec", "--data", str(corpus), "--content", str(codec_path), "--out", str(out),
                 "--lr", "1e-3"]) == 2  # fmt: skip
    assert "takes no --lr" in capsys.readouterr().err and not out.exists()


def test_s2m_grows_deeper_from_a_trained_one_and_resumes_at_its_depth(tmp_path, capsys):
    import torch

    from voxsmith.models.s2m import S2M
    from voxsmith.models.s2m.grow import block_map
    from voxsmith.train.s2m import init_s2m

    corpus, _, codec = _styled_corpus(tmp_path)
    cfg = S2MTrainConfig(steps=4, batch_size=2, crop_codes=12, warmup=1, log_every=2, val_every=4)
    small_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    small_cfg.dit.depth, small_cfg.wavenet.num_layers = 2, 1
    small = train_s2m(corpus, codec, tmp_path / "small", cfg, small_cfg)
    deep_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    deep_cfg.dit.depth, deep_cfg.wavenet.num_layers = 6, 1
    old, new = S2M(small_cfg), S2M(deep_cfg)
    init_s2m(old, small)
    init_s2m(new, small)
    old.eval(), new.eval()
    args = (torch.randn(2, 10, 32), torch.randn(2, 80, 40), torch.tensor([40, 31]), torch.randn(2, 8))

    def loss(m):
        return m.loss(*args, prompt_lens=torch.tensor([9, 5]), generator=torch.Generator().manual_seed(3))

    # the grown model computes what the trained one did (new blocks are identities) ...
    assert torch.allclose(loss(old), loss(new), atol=1e-6)
    # ... but is not a copy: its new blocks have their own weights to learn with
    assert sum(p.numel() for p in new.parameters()) > sum(p.numel() for p in old.parameters())
    assert block_map(2, 6) == [0, None, None, 1, None, None]
    assert block_map(6, 10) == [0, 1, 2, None, None, 3, None, None, 4, 5]
    with pytest.raises(ConfigError, match="even number"):
        block_map(6, 9)
    # the recipe: --depth deeper than --init grows it; a resume keeps the run's depth by itself
    out = tmp_path / "deep"
    train_s2m(corpus, codec, out, cfg, init=small, depth=4)
    cfg.steps = 6
    path = train_s2m(corpus, codec, out, cfg)
    _, config, _ = load_safetensors(path, kind="s2m")
    assert config["dit"]["depth"] == 4
    steps = [json.loads(x)["step"] for x in (out / "losses.jsonl").read_text().splitlines()]
    assert max(steps) == 6
    # the CLI: a depth that cannot be grown to stops with the reason, before any training
    from voxsmith.cli.main import main

    argv = ["train", "s2m", "--data", str(corpus), "--codec", str(codec), "--init", str(small)]
    assert main([*argv, "--out", str(tmp_path / "bad1"), "--depth", "1"]) == 2
    assert main([*argv, "--out", str(tmp_path / "bad2"), "--depth", "5"]) == 2
    err = capsys.readouterr().err
    assert "--depth must be >= 2" in err and "even number" in err
    assert not (tmp_path / "bad2" / "s2m.safetensors").exists()


def test_s2m_recipe_learns_to_read_prosody_offsets_and_resumes(tmp_path):
    from voxsmith.models.prosody import MEASURES

    corpus, _, codec = _styled_corpus(tmp_path)
    cfg = S2MTrainConfig(steps=6, batch_size=2, crop_codes=12, warmup=1, val_every=3, cross_prompt=1.0)
    model_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    model_cfg.dit.depth, model_cfg.wavenet.num_layers = 2, 1
    plain = train_s2m(corpus, codec, tmp_path / "plain", cfg, model_cfg)
    out = tmp_path / "prosody"
    path = train_s2m(corpus, codec, out, cfg, init=plain, prosody=True)
    tensors, config, _ = load_safetensors(path, kind="s2m")
    assert config["prosody_dim"] == len(MEASURES)
    w = tensors["models.prosody_layer.weight"]
    # from zero, at the prosody layer's own (faster) learning rate: about lr * scale per step
    assert float(w.abs().max()) > 2 * cfg.steps * cfg.lr
    cfg.steps = 8  # a resume keeps reading them without being told again
    _, config, _ = load_safetensors(train_s2m(corpus, codec, out, cfg), kind="s2m")
    assert config["prosody_dim"] == len(MEASURES)


def test_s2m_recipe_learns_to_read_the_contour_and_the_bundle_fits_its_head(tmp_path):
    import torch

    from voxsmith.checkpoints import save_safetensors
    from voxsmith.models.gpt import UnifiedVoice
    from voxsmith.models.prosody import CONTOUR
    from voxsmith.train.bundle import fit_contour_head
    from voxsmith.train.data import read_manifest
    from voxsmith.train.gpt_latents import latents_cache
    from voxsmith.train.prosody import contour, prosody_cache, speaker_offsets

    corpus, _, codec = _styled_corpus(tmp_path)
    torch.manual_seed(0)
    gpt = UnifiedVoice(debug_gpt_config(codebook_size=16))
    gpt_path = tmp_path / "gpt.safetensors"
    save_safetensors(gpt.state_dict(), gpt_path, kind="gpt", config=gpt.config.to_dict())
    cfg = S2MTrainConfig(steps=6, batch_size=2, crop_codes=12, warmup=1, val_every=3, cross_prompt=0.5)
    model_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=gpt.config.model_dim, style_dim=8)
    model_cfg.dit.depth, model_cfg.wavenet.num_layers = 2, 1
    out = tmp_path / "contour"
    path = train_s2m(corpus, codec, out, cfg, model_cfg, gpt=gpt_path, contour=True)
    tensors, config, _ = load_safetensors(path, kind="s2m")
    assert config["contour_dim"] == len(CONTOUR) and config["prosody_dim"] == 0
    assert float(tensors["models.contour_layer.weight"].abs().max()) > 2 * cfg.steps * cfg.lr  # fast rate
    cfg.steps = 8  # a resume keeps reading it without being told again
    _, config, _ = load_safetensors(train_s2m(corpus, codec, out, cfg, gpt=gpt_path), kind="s2m")
    assert config["contour_dim"] == len(CONTOUR)
    # the bundle's head: a least-squares fit of the clips' contours on their latents
    head = fit_contour_head(corpus, gpt_path, ridge=1e-4)
    lat, per_code = latents_cache(corpus, "train", gpt_path), prosody_cache(corpus, "train")
    rows = [r for r in read_manifest(corpus) if r["split"] == "train" and r["id"] in lat]
    base = speaker_offsets(per_code, rows)
    x = torch.cat([torch.from_numpy(lat[r["id"]].astype(np.float32)) for r in rows])
    y = torch.cat(
        [torch.from_numpy(contour(per_code[r["id"]], base[r["speaker"]])[: len(lat[r["id"]])]) for r in rows]
    )
    fitted = float((head(x) - y).pow(2).mean())
    assert fitted < float((y - y.mean(0)).pow(2).mean())  # better than each measure's mean
    assert head.spread > 0


def test_continuing_an_s2m_needs_style_vectors_and_style_computes_only_the_missing_ones(
    tmp_path, capsys, caplog
):
    from voxsmith.cli.main import main
    from voxsmith.fileio import file_digest

    corpus, _, codec = make_coded_corpus(tmp_path)
    cfg = S2MTrainConfig(steps=2, batch_size=2, crop_codes=12, warmup=1, val_every=2)
    model_cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    model_cfg.dit.depth, model_cfg.wavenet.num_layers = 2, 1
    plain = train_s2m(corpus, codec, tmp_path / "plain", cfg, model_cfg)  # a fresh run may (warned)
    # continuing it on a corpus without style vectors would teach it to ignore them: refused
    argv = ["train", "s2m", "--data", str(corpus), "--codec", str(codec), "--init", str(plain)]
    assert main([*argv, "--out", str(tmp_path / "cont")]) == 2
    assert "--style" in capsys.readouterr().err and not (tmp_path / "cont").exists()
    # --style computes them, recording the encoder, and the run reads them
    enc = _style_encoder(tmp_path / "style.safetensors")
    assert main([*argv, "--out", str(tmp_path / "cont"), "--steps", "2", "--style", str(enc)]) == 0
    cache = corpus / "cache" / "style_train.npz"
    with np.load(cache) as z:
        ids, style, who = z["ids"].tolist(), z["style"], str(z["encoder"])
    data = S2MData(corpus, "train")
    assert who == file_digest(enc) and set(ids) == {c.row["id"] for c in data.data.clips}
    assert style.shape == (len(ids), 8) and np.abs(style).sum() > 0
    # a grown corpus: only the clips without a vector are embedded; the rest are kept as they were
    from voxsmith.train.style import style_cache

    marker = np.full((len(ids) - 1, 8), 7.0, np.float32)
    np.savez(cache, ids=np.array(ids[1:]), style=marker, encoder=np.asarray(who))
    style_cache(corpus, enc)
    with np.load(cache) as z:
        again = dict(zip(z["ids"].tolist(), z["style"], strict=True))
    assert np.allclose(again[ids[0]], style[0], atol=1e-5) and all((again[i] == 7.0).all() for i in ids[1:])
    # vectors of another encoder are all recomputed
    other = _style_encoder(tmp_path / "other.safetensors", dim=8)
    import torch

    from voxsmith.models.style import load_style_encoder

    enc2 = load_style_encoder(other)
    with torch.no_grad():
        for p in enc2.parameters():
            p.add_(0.1)
    enc2.save(other)
    style_cache(corpus, other)
    with np.load(cache) as z:
        assert str(z["encoder"]) == file_digest(other) and not (z["style"] == 7.0).any()
    # vectors for only some clips: the run goes on and says how many read zero style
    with np.load(cache) as z:
        np.savez(cache, ids=z["ids"][1:], style=z["style"][1:], encoder=z["encoder"])
    with caplog.at_level("WARNING", logger="voxsmith.train.s2m"):
        assert main([*argv, "--out", str(tmp_path / "part"), "--steps", "2"]) == 0
    assert f"1 of {len(data.keep)} clips have no style vector" in caplog.text
    # the explicit opt-out still continues without them
    cache.unlink()
    assert main([*argv, "--out", str(tmp_path / "zero"), "--steps", "2", "--zero-style"]) == 0
