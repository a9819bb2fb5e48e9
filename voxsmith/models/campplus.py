"""CAMPPlus speaker encoder (the style vector of S2M), under the official key names.

CAM++ (Wang et al., 2023; 3D-Speaker), as IndexTTS2 uses it:

- ``head`` (FCM): a 2-D residual front end over (frequency, time), stride 2 on frequency
  three times, flattened to ``channels · n_mels/8`` rows at the input frame rate;
- ``xvector``: a TDNN (kernel 5, stride 2 in time), three densely connected blocks of
  context-aware masking (CAM) TDNN layers, each block followed by a halving transit layer,
  a BN-ReLU, statistics pooling (mean ‖ std over time) and a dense layer with an affine-free
  BatchNorm producing the embedding.

A CAM layer's output is a local convolution gated by ``sigmoid(W2 relu(W1 c))`` of a context
``c`` = the utterance mean plus the mean of its 100-frame segment (broadcast back to frames).

Shapes: features (B, T, n_mels) → head (B, C_h · n_mels/8, T) → xvector (B, C, ⌈T/2⌉)
→ pooled (B, 2C) → embedding (B, embedding_size).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.utils.checkpoint as cp

from voxsmith.errors import ConfigError

NONLINEARITIES = ("batchnorm", "batchnorm_", "relu", "prelu")


@dataclass
class CAMPPlusConfig:
    """Size of a CAMPPlus encoder; defaults are the official ``CAMPPlus(feat_dim=80, embedding_size=192)``."""

    feat_dim: int = 80  # n_mels of the input fbank (a multiple of 8: the head halves it three times)
    embedding_size: int = 192  # S: output width (S2M style_dim)
    growth_rate: int = 32  # channels each CAM-dense layer adds
    bn_size: int = 4  # bottleneck width = bn_size · growth_rate
    init_channels: int = 128  # width of the first TDNN
    head_channels: int = 32  # FCM channels (official: hard-coded m_channels=32)
    head_blocks: tuple[int, int] = (2, 2)  # residual blocks in the two FCM stages (official: hard-coded)
    block_layers: tuple[int, ...] = (12, 24, 16)  # CAM-dense layers per block (official: hard-coded)
    block_kernels: tuple[int, ...] = (3, 3, 3)  # their kernel sizes (odd)
    block_dilations: tuple[int, ...] = (1, 2, 2)  # their dilations
    seg_len: int = 100  # frames per CAM segment-pooling window
    config_str: str = "batchnorm-relu"  # nonlinearity recipe, '-'-joined from NONLINEARITIES
    memory_efficient: bool = True  # training: recompute the dense-layer bottleneck (gradient checkpoint)

    def __post_init__(self) -> None:
        self.head_blocks = tuple(int(v) for v in self.head_blocks)  # type: ignore[assignment]
        self.block_layers = tuple(int(v) for v in self.block_layers)
        self.block_kernels = tuple(int(v) for v in self.block_kernels)
        self.block_dilations = tuple(int(v) for v in self.block_dilations)
        if self.feat_dim % 8:
            raise ConfigError(
                f"campplus: feat_dim {self.feat_dim} must be a multiple of 8 (FCM strides 2×2×2)"
            )
        if len(self.head_blocks) != 2 or min(self.head_blocks) < 1:
            raise ConfigError(f"campplus: head_blocks must be two counts >= 1, got {self.head_blocks}")
        n = len(self.block_layers)
        if n < 1 or len(self.block_kernels) != n or len(self.block_dilations) != n:
            raise ConfigError(
                "campplus: block_layers, block_kernels, block_dilations must be non-empty and of equal length"
            )
        if any(k % 2 == 0 for k in self.block_kernels):
            raise ConfigError(f"campplus: block kernels must be odd, got {self.block_kernels}")
        bad = [p for p in self.config_str.split("-") if p not in NONLINEARITIES]
        if bad:
            raise ConfigError(f"campplus: unknown nonlinearity {bad} in config_str {self.config_str!r}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k in ("head_blocks", "block_layers", "block_kernels", "block_dilations"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CAMPPlusConfig:
        unknown = sorted(set(d) - {f.name for f in fields(cls)})
        if unknown:
            raise ConfigError(f"campplus config: unknown keys {unknown}")
        return cls(**d)

    @classmethod
    def from_official(cls, kwargs: Mapping[str, Any]) -> CAMPPlusConfig:
        """From the official constructor's keyword arguments (``CAMPPlus(**kwargs)``)."""
        names = {
            "feat_dim", "embedding_size", "growth_rate", "bn_size", "init_channels",
            "config_str", "memory_efficient",
        }  # fmt: skip
        unknown = sorted(set(kwargs) - names)
        if unknown:
            raise ConfigError(f"campplus official kwargs: unknown {unknown}")
        return cls(**dict(kwargs))

    @classmethod
    def indextts2(cls) -> CAMPPlusConfig:
        """The official style encoder (campplus_cn_common.bin): 6.85 M parameters, 192-d."""
        return cls()

    @classmethod
    def tiny(cls) -> CAMPPlusConfig:
        """The built-in style encoder (~0.2 M parameters, 192-d): trains on 2 CPU cores in ~15 min."""
        return cls(
            growth_rate=16,
            bn_size=2,
            init_channels=64,
            head_channels=16,
            head_blocks=(1, 1),
            block_layers=(4, 6, 4),
            memory_efficient=False,
        )

    @classmethod
    def debug(cls, embedding_size: int = 192) -> CAMPPlusConfig:
        """Unit-test size (a few thousand parameters)."""
        return cls(
            embedding_size=embedding_size,
            growth_rate=4,
            bn_size=2,
            init_channels=8,
            head_channels=4,
            head_blocks=(1, 1),
            block_layers=(1, 2, 1),
            memory_efficient=False,
        )


