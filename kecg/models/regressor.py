"""The seed's fusion regressor: an MLP over [VAE latents ‖ handcrafted features] → K⁺.

Hidden layers 512-256-128, each Linear + BatchNorm + ReLU + dropout 0.2, then Linear → 1.
"""

from __future__ import annotations

import torch
from torch import nn

SEED_HIDDEN = (512, 256, 128)


def regressor_hidden(hidden_dim: int) -> tuple[int, int, int]:
    """Widths 4h-2h-h from the seed's ``hidden_dim`` h (128 gives the seed's 512-256-128)."""
    return (4 * hidden_dim, 2 * hidden_dim, hidden_dim)


class PotassiumRegressor(nn.Module):
    """MLP mapping a standardised feature vector ``(B, n_features)`` to one value ``(B,)``."""

    def __init__(
        self, n_features: int, hidden: tuple[int, ...] = SEED_HIDDEN, dropout: float = 0.2
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        width = n_features
        for h in hidden:
            layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]
            width = h
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)
