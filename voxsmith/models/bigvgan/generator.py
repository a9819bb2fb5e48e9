"""The BigVGAN v2 generator: log-mel → waveform, under the official state-dict key names.

conv_pre (M → C0) → per stage i: transposed conv (×rate_i, C_i → C_i/2) then the mean of
``len(resblock_kernel_sizes)`` parallel AMP blocks → anti-aliased Snake → conv_post (→ 1)
→ clamp to [-1, 1] (or tanh). Every convolution is weight-normalised in the state dict
(``weight_g``/``weight_v``, the layout of ``bigvgan_generator.pt['generator']``); call
:meth:`BigVGAN.remove_weight_norm` after loading for inference, as the official ``infer_v2`` does
(the outputs are the same, the forward is cheaper).

Shapes: B batch, M mel bins, T frames, hop = product of the upsampling rates (256 for 22 kHz).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from voxsmith.checkpoints import read_torch_pth, strict_load
from voxsmith.errors import CheckpointError, ConfigError
from voxsmith.models.bigvgan.activations import Activation1d, make_snake
from voxsmith.models.bigvgan.amp import AMPBlock1, AMPBlock2
from voxsmith.models.bigvgan.config import BigVGANConfig
from voxsmith.models.weight_norm import WeightNormConv, WNConv1d, WNConvTranspose1d


class BigVGAN(nn.Module):
    """mel (B, M, T) → wav (B, 1, T·hop) in [-1, 1]."""

    def __init__(self, cfg: BigVGANConfig):
        super().__init__()
        self.cfg = cfg
        c0 = cfg.upsample_initial_channel
        self.conv_pre = WNConv1d(cfg.num_mels, c0, 7, 1, padding=3)
        # each stage is a one-element ModuleList: the official key is ``ups.<i>.0.*``
        self.ups = nn.ModuleList(
            nn.ModuleList([WNConvTranspose1d(c0 >> i, c0 >> (i + 1), k, u, padding=(k - u) // 2)])
            for i, (u, k) in enumerate(zip(cfg.upsample_rates, cfg.upsample_kernel_sizes, strict=True))
        )
        block = AMPBlock1 if cfg.resblock == "1" else AMPBlock2
        self.resblocks = nn.ModuleList(
            block(c0 >> (i + 1), k, d, cfg.activation, cfg.snake_logscale)
            for i in range(len(cfg.upsample_rates))
            for k, d in zip(cfg.resblock_kernel_sizes, cfg.resblock_dilation_sizes, strict=True)
        )
        ch = cfg.out_channels
        self.activation_post = Activation1d(make_snake(cfg.activation, ch, cfg.snake_logscale))
        self.conv_post = WNConv1d(ch, 1, 7, 1, padding=3, bias=cfg.use_bias_at_final)

    @property
    def hop_length(self) -> int:
        return self.cfg.hop_length

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        if mel.dim() != 3 or mel.shape[1] != self.cfg.num_mels:
            raise ConfigError(f"bigvgan: expected mel (B, {self.cfg.num_mels}, T), got {tuple(mel.shape)}")
        n_kernels = len(self.cfg.resblock_kernel_sizes)
        x = self.conv_pre(mel)
        for i, up in enumerate(self.ups):
            for layer in up:
                x = layer(x)
            # multi-receptive-field fusion: mean of the stage's parallel AMP blocks
            xs = self.resblocks[i * n_kernels](x)
            for j in range(1, n_kernels):
                xs += self.resblocks[i * n_kernels + j](x)
            x = xs / n_kernels
        x = self.conv_post(self.activation_post(x))
        return torch.tanh(x) if self.cfg.use_tanh_at_final else torch.clamp(x, min=-1.0, max=1.0)

    def remove_weight_norm(self) -> BigVGAN:
        """Fold every (weight_g, weight_v) pair into a plain weight (inference); returns self."""
        for module in self.modules():
            if isinstance(module, WeightNormConv):
                module.remove_weight_norm()
        return self

    @classmethod
    def from_official_files(
        cls,
        config_json: str | os.PathLike,
        generator_pt: str | os.PathLike,
        *,
        remove_weight_norm: bool = True,
    ) -> BigVGAN:
        """Build from an official ``config.json`` and load ``bigvgan_generator.pt`` strictly.

        The ``.pt`` is read with ``weights_only=True``; its ``generator`` entry is the state dict
        under our key names (no renames). Returned in eval mode, weight norm folded by default.
        """
        cfg_path = Path(config_json)
        if not cfg_path.is_file():
            raise CheckpointError(f"{cfg_path}: BigVGAN config.json not found")
        try:
            h = json.loads(cfg_path.read_text())
        except json.JSONDecodeError as exc:
            raise CheckpointError(f"{cfg_path}: not valid JSON ({exc})") from exc
        ckpt = read_torch_pth(generator_pt)
        state = ckpt.get("generator") if isinstance(ckpt, dict) else None
        if not isinstance(state, dict):
            raise CheckpointError(f"{generator_pt}: no 'generator' state dict in the BigVGAN checkpoint")
        model = cls(BigVGANConfig.from_official(h))
        strict_load(model, state, f"{generator_pt}")
        if remove_weight_norm:
            model.remove_weight_norm()
        return model.eval()