def nonlinearity(config_str: str, channels: int) -> nn.Sequential:
    """The official ``get_nonlinear``: a Sequential named by the recipe's parts (keys follow)."""
    seq = nn.Sequential()
    for name in config_str.split("-"):
        if name == "relu":
            seq.add_module("relu", nn.ReLU(inplace=True))
        elif name == "prelu":
            seq.add_module("prelu", nn.PReLU(channels))
        elif name == "batchnorm":
            seq.add_module("batchnorm", nn.BatchNorm1d(channels))
        elif name == "batchnorm_":
            seq.add_module("batchnorm", nn.BatchNorm1d(channels, affine=False))
        else:  # pragma: no cover - rejected by CAMPPlusConfig
            raise ConfigError(f"campplus: unknown nonlinearity {name!r}")
    return seq


class BasicResBlock(nn.Module):
    """2-D residual block, stride on frequency only. x: (B, C_in, F, T) → (B, C, F/stride, T)."""

    def __init__(self, in_planes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride=(stride, 1), padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride=(stride, 1), bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class FCM(nn.Module):
    """Front-end convolution module. x: (B, F, T) → (B, C · F/8, T)."""

    def __init__(self, feat_dim: int, channels: int, blocks: tuple[int, int]):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels)
        self.layer1 = self._stage(channels, blocks[0])
        self.layer2 = self._stage(channels, blocks[1])
        self.conv2 = nn.Conv2d(channels, channels, 3, stride=(2, 1), padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels)
        self.out_channels = channels * (feat_dim // 8)

    @staticmethod
    def _stage(channels: int, n: int) -> nn.Sequential:
        return nn.Sequential(*[BasicResBlock(channels, channels, 2 if i == 0 else 1) for i in range(n)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x.unsqueeze(1))))  # (B, C, F, T)
        out = self.layer2(self.layer1(out))
        out = F.relu(self.bn2(self.conv2(out)))  # (B, C, F/8, T)
        return out.flatten(1, 2)


