"""The seed's fusion regressor: an MLP over [VAE latents ‖ handcrafted features] → K⁺.

Hidden layers 512-256-128, each Linear + BatchNorm + ReLU + dropout 0.2, then Linear → 1.
With ``members`` > 1 the module holds that many MLPs and predicts their mean: an ensemble of
networks trained one by one with different seeds (:func:`kecg.models.fit.train_regressor`), which
cuts the seed-to-seed spread of a model fitted on a thousand ECGs (1 is the seed's network).
"""

from __future__ import annotations

import torch
from torch import nn

SEED_HIDDEN = (512, 256, 128)


def regressor_hidden(hidden_dim: int) -> tuple[int, int, int]:
    """Widths 4h-2h-h from the seed's ``hidden_dim`` h (128 gives the seed's 512-256-128)."""
    return (4 * hidden_dim, 2 * hidden_dim, hidden_dim)


def _mlp(n_features: int, hidden: tuple[int, ...], dropout: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width = n_features
    for h in hidden:
        layers += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]
        width = h
    layers.append(nn.Linear(width, 1))
    return nn.Sequential(*layers)


class PotassiumRegressor(nn.Module):
    """MLP (or the mean of ``members`` MLPs): standardised ``(B, n_features)`` → K⁺ ``(B,)``."""

    def __init__(
        self,
        n_features: int,
        hidden: tuple[int, ...] = SEED_HIDDEN,
        dropout: float = 0.2,
        members: int = 1,
    ) -> None:
        super().__init__()
        if members < 1:
            raise ValueError(f"members must be ≥ 1, got {members}")
        self.members = nn.ModuleList(_mlp(n_features, hidden, dropout) for _ in range(members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([m(x) for m in self.members], dim=-1).mean(dim=-1)
