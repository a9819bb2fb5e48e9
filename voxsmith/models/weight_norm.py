"""Weight-normalised 1-d convolutions stored as the official ``weight_g`` / ``weight_v`` pair.

``w = g · v / ‖v‖`` with the norm over every dim but 0: per output channel for ``Conv1d``
(weight ``(Cout, Cin, K)``, g ``(Cout, 1, 1)``) and per *input* channel for ``ConvTranspose1d``
(weight ``(Cin, Cout, K)``, g ``(Cin, 1, 1)``). That is the layout ``torch.nn.utils.weight_norm``
writes and the official BigVGAN and RepCodec checkpoints carry. These modules hold the pair
themselves instead of using that hook (deprecated in torch 2.x) and keep the same key names and
math; ``remove_weight_norm()`` folds the pair into one plain ``weight`` for inference, as the
official ``infer_v2`` does for BigVGAN.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class WeightNormConv(nn.Module):
    """Holds ``weight_g``/``weight_v`` (or a folded ``weight``) and ``bias``; subclasses convolve."""

    def __init__(self, proto: nn.Module) -> None:
        super().__init__()
        weight = proto.weight.detach()
        # the same decomposition torch's weight_norm performs at wrap time: g = ‖w‖ over dims ≠ 0
        self.weight_g = nn.Parameter(torch.norm_except_dim(weight, 2, 0))
        self.weight_v = nn.Parameter(weight.clone())
        if proto.bias is not None:
            self.bias = nn.Parameter(proto.bias.detach().clone())
        else:
            self.register_parameter("bias", None)

    @property
    def weight_normed(self) -> bool:
        """True while the weight is stored as (g, v); False after :meth:`remove_weight_norm`."""
        return "weight_v" in self._parameters

    def effective_weight(self) -> torch.Tensor:
        """The convolution weight ``g · v / ‖v‖`` (or the folded weight)."""
        if self.weight_normed:
            # torch's own kernel for weight norm (what the official hook calls), so results match bitwise
            return torch._weight_norm(self.weight_v, self.weight_g, 0)
        return self._parameters["weight"]

    def remove_weight_norm(self) -> None:
        """Fold (g, v) into one ``weight`` parameter; the state dict then reads ``weight``."""
        if not self.weight_normed:
            return
        weight = self.effective_weight().detach()
        del self.weight_g
        del self.weight_v
        self.register_parameter("weight", nn.Parameter(weight))


class WNConv1d(WeightNormConv):
    """Weight-normalised ``Conv1d``. x: (B, Cin, T) → (B, Cout, T')."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        stride: int = 1,
        padding: int = 0,
        dilation: int = 1,
        bias: bool = True,
    ) -> None:
        proto = nn.Conv1d(in_channels, out_channels, kernel_size, stride, padding, dilation, bias=bias)
        super().__init__(proto)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv1d(x, self.effective_weight(), self.bias, self.stride, self.padding, self.dilation)


class WNConvTranspose1d(WeightNormConv):
    """Weight-normalised ``ConvTranspose1d``. x: (B, Cin, T) → (B, Cout, (T-1)·stride - 2·padding + K)."""

    def __init__(
        self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0
    ) -> None:
        proto = nn.ConvTranspose1d(in_channels, out_channels, kernel_size, stride, padding)
        super().__init__(proto)
        self.stride, self.padding = stride, padding

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose1d(x, self.effective_weight(), self.bias, self.stride, self.padding)
