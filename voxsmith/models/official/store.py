"""Official IndexTTS-2 models in voxsmith's own format (what ``voxsmith convert`` writes).

A converted directory is self-contained and self-describing::

    model.json              name, architecture "indextts2", parts, sampling facts
    w2v_bert.safetensors    kind "w2v_bert"        w2v-BERT 2.0 (``model.*``) + stats (mean, std)
    codec.safetensors       kind "repcodec"        MaskGCT RepCodec (always fp32: nearest-codeword search)
    gpt.safetensors         kind "gpt"             UnifiedVoice (official key names)
    s2m.safetensors         kind "s2m"             S2M (``models.{cfm,length_regulator,gpt_layer}.*``)
    style.safetensors       kind "style"           CAMPPlus + fbank frontend
    vocoder.safetensors     kind "bigvgan"         BigVGAN with weight norm folded
    emotion.safetensors     kind "emotion_matrix"  feat1 / feat2 / emo_num (fp32)
    bpe.model               the release's SentencePiece model (copied)
    qwen0.6bemo4-merge/     the emotion LLM, copied when the source has it

Each config sits in its file's metadata, so a file alone says what to build. Loading gives the
same modules as loading the official directory (bit-identical weights at ``dtype=None``).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import torch

from voxsmith.checkpoints import load_safetensors, save_safetensors, strict_load
from voxsmith.errors import CheckpointError
from voxsmith.fileio import atomic_copy, atomic_write_text
from voxsmith.models.bigvgan import BigVGAN, BigVGANConfig
from voxsmith.models.emotion import EmotionMatrix
from voxsmith.models.gpt import GPTConfig, UnifiedVoice
from voxsmith.models.official.features import W2VBertFeatures
from voxsmith.models.official.parts import ARCHITECTURE, OfficialParts
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.models.semantic_codec import RepCodec, RepCodecConfig
from voxsmith.models.style import load_style_encoder
from voxsmith.models.weight_norm import WeightNormConv

FILES = {
    "features": "w2v_bert.safetensors",
    "codec": "codec.safetensors",
    "gpt": "gpt.safetensors",
    "s2m": "s2m.safetensors",
    "style": "style.safetensors",
    "vocoder": "vocoder.safetensors",
    "emotion": "emotion.safetensors",
}
BPE = "bpe.model"
EMOTION_LLM = "qwen0.6bemo4-merge"
STATS = ("mean", "std")  # w2v-BERT normalisation buffers: kept fp32 whatever the dtype


def _cast(tensors: dict[str, torch.Tensor], dtype: torch.dtype | None, keep: tuple[str, ...] = ()) -> dict:
    if dtype is None:
        return tensors
    return {k: v.to(dtype) if v.is_floating_point() and k not in keep else v for k, v in tensors.items()}


def _copy_dir(src: Path, dst: Path) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", dir=dst.parent))
    try:
        shutil.copytree(src, tmp, dirs_exist_ok=True)
        if dst.exists():
            shutil.rmtree(dst)
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def save_official_parts(
    parts: OfficialParts, root: str | os.PathLike, dtype: torch.dtype | None = None
) -> Path:
    """Write a converted model directory; ``dtype`` (fp16 / bf16) shrinks the large parts.

    Every file is written atomically and ``model.json`` last, so an interrupted conversion
    never looks complete.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    stale = root / "model.json"
    if stale.exists():
        stale.unlink()  # a half-overwritten directory must not look complete
    save_safetensors(_cast(parts.features.state_dict(), dtype, STATS), root / FILES["features"],
                     kind="w2v_bert", config=parts.features.config())  # fmt: skip
    save_safetensors(parts.codec.state_dict(), root / FILES["codec"], kind="repcodec",
                     config=parts.codec.cfg.to_dict())  # fmt: skip
    save_safetensors(parts.gpt.state_dict(), root / FILES["gpt"], kind="gpt",
                     config=parts.gpt.config.to_dict(), dtype=dtype)  # fmt: skip
    save_safetensors(parts.s2m.state_dict(), root / FILES["s2m"], kind="s2m",
                     config=parts.s2m.cfg.to_dict(), dtype=dtype)  # fmt: skip
    parts.style.save(root / FILES["style"], dtype=dtype)
    normed = any(isinstance(m, WeightNormConv) and m.weight_normed for m in parts.vocoder.modules())
    save_safetensors(parts.vocoder.state_dict(), root / FILES["vocoder"], kind="bigvgan",
                     config={"bigvgan": parts.vocoder.cfg.to_dict(), "weight_norm": normed}, dtype=dtype)  # fmt: skip
    if parts.emotion is not None:
        save_safetensors(
            {"feat1": parts.emotion.style_rows, "feat2": parts.emotion.emotion_rows},
            root / FILES["emotion"], kind="emotion_matrix", config={"counts": parts.emotion.counts},
        )  # fmt: skip
    atomic_copy(parts.bpe_model, root / BPE)
    if parts.emotion_llm is not None:
        _copy_dir(parts.emotion_llm, root / EMOTION_LLM)
    info = {
        **parts.card,
        "name": parts.name,
        "architecture": ARCHITECTURE,
        "dtype": str(dtype or torch.float32).removeprefix("torch."),
        "s2m_steps": parts.s2m_steps,
        "cfg_rate": parts.cfg_rate,
        "parameters": parts.parameter_counts(),
        "parts": {k: v for k, v in FILES.items() if k != "emotion" or parts.emotion is not None},
        "bpe_model": BPE,
        "emotion_llm": EMOTION_LLM if parts.emotion_llm is not None else None,
    }
    atomic_write_text(root / "model.json", json.dumps(info, ensure_ascii=False, indent=1) + "\n")
    return root


