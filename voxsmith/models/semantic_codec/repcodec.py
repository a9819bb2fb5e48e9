"""RepCodec: MaskGCT's semantic codec, w2v-BERT features ↔ discrete semantic codes.

encoder = [VocosBackbone(H → C), Linear(C → H)] re-encodes the features, a factorized VQ
(codebook K × D) turns each frame into one code, and the decoder (same shape as the encoder)
reconstructs the features from the quantized embedding. IndexTTS2 uses ``quantize`` on the
prompt's features (the codes the GPT continues, and their embedding for S2M) and ``vq2emb``
on generated codes; the decoder is in the checkpoint but unused at inference.

Slot interface (shared with the tiny ``KMeansCodec``): ``quantize(feats) -> codes`` and
``vq2emb(codes) -> embeddings`` channels-last. The official layouts are kept one level down:
``quantize_with_embedding`` returns the official ``RepCodec.quantize`` pair, and
``quantizer.vq2emb`` returns (B, H, T) like the official ``quantizer.vq2emb``.

Shapes: B batch, T frames (50 Hz for w2v-BERT 2.0), H feature width, Q quantizers.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from voxsmith.checkpoints import strict_load
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.semantic_codec.backbone import VocosBackbone
from voxsmith.models.semantic_codec.config import RepCodecConfig
from voxsmith.models.semantic_codec.quantizer import ResidualVQ


def _backbone(cfg: RepCodecConfig) -> nn.Sequential:
    # a Sequential so that the keys read encoder.0.* (backbone) and encoder.1.* (projection)
    return nn.Sequential(
        VocosBackbone(cfg.hidden_size, cfg.vocos_dim, cfg.vocos_intermediate_dim, cfg.vocos_num_layers),
        nn.Linear(cfg.vocos_dim, cfg.hidden_size),
    )


class RepCodec(nn.Module):
    """feats (B, T, H) → codes (B, T); codes → embeddings (B, T, H)."""

    def __init__(self, cfg: RepCodecConfig):
        super().__init__()
        self.cfg = cfg
        self.encoder = _backbone(cfg)
        self.decoder = _backbone(cfg)
        self.quantizer = ResidualVQ(
            cfg.hidden_size, cfg.num_quantizers, cfg.codebook_size, cfg.codebook_dim, cfg.use_l2_normalize
        )
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        if isinstance(m, (nn.Conv1d, nn.Linear)):
            nn.init.trunc_normal_(m.weight, std=0.02)
            nn.init.zeros_(m.bias)

    def _check(self, feats: torch.Tensor) -> None:
        if feats.dim() != 3 or feats.shape[-1] != self.cfg.hidden_size:
            raise ConfigError(
                f"repcodec: expected features (B, T, {self.cfg.hidden_size}), got {tuple(feats.shape)}"
            )

    def encode(self, feats: torch.Tensor) -> torch.Tensor:
        """The encoder's re-encoded features, before quantization. feats (B, T, H) → (B, H, T)."""
        self._check(feats)
        return self.encoder(feats.transpose(1, 2)).transpose(1, 2)

    def quantize_with_embedding(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The official ``RepCodec.quantize``: feats (B, T, H) → (codes (B, T), quantized (B, T, H)).

        Codes are (Q, B, T) when Q > 1 (the official squeezes the stage axis only for Q = 1).
        """
        quantized, codes = self.quantizer(self.encode(feats))
        return (codes[0] if codes.shape[0] == 1 else codes), quantized.transpose(1, 2)

    def quantize(self, feats: torch.Tensor) -> torch.Tensor:
        """Semantic codes of the features. feats (B, T, H) → codes (B, T) int64."""
        return self.quantize_with_embedding(feats)[0]

    def vq2emb(self, codes: torch.Tensor) -> torch.Tensor:
        """Embedding of codes, channels-last. codes (B, T) (or (Q, B, T)) → (B, T, H)."""
        if codes.dim() == 2:
            codes = codes.unsqueeze(0)
        if codes.dim() != 3:
            raise ConfigError(f"repcodec: expected codes (B, T) or (Q, B, T), got {tuple(codes.shape)}")
        return self.quantizer.vq2emb(codes.long()).transpose(1, 2)

    def decode(self, quantized: torch.Tensor) -> torch.Tensor:
        """Reconstructed features from quantized embeddings. (B, T, H) → (B, T, H)."""
        self._check(quantized)
        return self.decoder(quantized.transpose(1, 2))

    @classmethod
    def from_official_files(cls, weights: str | os.PathLike, cfg: RepCodecConfig | None = None) -> RepCodec:
        """Load MaskGCT's ``semantic_codec/model.safetensors`` strictly (official key names, no renames)."""
        path = Path(weights)
        if not path.is_file():
            raise CheckpointError(f"{path}: semantic codec weights not found")
        try:
            state = load_file(str(path))
        except Exception as exc:
            raise CheckpointError(f"{path}: not a readable safetensors file ({exc})") from exc
        model = cls(cfg or RepCodecConfig.indextts2())
        strict_load(model, state, str(path))
        return model.eval()
