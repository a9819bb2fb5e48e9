from __future__ import annotations

import json

import numpy as np

from tests.helpers import make_fake_corpus
from voxsmith.checkpoints import load_safetensors
from voxsmith.models.content import ContentEncoderConfig
from voxsmith.models.s2m import S2MConfig
from voxsmith.models.units import UNITS
from voxsmith.train.content import ContentTrainConfig, train_codec, train_content
from voxsmith.train.s2m import S2MData, S2MTrainConfig, train_s2m


def test_s2m_recipe_trains_and_resumes(tmp_path):
    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus)
    content = train_content(
        corpus,
        tmp_path / "content",
        ContentTrainConfig(steps=2, max_batch_frames=800, warmup=1, val_every=2),
        ContentEncoderConfig.debug(len(UNITS)),
    )
    codec = train_codec(corpus, content, tmp_path / "codec", codebook_size=16)
    cfg = S2MTrainConfig(steps=16, batch_size=2, crop_codes=12, warmup=1, log_every=2, val_every=8, lr=1e-3)
    data = S2MData(corpus, "train")
    codes, mel, lens, prompts, style = data.batch(np.random.default_rng(0), cfg, 8)
    assert mel.shape[-1] == codes.shape[1] * 4 and (prompts < lens).all() and style.shape == (2, 8)
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
