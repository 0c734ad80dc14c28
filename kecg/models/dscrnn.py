"""The thesis DSCRNN: depthwise-separable Conv1D blocks + LSTM regressing K⁺ from one V5 cycle.

Each block is a depthwise Conv1D (one filter per channel) followed by a pointwise 1×1 Conv1D,
BatchNorm, ReLU and max-pooling by 2, which keeps the parameter count small (the thesis studied
4k–180k parameters). The pooled sequence feeds an LSTM; its last hidden state → Linear → K⁺.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn


class SeparableBlock(nn.Module):
    """Depthwise conv → pointwise conv → BatchNorm → ReLU → MaxPool(2)."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int) -> None:
        super().__init__()
        self.depthwise = nn.Conv1d(c_in, c_in, kernel_size, padding=kernel_size // 2, groups=c_in)
        self.pointwise = nn.Conv1d(c_in, c_out, 1)
        self.norm = nn.BatchNorm1d(c_out)
        self.pool = nn.MaxPool1d(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(torch.relu(self.norm(self.pointwise(self.depthwise(x)))))


class DSCRNN(nn.Module):
    """``(B, in_channel, width)`` beat → ``(B,)`` K⁺ estimate."""

    def __init__(
        self,
        in_channel: int = 1,
        channels: int = 16,
        n_blocks: int = 4,
        kernel_size: int = 7,
        lstm_hidden: int = 32,
    ) -> None:
        super().__init__()
        widths = [in_channel] + [channels] * n_blocks
        self.blocks = nn.Sequential(
            *(SeparableBlock(a, b, kernel_size) for a, b in pairwise(widths))
        )
        self.lstm = nn.LSTM(channels, lstm_hidden, batch_first=True)
        self.out = nn.Linear(lstm_hidden, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.blocks(x).transpose(1, 2)
        _, (last, _) = self.lstm(h)
        return self.out(last[-1]).squeeze(-1)
