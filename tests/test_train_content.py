from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.helpers import make_fake_corpus
from voxsmith.checkpoints import load_safetensors
from voxsmith.errors import ConfigError
from voxsmith.models.content import ContentEncoder, ContentEncoderConfig
from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
from voxsmith.models.units import UNITS, row_units, split_syllable, units_to_ids
from voxsmith.train.content import (
    ContentTrainConfig,
    align_codebook,
    train_codec,
    train_content,
    warp_mel,
)


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


def test_warp_mel_moves_formants_and_keeps_factor_one():
    torch.manual_seed(0)
    mel = torch.randn(2, 80, 7)
    assert torch.allclose(warp_mel(mel, torch.ones(2)), mel)
    # a spectral peak at bin 30 moves to bin 33 at 1.1 (bin f reads from f / 1.1), to 27 at 0.9
    peak = torch.full((2, 80, 3), -5.0)
    peak[:, 30] = 0.0
    out = warp_mel(peak, torch.tensor([1.1, 0.9]))
    assert out.shape == peak.shape
    assert int(out[0, :, 0].argmax()) == 33 and int(out[1, :, 0].argmax()) == 27
    assert out.min() >= -5.0 and out.max() <= 0.0  # interpolation stays within the input's range


def test_content_training_with_warp_resumes(tmp_path):
    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus)
    cfg = ContentTrainConfig(steps=6, max_batch_frames=800, warmup=1, log_every=2, val_every=3, warp=0.1)
    train_content(corpus, tmp_path / "c", cfg, ContentEncoderConfig.debug(len(UNITS)))
    first = (tmp_path / "c" / "content.safetensors").read_bytes()
    cfg.steps = 9  # resumed from step 6: three more steps, new weights
    train_content(corpus, tmp_path / "c", cfg, ContentEncoderConfig.debug(len(UNITS)))
    steps = [x for x in (tmp_path / "c" / "losses.jsonl").read_text().splitlines() if '"ctc"' in x]
    assert '"step": 8' in steps[-1]
    assert (tmp_path / "c" / "content.safetensors").read_bytes() != first


def test_align_codebook_keeps_each_codes_meaning():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(6, 8, generator=g) * 4
    old_feats = [centres[torch.randint(6, (40,), generator=g)] + 0.1 * torch.randn(40, 8, generator=g)
                 for _ in range(3)]  # fmt: skip
    old = KMeansCodec(KMeansCodecConfig(dim=8, codebook_size=7))  # one code no frame takes
    old.centroids.copy_(torch.cat([centres, centres[:1] + 0.5]))
    rot = torch.linalg.qr(torch.randn(8, 8, generator=g))[0]
    new_feats = [f @ rot + 1.0 for f in old_feats]  # a retrained encoder: another feature space
    codec, kept = align_codebook(old, old_feats, new_feats)
    assert kept == 1.0
    for f_old, f_new in zip(old_feats, new_feats, strict=True):
        assert torch.equal(codec.quantize(f_new), old.quantize(f_old))
    # the unused code stands in for its nearest used one (code 0) rather than sitting at zero
    assert torch.allclose(codec.centroids[6], codec.centroids[0])
    # refitting from scratch would renumber: the aligned codebook is not just any k-means
    assert torch.allclose(codec.centroids[:6], centres @ rot + 1.0, atol=0.1)


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
    # aligning without the old codebook: refused before any work, nothing written
    with pytest.raises(ConfigError, match="--codec"):
        train_codec(corpus, ckpt, tmp_path / "codec_bad", align=ckpt)
    assert not (tmp_path / "codec_bad").exists()
    assert np.array_equal(np.load(corpus / "cache" / "codes_train.npz")["codes"], first)
    # a retrained encoder with the codebook aligned to it: old codes kept aside, same code count
    aligned = train_codec(corpus, ckpt, tmp_path / "codec3", reuse=path, align=ckpt)
    assert (corpus / "cache" / "codes_train.previous.npz").is_file()
    z3 = np.load(corpus / "cache" / "codes_train.npz")
    assert (z3["codes"] == first).mean() > 0.9  # the same encoder: codes barely move (one Lloyd step)
    assert load_safetensors(aligned, kind="kmeans_codec")[0]["centroids"].shape == codebook["centroids"].shape


def test_unit_errors_by_language_add_up_to_the_pooled_rate(tmp_path):
    from voxsmith.train.content import (
        content_features,
        pooled_unit_error,
        unit_error_rate,
        unit_errors_by_lang,
    )
    from voxsmith.train.data import CorpusData

    corpus = tmp_path / "corpus"
    make_fake_corpus(corpus)
    data = CorpusData(corpus, "train")
    torch.manual_seed(0)
    model = ContentEncoder(ContentEncoderConfig.debug(len(UNITS)))
    counts = unit_errors_by_lang(model, data, 9)
    assert set(counts) == {c.row["lang"] for c in data.clips[:9]}
    assert all(0 <= e and t > 0 for e, t in counts.values())
    pooled = sum(e for e, _ in counts.values()) / sum(t for _, t in counts.values())
    assert unit_error_rate(model, data, 9) == pytest.approx(pooled)
    for lang, (e, t) in counts.items():
        assert pooled_unit_error(counts, lang) == pytest.approx(e / t)
    assert pooled > 0  # an untrained encoder misreads
    hidden = content_features(model, data, 9)  # the first 9 clips' features, computed once
    assert len(hidden) == 9 and len(content_features(model, data, 10**6)) == len(data)
    assert unit_errors_by_lang(model, data, 9, features=hidden) == counts