class TDNNLayer(nn.Module):
    """Conv1d (no bias) → nonlinearity; ``padding < 0`` means 'same' for odd kernels."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, padding: int = 0,
                 dilation: int = 1, config_str: str = "batchnorm-relu"):  # fmt: skip
        super().__init__()
        if padding < 0:
            padding = (kernel - 1) // 2 * dilation
        self.linear = nn.Conv1d(
            cin, cout, kernel, stride=stride, padding=padding, dilation=dilation, bias=False
        )
        self.nonlinear = nonlinearity(config_str, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.nonlinear(self.linear(x))


class CAMLayer(nn.Module):
    """Context-aware masking. x: (B, C_bn, T) → (B, C_out, T)."""

    def __init__(self, bn_channels: int, out_channels: int, kernel: int, dilation: int, seg_len: int,
                 reduction: int = 2):  # fmt: skip
        super().__init__()
        pad = (kernel - 1) // 2 * dilation
        self.linear_local = nn.Conv1d(
            bn_channels, out_channels, kernel, padding=pad, dilation=dilation, bias=False
        )
        self.linear1 = nn.Conv1d(bn_channels, bn_channels // reduction, 1)
        self.relu = nn.ReLU(inplace=True)
        self.linear2 = nn.Conv1d(bn_channels // reduction, out_channels, 1)
        self.seg_len = seg_len

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.linear_local(x)
        context = x.mean(-1, keepdim=True) + self.seg_pooling(x)
        m = torch.sigmoid(self.linear2(self.relu(self.linear1(context))))
        return y * m

    def seg_pooling(self, x: torch.Tensor) -> torch.Tensor:
        """Mean over each ``seg_len``-frame segment (the last one partial), repeated back to frames."""
        seg = F.avg_pool1d(x, kernel_size=self.seg_len, stride=self.seg_len, ceil_mode=True)  # (B, C, ⌈T/L⌉)
        return seg.repeat_interleave(self.seg_len, dim=-1)[..., : x.shape[-1]]


class CAMDenseTDNNLayer(nn.Module):
    """BN-ReLU → 1×1 bottleneck → BN-ReLU → CAM layer. x: (B, C_in, T) → (B, growth, T)."""

    def __init__(self, cin: int, cout: int, bn_channels: int, kernel: int, dilation: int, seg_len: int,
                 config_str: str, memory_efficient: bool):  # fmt: skip
        super().__init__()
        self.nonlinear1 = nonlinearity(config_str, cin)
        self.linear1 = nn.Conv1d(cin, bn_channels, 1, bias=False)
        self.nonlinear2 = nonlinearity(config_str, bn_channels)
        self.cam_layer = CAMLayer(bn_channels, cout, kernel, dilation, seg_len)
        self.memory_efficient = memory_efficient

    def bn_function(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear1(self.nonlinear1(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.memory_efficient:
            x = cp.checkpoint(self.bn_function, x, use_reentrant=False)
        else:
            x = self.bn_function(x)
        return self.cam_layer(self.nonlinear2(x))


class CAMDenseTDNNBlock(nn.ModuleList):
    """Densely connected CAM layers (``tdnnd1..N``): each appends ``growth`` channels."""

    def __init__(self, n: int, cin: int, growth: int, bn_channels: int, kernel: int, dilation: int,
                 seg_len: int, config_str: str, memory_efficient: bool):  # fmt: skip
        super().__init__()
        for i in range(n):
            layer = CAMDenseTDNNLayer(cin + i * growth, growth, bn_channels, kernel, dilation, seg_len,
                                      config_str, memory_efficient)  # fmt: skip
            self.add_module(f"tdnnd{i + 1}", layer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self:
            x = torch.cat([x, layer(x)], dim=1)
        return x


class TransitLayer(nn.Module):
    """Nonlinearity → 1×1 conv (no bias): halves the channels between dense blocks."""

    def __init__(self, cin: int, cout: int, config_str: str):
        super().__init__()
        self.nonlinear = nonlinearity(config_str, cin)
        self.linear = nn.Conv1d(cin, cout, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.nonlinear(x))


class DenseLayer(nn.Module):
    """1×1 conv (no bias) → nonlinearity, on (B, C) or (B, C, T)."""

    def __init__(self, cin: int, cout: int, config_str: str):
        super().__init__()
        self.linear = nn.Conv1d(cin, cout, 1, bias=False)
        self.nonlinear = nonlinearity(config_str, cout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.linear(x.unsqueeze(-1)).squeeze(-1) if x.dim() == 2 else self.linear(x)
        return self.nonlinear(x)


class StatsPool(nn.Module):
    """(B, C, T) → (B, 2C): mean ‖ unbiased std over time."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x.mean(dim=-1), x.std(dim=-1, unbiased=True)], dim=-1)


class CAMPPlus(nn.Module):
    """features (B, T, feat_dim) → embedding (B, embedding_size). Needs T >= 2 (std pooling)."""

    def __init__(self, cfg: CAMPPlusConfig):
        super().__init__()
        self.cfg = cfg
        self.head = FCM(cfg.feat_dim, cfg.head_channels, cfg.head_blocks)
        channels = self.head.out_channels
        xvector = nn.Sequential(
            OrderedDict(
                tdnn=TDNNLayer(
                    channels, cfg.init_channels, 5, stride=2, padding=-1, config_str=cfg.config_str
                )
            )
        )
        channels = cfg.init_channels
        for i, (n, kernel, dilation) in enumerate(
            zip(cfg.block_layers, cfg.block_kernels, cfg.block_dilations, strict=True)
        ):
            block = CAMDenseTDNNBlock(n, channels, cfg.growth_rate, cfg.bn_size * cfg.growth_rate, kernel,
                                      dilation, cfg.seg_len, cfg.config_str, cfg.memory_efficient)  # fmt: skip
            xvector.add_module(f"block{i + 1}", block)
            channels += n * cfg.growth_rate
            xvector.add_module(f"transit{i + 1}", TransitLayer(channels, channels // 2, cfg.config_str))
            channels //= 2
        xvector.add_module("out_nonlinear", nonlinearity(cfg.config_str, channels))
        xvector.add_module("stats", StatsPool())
        xvector.add_module("dense", DenseLayer(channels * 2, cfg.embedding_size, "batchnorm_"))
        self.xvector = xvector
        for m in self.modules():  # the official init
            if isinstance(m, nn.Conv1d | nn.Linear):
                nn.init.kaiming_normal_(m.weight)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    @property
    def embedding_size(self) -> int:
        return self.cfg.embedding_size

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        x = self.head(feats.transpose(1, 2))  # (B, C_h·F/8, T)
        return self.xvector(x)  # (B, S)
