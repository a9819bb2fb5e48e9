"""The official IndexTTS-2 checkpoint directory: which files, where they come from, what is missing.

Layout read by ``IndexTTSModel.from_pretrained(DIR)`` (local paths only, nothing is downloaded)::

    DIR/
      config.yaml  bpe.model  gpt.pth  s2mel.pth      ┐ the IndexTTS-2 release
      wav2vec2bert_stats.pt  feat1.pt  feat2.pt       │ (huggingface.co/IndexTeam/IndexTTS-2);
      qwen0.6bemo4-merge/          (optional)         ┘ file names as config.yaml gives them
      w2v-bert-2.0/   config.json preprocessor_config.json model.safetensors   facebook/w2v-bert-2.0
      semantic_codec/ model.safetensors                    amphion/MaskGCT: semantic_codec/model.safetensors
      campplus/       campplus_cn_common.bin               funasr/campplus
                      config.json          (optional: CAMPPlus keyword arguments; default the official)
      bigvgan/        config.json bigvgan_generator.pt     nvidia/bigvgan_v2_22khz_80band_256x

The official code downloads the last four at run time; voxsmith reads them from these
sub-directories instead. ``qwen0.6bemo4-merge/`` (text → emotion) is optional: without it,
voxsmith's offline text-to-emotion is used.

voxsmith extension: ``config.yaml`` may give ``w2v_layer`` (default 17, the official hidden
state) so that small official-layout test models can use a w2v-BERT with fewer layers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voxsmith.errors import CheckpointError, ConfigError

RELEASE = "the IndexTTS-2 release (huggingface.co/IndexTeam/IndexTTS-2)"
SOURCES = {
    "w2v-bert-2.0": "huggingface.co/facebook/w2v-bert-2.0 (config.json, preprocessor_config.json, model.safetensors)",
    "semantic_codec": "huggingface.co/amphion/MaskGCT (file semantic_codec/model.safetensors)",
    "campplus": "huggingface.co/funasr/campplus (file campplus_cn_common.bin)",
    "bigvgan": "huggingface.co/nvidia/bigvgan_v2_22khz_80band_256x (config.json, bigvgan_generator.pt)",
}
AUX_FILES = (
    "w2v-bert-2.0/config.json",
    "w2v-bert-2.0/preprocessor_config.json",
    "w2v-bert-2.0/model.safetensors",
    "semantic_codec/model.safetensors",
    "campplus/campplus_cn_common.bin",
    "bigvgan/config.json",
    "bigvgan/bigvgan_generator.pt",
)
# the release's files under their default names (config.yaml may rename them)
RELEASE_DEFAULTS = {
    "gpt_checkpoint": "gpt.pth",
    "s2mel_checkpoint": "s2mel.pth",
    "w2v_stat": "wav2vec2bert_stats.pt",
    "spk_matrix": "feat1.pt",
    "emo_matrix": "feat2.pt",
    "bpe_model": "bpe.model",
}
MARKERS = ("config.yaml", "gpt.pth", "s2mel.pth")  # any of these: the directory is meant as official


def looks_official(root: str | os.PathLike) -> bool:
    """True if ``root`` holds any file of the official release (then missing ones are reported)."""
    return any((Path(root) / m).is_file() for m in MARKERS)


def read_config(path: Path) -> dict[str, Any]:
    """Parse an official ``config.yaml`` (a mapping with at least ``gpt`` and ``s2mel``)."""
    import yaml

    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise CheckpointError(f"{path}: cannot read the official config ({exc})") from exc
    if not isinstance(cfg, Mapping) or not all(isinstance(cfg.get(k), Mapping) for k in ("gpt", "s2mel")):
        raise CheckpointError(f"{path}: not an IndexTTS-2 config.yaml (needs 'gpt' and 's2mel' sections)")
    return dict(cfg)


@dataclass(frozen=True)
class OfficialLayout:
    """Resolved paths of one official directory (see the module docstring)."""

    root: Path
    config: dict[str, Any]

    @classmethod
    def open(cls, root: str | os.PathLike) -> OfficialLayout:
        """Read ``config.yaml`` and check every required file; one error lists all that are missing."""
        root = Path(root)
        cfg_path = root / "config.yaml"
        config = read_config(cfg_path) if cfg_path.is_file() else {}
        layout = cls(root, config)
        missing = [] if cfg_path.is_file() else ["config.yaml"]
        missing += [name for name in layout.release_names().values() if not (root / name).is_file()]
        missing += [name for name in AUX_FILES if not (root / name).is_file()]
        if missing:
            lines = [f"  {m}  (from {SOURCES.get(m.split('/')[0], RELEASE)})" for m in missing]
            raise CheckpointError(
                f"{root}: official IndexTTS-2 directory is missing {len(missing)} file(s):\n"
                + "\n".join(lines)
                + "\nDownload them on a machine with network access and copy them into this layout "
                "(see voxsmith.models.official.layout)."
            )
        return layout

    def release_names(self) -> dict[str, str]:
        """Config key → file name of the release's files (config.yaml's names, else the defaults)."""
        names = {}
        for key, default in RELEASE_DEFAULTS.items():
            section = self.config.get("dataset", {}) if key == "bpe_model" else self.config
            value = section.get(key, default) if isinstance(section, Mapping) else default
            names[key] = str(value).strip()
        return names

    def path(self, key: str) -> Path:
        """A release file by its config key (``gpt_checkpoint``, ``bpe_model``, …)."""
        return self.root / self.release_names()[key]

    @property
    def emotion_llm(self) -> Path | None:
        """The Qwen text-to-emotion directory, if shipped (a transformers model directory)."""
        path = self.root / str(self.config.get("qwen_emo_path", "qwen0.6bemo4-merge")).strip().rstrip("/")
        return path if (path / "config.json").is_file() else None

    @property
    def emo_num(self) -> list[int]:
        """Rows per emotion category of feat1/feat2 (official ``emo_num``)."""
        from voxsmith.models.emotion import OFFICIAL_COUNTS

        value = self.config.get("emo_num", list(OFFICIAL_COUNTS))
        try:
            return [int(v) for v in value]
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"{self.root / 'config.yaml'}: emo_num must be 8 integers, got {value!r}"
            ) from exc

    @property
    def w2v_layer(self) -> int:
        from voxsmith.models.official.features import OFFICIAL_LAYER

        return int(self.config.get("w2v_layer", OFFICIAL_LAYER))

    def aux(self, name: str) -> Path:
        """An auxiliary model file or directory (``w2v-bert-2.0``, ``bigvgan/config.json``, …)."""
        return self.root / name
