"""Small helpers shared by tests."""

from __future__ import annotations

import numpy as np


def make_tone(seconds: float = 2.0, sr: int = 22050, freq: float = 220.0, amp: float = 0.3) -> np.ndarray:
    """A harmonic tone with a slow amplitude envelope: speech-like enough for I/O tests."""
    t = np.arange(int(seconds * sr)) / sr
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)
    x = sum(np.sin(2 * np.pi * freq * k * t) / k for k in range(1, 6))
    return (amp * env * x / np.max(np.abs(x))).astype(np.float32)


def make_fake_corpus(root, n_speakers: int = 3, clips_per_speaker: int = 4, seconds: float = 1.5) -> None:
    """A tiny corpus directory (tones per 'speaker') with a manifest in the corpus schema."""
    import json
    from pathlib import Path

    import soundfile as sf

    root = Path(root)
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    rows = []
    for s in range(n_speakers):
        for k in range(clips_per_speaker):
            cid = f"spk{s}_{k:03d}"
            x = make_tone(seconds + 0.1 * k, freq=120.0 + 60 * s + 7 * k)
            sf.write(root / "wavs" / f"{cid}.wav", x, 22050, subtype="PCM_16")
            split = "valid" if k == clips_per_speaker - 1 else "train"
            rows.append(
                {
                    "id": cid,
                    "path": f"wavs/{cid}.wav",
                    "text": "你好",
                    "normalized": "你好",
                    "syllables": ["ni3", "hao3"],
                    "phones": ["<zh>", "n", "i3", "h", "ao3"],
                    "units": ["ni3", "hao3"],
                    "lang": "zh",
                    "speaker": f"spk{s}",
                    "engine": "tone",
                    "style": "neutral",
                    "style_strength": 0.0,
                    "duration_s": len(x) / 22050,
                    "split": split,
                }
            )
    (root / "manifest.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_random_model(
    root,
    seed: int = 0,
    codebook_size: int = 64,
    max_tokens: int = 48,
    gpt_latents: bool = False,
    prosody: bool = False,
    contour: bool = False,
):
    """A complete model directory with small random weights (for facade and CLI tests).

    ``gpt_latents``: its S2M reads the GPT's latents through a ``gpt_layer`` (official design).
    ``prosody``: its S2M reads prosody offsets, with a random prosody head beside the emotion matrix.
    ``contour``: its S2M reads a per-code contour (needs ``gpt_latents``), with a random contour head.

    The GPT never learned to stop, so generation runs to ``max_tokens``; everything else
    (shapes, files, controls, errors) behaves as with the trained built-in model.
    """
    import dataclasses

    import torch

    from voxsmith.models.content import ContentEncoder, ContentEncoderConfig
    from voxsmith.models.emotion import EmotionMatrix
    from voxsmith.models.gpt import GPTConfig, UnifiedVoice
    from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
    from voxsmith.models.parts import ModelParts, save_parts
    from voxsmith.models.prosody import CONTOUR, MEASURES, ContourHead, ProsodyHead
    from voxsmith.models.s2m import S2M, S2MConfig
    from voxsmith.models.style import StyleEncoder, StyleEncoderConfig
    from voxsmith.models.units import UNITS
    from voxsmith.models.vocoder import VocosConfig, VocosVocoder
    from voxsmith.text.tokenizer import PhoneTokenizer

    torch.manual_seed(seed)
    content = ContentEncoder(ContentEncoderConfig.debug(len(UNITS)))
    codec = KMeansCodec(KMeansCodecConfig(dim=content.cfg.dim, codebook_size=codebook_size))
    codec.centroids.normal_()
    gpt_cfg = GPTConfig.tiny(number_text_tokens=PhoneTokenizer().vocab_size, codebook_size=codebook_size)
    gpt = UnifiedVoice(
        dataclasses.replace(gpt_cfg, model_dim=64, layers=2, heads=2, max_mel_tokens=max_tokens)
    )
    style = StyleEncoder(StyleEncoderConfig.debug())
    gpt_dim = gpt.config.model_dim if gpt_latents else None
    s2m_cfg = S2MConfig.tiny(content_dim=content.cfg.dim, gpt_dim=gpt_dim, style_dim=style.style_dim)
    s2m = S2M(
        dataclasses.replace(
            s2m_cfg, prosody_dim=len(MEASURES) if prosody else 0, contour_dim=len(CONTOUR) if contour else 0
        )
    )
    vocoder = VocosVocoder(VocosConfig.debug())
    counts = [2, 1, 1, 1, 1, 1, 1, 2]
    emotion = EmotionMatrix(
        torch.randn(sum(counts), style.style_dim), torch.randn(sum(counts), gpt.config.model_dim), counts
    )
    head = None
    if prosody:
        head = ProsodyHead(torch.randn(len(MEASURES), gpt.config.model_dim) / 10, torch.zeros(len(MEASURES)))
    lines = None
    if contour:
        lines = ContourHead(
            torch.randn(len(CONTOUR), gpt.config.model_dim) / 10, torch.zeros(len(CONTOUR)), 2.0
        )
    parts = ModelParts(
        "random", content, codec, gpt, s2m, style, vocoder, emotion, s2m_steps=2, prosody=head, contour=lines
    )
    return save_parts(parts, root, dtype=torch.float32)


def debug_gpt_config(codebook_size: int = 16):
    """The tiny GPT config cut to 32 wide, 1 layer, 2 heads, for recipe tests."""
    from voxsmith.models.gpt import GPTConfig
    from voxsmith.text.tokenizer import PhoneTokenizer

    cfg = GPTConfig.tiny(number_text_tokens=PhoneTokenizer().vocab_size, codebook_size=codebook_size)
    cfg.model_dim, cfg.layers, cfg.heads = 32, 1, 2
    return cfg


def make_coded_corpus(root, codebook_size: int = 16):
    """A fake corpus with a 2-step debug content encoder and its k-means codes written.

    Returns ``(corpus, content.safetensors, codec.safetensors)``.
    """
    from voxsmith.models.content import ContentEncoderConfig
    from voxsmith.models.units import UNITS
    from voxsmith.train.content import ContentTrainConfig, train_codec, train_content

    corpus = root / "corpus"
    make_fake_corpus(corpus)
    content = train_content(
        corpus,
        root / "content",
        ContentTrainConfig(steps=2, max_batch_frames=800, warmup=1, val_every=2),
        ContentEncoderConfig.debug(len(UNITS)),
    )
    return corpus, content, train_codec(corpus, content, root / "codec", codebook_size=codebook_size)


def small_s2m(prosody_dim: int = 0, contour_dim: int = 0):
    """A 2-block S2M (content 32, style 8, no GPT latents) with the given side inputs."""
    from voxsmith.models.s2m import S2M, S2MConfig

    cfg = S2MConfig.tiny(content_dim=32, gpt_dim=None, style_dim=8)
    cfg.dit.depth, cfg.wavenet.num_layers = 2, 1
    cfg.prosody_dim, cfg.contour_dim = prosody_dim, contour_dim
    return S2M(cfg)


def s2m_from_plain(tmp_path, **dims):
    """A plain small S2M saved to ``tmp_path``, and one with side inputs ``dims`` initialised from it."""
    from voxsmith.checkpoints import save_safetensors
    from voxsmith.train.s2m import init_s2m

    plain = small_s2m()
    path = tmp_path / "plain.safetensors"
    save_safetensors(plain.state_dict(), path, kind="s2m", config=plain.cfg.to_dict())
    model = small_s2m(**dims)
    init_s2m(model, path)  # a model without the layer carries over with it at zero
    return plain, model