def load_converted(root: str | os.PathLike) -> OfficialParts:
    """Read a directory written by :func:`save_official_parts` (strict, every part checked)."""
    root = Path(root)
    card = json.loads((root / "model.json").read_text(encoding="utf-8"))
    if card.get("architecture") != ARCHITECTURE:
        raise CheckpointError(
            f"{root}: model.json says architecture {card.get('architecture')!r}, not {ARCHITECTURE!r}"
        )
    files = card.get("parts", FILES)
    need = [files[k] for k in FILES if k != "emotion"] + [BPE]
    missing = [f for f in need if not (root / f).is_file()]
    if missing:
        raise CheckpointError(f"{root}: converted model directory is missing {', '.join(missing)}")

    t, c, _ = load_safetensors(root / files["features"], kind="w2v_bert")
    features = W2VBertFeatures.from_config(c)
    strict_load(features, t, "w2v-BERT")
    t, c, _ = load_safetensors(root / files["codec"], kind="repcodec")
    codec = RepCodec(RepCodecConfig.from_dict(c))
    strict_load(codec, t, "semantic codec")
    t, c, _ = load_safetensors(root / files["gpt"], kind="gpt")
    gpt = UnifiedVoice(GPTConfig.from_dict(c))
    strict_load(gpt, t, "gpt")
    t, c, _ = load_safetensors(root / files["s2m"], kind="s2m")
    s2m = S2M(S2MConfig.from_dict(c))
    strict_load(s2m, t, "s2m")
    style = load_style_encoder(root / files["style"])
    t, c, _ = load_safetensors(root / files["vocoder"], kind="bigvgan")
    vocoder = BigVGAN(BigVGANConfig.from_dict(c["bigvgan"]))
    if not c.get("weight_norm", True):
        vocoder.remove_weight_norm()  # the file holds folded weights
    strict_load(vocoder, t, "bigvgan")
    vocoder.remove_weight_norm()  # inference form, as infer_v2 (a no-op when already folded)
    emotion = None
    if "emotion" in files and (root / files["emotion"]).is_file():
        t, c, _ = load_safetensors(root / files["emotion"], kind="emotion_matrix")
        emotion = EmotionMatrix(t["feat1"], t["feat2"], c["counts"])
    llm = card.get("emotion_llm")
    llm_dir = root / llm if llm and (root / llm / "config.json").is_file() else None
    parts = OfficialParts(
        card.get("name", ARCHITECTURE), features, codec, gpt, s2m, style, vocoder, emotion,
        bpe_model=root / card.get("bpe_model", BPE), emotion_llm=llm_dir, card=card,
        s2m_steps=int(card.get("s2m_steps", 25)), cfg_rate=float(card.get("cfg_rate", 0.7)),
    )  # fmt: skip
    for m in parts.modules().values():
        m.eval()
    return parts
