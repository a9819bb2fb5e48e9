"""Build ``OfficialParts`` from an official IndexTTS-2 directory (the layout of ``layout.py``).

Every module is constructed from the official configuration (``config.yaml`` sections, BigVGAN's
``config.json``) and loaded strictly under the official key names; ``.pth``/``.pt``/``.bin``
files are read with ``torch.load(weights_only=True)``. No key is renamed: voxsmith's modules keep
the official names (``s2mel.pth`` stores its tensors per sub-model under ``net``, which
:func:`voxsmith.models.s2m.official_state_dict` flattens).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import torch

from voxsmith.checkpoints import read_torch_pth, strict_load
from voxsmith.errors import CheckpointError
from voxsmith.models.bigvgan import BigVGAN
from voxsmith.models.campplus import CAMPPlusConfig
from voxsmith.models.emotion import EmotionMatrix
from voxsmith.models.gpt import GPTConfig, UnifiedVoice
from voxsmith.models.official.features import W2VBertFeatures
from voxsmith.models.official.layout import OfficialLayout
from voxsmith.models.official.parts import ARCHITECTURE, OfficialParts
from voxsmith.models.s2m import S2M, S2MConfig, official_state_dict
from voxsmith.models.semantic_codec import RepCodec, RepCodecConfig
from voxsmith.models.style import StyleEncoder, StyleEncoderConfig

log = logging.getLogger(__name__)


def load_gpt(path: Path, cfg: GPTConfig) -> UnifiedVoice:
    """``gpt.pth``: the UnifiedVoice state dict, bare or under ``model`` (both occur; the official
    loader accepts both)."""
    ckpt = read_torch_pth(path)
    state = ckpt["model"] if isinstance(ckpt, Mapping) and isinstance(ckpt.get("model"), Mapping) else ckpt
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{path}: expected a state dict, got {type(state).__name__}")
    gpt = UnifiedVoice(cfg)
    strict_load(gpt, state, str(path))
    return gpt.eval()


def s2m_config(s2mel: Mapping, gpt_width: int) -> S2MConfig:
    """The official ``s2mel`` section; ``gpt_layer`` reads the GPT's width.

    The official ``MyModel`` hard-codes ``Linear(1280, 256)``, which is the release GPT's width;
    taking it from the GPT configuration is the same for the release and lets smaller
    official-layout models (tests) pair a narrower GPT with S2M.
    """
    cfg = S2MConfig.from_official(s2mel)
    return dataclasses.replace(cfg, gpt_layer_dims=(gpt_width, *cfg.gpt_layer_dims[1:]))


def load_s2m(path: Path, cfg: S2MConfig) -> S2M:
    """``s2mel.pth``: ``{"net": {"cfm": …, "length_regulator": …, "gpt_layer": …}, …}``."""
    ckpt = read_torch_pth(path)
    net = ckpt.get("net") if isinstance(ckpt, Mapping) else None
    if not isinstance(net, Mapping):
        raise CheckpointError(f"{path}: no 'net' entry (not an IndexTTS-2 s2mel checkpoint)")
    s2m = S2M(cfg)
    strict_load(s2m, official_state_dict(net), str(path))
    return s2m.eval()


def load_style(weights: Path, config_json: Path) -> StyleEncoder:
    """CAMPPlus from ``campplus_cn_common.bin`` (a bare state dict); sizes from an optional
    ``config.json`` of constructor arguments, else the official ``CAMPPlus(80, 192)``."""
    if config_json.is_file():
        try:
            kwargs = json.loads(config_json.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{config_json}: not valid JSON ({exc})") from exc
        campplus = CAMPPlusConfig.from_official(kwargs)
    else:
        campplus = CAMPPlusConfig.indextts2()
    enc = StyleEncoder(StyleEncoderConfig(campplus))
    state = read_torch_pth(weights)
    if not isinstance(state, Mapping):
        raise CheckpointError(f"{weights}: expected a CAMPPlus state dict")
    strict_load(enc.campplus, state, str(weights))
    return enc.eval()


def load_matrix(feat1: Path, feat2: Path, counts: list[int]) -> EmotionMatrix:
    """``feat1.pt`` (style rows, R × 192) and ``feat2.pt`` (emotion rows, R × D) split by ``emo_num``."""
    tensors = []
    for path in (feat1, feat2):
        t = read_torch_pth(path)
        if not isinstance(t, torch.Tensor):
            raise CheckpointError(f"{path}: expected one tensor, got {type(t).__name__}")
        tensors.append(t.float())
    return EmotionMatrix.from_official(tensors[0], tensors[1], counts)


def load_official(root: str | os.PathLike) -> OfficialParts:
    """An official IndexTTS-2 directory → ``OfficialParts`` (missing files: one error listing all)."""
    layout = OfficialLayout.open(root)
    cfg = layout.config
    gpt = load_gpt(layout.path("gpt_checkpoint"), GPTConfig.from_official(cfg["gpt"]))
    s2m = load_s2m(layout.path("s2mel_checkpoint"), s2m_config(cfg["s2mel"], gpt.config.model_dim))
    codec_cfg = RepCodecConfig.from_official(cfg["semantic_codec"]) if "semantic_codec" in cfg else None
    codec = RepCodec.from_official_files(layout.aux("semantic_codec/model.safetensors"), codec_cfg)
    style = load_style(layout.aux("campplus/campplus_cn_common.bin"), layout.aux("campplus/config.json"))
    vocoder = BigVGAN.from_official_files(
        layout.aux("bigvgan/config.json"), layout.aux("bigvgan/bigvgan_generator.pt")
    )
    features = W2VBertFeatures.from_official(
        layout.aux("w2v-bert-2.0"), layout.path("w2v_stat"), layout.w2v_layer
    )
    emotion = load_matrix(layout.path("spk_matrix"), layout.path("emo_matrix"), layout.emo_num)
    card = {"name": ARCHITECTURE, "architecture": ARCHITECTURE, "source": "official",
            "version": str(cfg.get("version", ""))}  # fmt: skip
    if layout.emotion_llm is None:
        log.info("%s: no emotion LLM directory; text emotions use voxsmith's offline model", layout.root)
    return OfficialParts(
        ARCHITECTURE, features, codec, gpt, s2m, style, vocoder, emotion,
        bpe_model=layout.path("bpe_model"), emotion_llm=layout.emotion_llm, card=card,
    )  # fmt: skip
