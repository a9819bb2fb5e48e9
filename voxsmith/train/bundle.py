"""Assemble a model directory (the built-in model) from the exported weights of each stage.

    runs/content/content.safetensors  runs/codec/codec.safetensors  runs/gpt/gpt.safetensors
    runs/s2m/s2m.safetensors          runs/style/style.safetensors  runs/vocoder/vocoder.safetensors
        + the corpus (for the emotion matrix) ──► voxsmith/assets/tiny/{model.json, *.safetensors}

The emotion matrix is fitted here, as in the reference design's ``feat2``/``feat1``: for each
of the 8 categories, the GPT emotion vectors of strongly styled training clips are clustered
into a few rows, each paired with the mean style vector of its members (so inference can pick
the row recorded by the most similar voice).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from voxsmith.audio import SAMPLE_RATE, Audio, AudioProcessor
from voxsmith.checkpoints import load_safetensors, strict_load
from voxsmith.embeddings import EMOTIONS
from voxsmith.errors import CheckpointError, DataError
from voxsmith.models.content import ContentEncoder, ContentEncoderConfig
from voxsmith.models.emotion import EmotionMatrix
from voxsmith.models.gpt import GPTConfig, UnifiedVoice
from voxsmith.models.kmeans_codec import KMeansCodec, KMeansCodecConfig
from voxsmith.models.parts import ModelParts, save_parts
from voxsmith.models.s2m import S2M, S2MConfig
from voxsmith.models.style import StyleEncoder, StyleEncoderConfig, load_style_encoder
from voxsmith.models.vocoder import VocosConfig, VocosVocoder
from voxsmith.train.data import read_manifest

log = logging.getLogger(__name__)

STAGE_FILES = {
    "content": "content/content.safetensors",
    "codec": "codec/codec.safetensors",
    "gpt": "gpt/gpt.safetensors",
    "s2m": "s2m/s2m.safetensors",
    "style": "style/style.safetensors",
    "vocoder": "vocoder/vocoder.safetensors",
}


def _load(path: Path, kind: str, build):
    if not path.is_file():
        raise CheckpointError(f"{path}: exported {kind} weights not found (train that stage first)")
    tensors, config, _ = load_safetensors(path, kind=kind)
    module = build(config)
    strict_load(module, tensors, f"{kind} {path}")
    return module.eval()


def _run_steps(path: Path) -> int | None:
    """The step a run directory's state is at (for the model card), if it has one."""
    state = path.parent / "state.pt"
    if not state.is_file():
        return None
    try:
        return int(torch.load(state, map_location="cpu", weights_only=False)["step"])
    except Exception:  # the card is informative only
        return None


@torch.inference_mode()
def fit_emotion_matrix(
    corpus: str | Path,
    gpt: UnifiedVoice,
    style: StyleEncoder,
    rows_per_category: int = 4,
    clips_per_category: int = 48,
    min_strength: float = 0.6,
    seed: int = 0,
) -> EmotionMatrix:
    """Emotion rows from strongly styled train clips of each category (see the module doc)."""
    rows = [r for r in read_manifest(corpus) if r.get("split") == "train"]
    rng = np.random.default_rng(seed)
    emos, styles, labels = [], [], []
    for cat, name in enumerate(EMOTIONS):
        members = [
            r for r in rows if r.get("style") == name and float(r.get("style_strength", 0)) >= min_strength
        ]
        if not members:
            raise DataError(f"{corpus}: no train clips of style {name!r} at strength >= {min_strength}")
        pick = rng.choice(len(members), size=min(clips_per_category, len(members)), replace=False)
        for i in tqdm(sorted(pick), desc=f"emotion {name}", unit="clip", leave=False):
            audio = AudioProcessor.load(Path(corpus) / members[i]["path"], sr=SAMPLE_RATE)
            feats = AudioProcessor.mel(audio.samples)[0].T.unsqueeze(0)
            emos.append(gpt.emotion_vector(feats)[0])
            styles.append(style.embed(Audio(audio.samples, SAMPLE_RATE)))
            labels.append(cat)
    return EmotionMatrix.from_examples(
        torch.stack(styles), torch.stack(emos), torch.tensor(labels), [rows_per_category] * len(EMOTIONS)
    )


def assemble(
    runs: str | Path,
    corpus: str | Path,
    out: str | Path,
    *,
    name: str = "voxsmith-tiny",
    paths: dict[str, str | Path] | None = None,
    s2m_style: bool | None = None,
) -> Path:
    """Build ``out`` (model.json + parts) from the stage exports under ``runs`` (or ``paths``)."""
    runs = Path(runs)
    where = {k: Path(paths[k]) if paths and k in paths else runs / v for k, v in STAGE_FILES.items()}
    content = _load(where["content"], "content", lambda c: ContentEncoder(ContentEncoderConfig(**c)))
    codec = _load(where["codec"], "kmeans_codec", lambda c: KMeansCodec(KMeansCodecConfig(**c)))
    gpt = _load(where["gpt"], "gpt", lambda c: UnifiedVoice(GPTConfig.from_dict(c)))
    s2m = _load(where["s2m"], "s2m", lambda c: S2M(S2MConfig.from_dict(c)))
    vocoder = _load(where["vocoder"], "vocos", lambda c: VocosVocoder(VocosConfig(**c)))
    if where["style"].is_file():
        style = load_style_encoder(where["style"]).eval()
        trained_style = True
    else:  # an untrained style encoder still gives a deterministic (if uninformative) vector
        log.warning("%s missing: the bundle gets an untrained style encoder", where["style"])
        torch.manual_seed(0)
        style = StyleEncoder(StyleEncoderConfig.tiny()).eval()
        trained_style = False
    if s2m_style is None:
        # S2M learned to use style only if the style stage ran before it (cache/style_train.npz)
        s2m_style = trained_style and (Path(corpus) / "cache" / "style_train.npz").is_file()
    emotion = fit_emotion_matrix(corpus, gpt, style)
    manifest = read_manifest(corpus)
    card = {
        "size": "tiny",
        "created": time.strftime("%Y-%m-%d"),
        "s2m_style": bool(s2m_style),
        "max_segment_tokens": 60,
        "training": {
            "corpus_minutes": round(sum(float(r.get("duration_s", 0)) for r in manifest) / 60, 1),
            "corpus_speakers": len({r["speaker"] for r in manifest}),
            "steps": {k: _run_steps(p) for k, p in where.items()},
            "style_trained": trained_style,
        },
    }
    parts = ModelParts(name, content, codec, gpt, s2m, style, vocoder, emotion, card=card)
    root = save_parts(parts, out)
    log.info("model written to %s: %s", root, json.dumps(parts.parameter_counts()))
    return root
