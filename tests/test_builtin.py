"""The built-in model that ships in voxsmith/assets/tiny: loads offline, speaks, stays lean."""

from __future__ import annotations

import json

import numpy as np
from safetensors import safe_open

from tests.helpers import make_tone
from voxsmith.audio import Audio
from voxsmith.pipeline import BUILTIN_DIR, IndexTTSModel


def test_builtin_bundle_is_complete_and_lean():
    card = json.loads((BUILTIN_DIR / "model.json").read_text(encoding="utf-8"))
    files = sorted(BUILTIN_DIR.glob("*.safetensors"))
    assert {f.name for f in files} >= set(card["parts"].values()) - {"emotion.safetensors"}
    assert sum(f.stat().st_size for f in files) < 60 * 2**20
    for f in files:
        if f.name in ("codec.safetensors", "emotion.safetensors"):
            continue  # nearest-centre search and the small emotion table stay fp32
        with safe_open(str(f), "pt") as st:
            dtypes = {str(st.get_slice(k).get_dtype()) for k in st.keys()}
        assert not dtypes & {"F32", "F64"}, (f.name, dtypes)
    assert all(v for k, v in card["training"]["steps"].items() if k != "codec")


def test_builtin_model_speaks_with_exact_length():
    model = IndexTTSModel.from_pretrained(threads=2)
    info = model.info()
    assert info["parameters"]["total"] > 10_000_000 and info["samples_per_token"] == 1024
    x = make_tone(4.0, freq=160.0) + 0.05 * np.random.default_rng(0).standard_normal(4 * 22050)
    spk = model.speaker_encoder(Audio(x.astype(np.float32), 22050))
    res = model.synthesize("你好，欢迎使用。", speaker_embedding=spk, target_tokens=25, seed=0)
    assert res.tokens == 25 and len(res.audio.samples) == 25 * 1024
    assert np.isfinite(res.audio.samples).all() and np.abs(res.audio.samples).max() > 1e-3
