from __future__ import annotations

import numpy as np
import torch

from tests.helpers import make_fake_corpus
from voxsmith.checkpoints import load_safetensors
from voxsmith.models.content import ContentEncoder, ContentEncoderConfig
from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
from voxsmith.models.units import UNITS, row_units, split_syllable, units_to_ids
from voxsmith.train.content import ContentTrainConfig, train_codec, train_content


def test_split_syllable_rules():
    assert split_syllable("hang2") == ["h", "ang2"]
    assert split_syllable("zhi1") == ["zh", "iii1"]
    assert split_syllable("si4") == ["s", "ii4"]
    assert split_syllable("xue2") == ["x", "ve2"]
    assert split_syllable("er4") == ["er4"]
    assert split_syllable("lv4") == ["l", "v4"]
    assert split_syllable("bad7") == ["<unk>"]
    ids = units_to_ids(row_units({"syllables": ["ni3", "hao3"], "phones": None}))
    assert len(ids) == 4 and all(0 < i < len(UNITS) for i in ids)
    assert row_units({"phones": ["HH", "AH0", "L", "OW1"]}) == ["@HH", "@AH", "@L", "@OW"]


def test_content_encoder_shapes_and_padding_invariance():
    model = ContentEncoder(ContentEncoderConfig.debug()).eval()
    mel = torch.randn(1, 80, 37)
    h, logits, lens = model(mel)
    assert h.shape == (1, 10, 32) and logits.shape == (1, 10, 16) and lens.tolist() == [10]
    padded = torch.cat([mel, torch.randn(1, 80, 11)], -1)
    h2, _, lens2 = model(padded, torch.tensor([37]))
    assert lens2.tolist() == [10]
    assert torch.allclose(h2[:, :10], h, atol=1e-4)


def test_kmeans_codec_fits_clusters():
    g = torch.Generator().manual_seed(0)
    centers = torch.randn(8, 4, generator=g) * 5
    x = centers[torch.randint(8, (800,), generator=g)] + 0.05 * torch.randn(800, 4, generator=g)
    codec = KMeansCodec(KMeansCodecConfig(dim=4, codebook_size=8))
    mse = codec.fit(x, seed=0)
    assert mse < 0.05
    codes = codec.quantize(x.reshape(10, 80, 4))
    assert codes.shape == (10, 80)
    assert torch.allclose(codec.vq2emb(codes).reshape(-1, 4), x, atol=0.5)


def test_content_training_and_codec_codes(tmp_path):
    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus)
    cfg = ContentTrainConfig(steps=20, max_batch_frames=800, warmup=1, log_every=5, val_every=10)
    ckpt = train_content(corpus, tmp_path / "content", cfg, ContentEncoderConfig.debug(len(UNITS)))
    losses = [
        float(x.split('"ctc": ')[1].split(",")[0])
        for x in (tmp_path / "content" / "losses.jsonl").read_text().splitlines()
        if '"ctc"' in x
    ]
    assert losses[-1] < losses[0]
    path = train_codec(corpus, ckpt, tmp_path / "codec", codebook_size=16)
    assert path.is_file()
    z = np.load(corpus / "cache" / "codes_train.npz")
    assert z["codes"].max() < 16 and len(z["ids"]) == len(z["lens"]) == 9
    assert z["lens"].sum() == len(z["codes"])
    # reusing the codebook (the corpus grew): same codes for the same clips, codebook untouched
    first = z["codes"].copy()
    codebook = load_safetensors(path, kind="kmeans_codec")[0]
    again = train_codec(corpus, ckpt, tmp_path / "codec2", codebook_size=99, seed=5, reuse=path)
    z2 = np.load(corpus / "cache" / "codes_train.npz")
    assert np.array_equal(z2["codes"], first)
    kept = load_safetensors(again, kind="kmeans_codec")[0]
    assert all(torch.equal(codebook[k], kept[k]) for k in codebook)
