"""The seed's β-VAE for median beats: residual Conv1D encoder, Gaussian latent, mirrored decoder.

Input ``(B, in_channel, width)`` (leads II and V5, 512 samples at 500 Hz). The stem is a Conv1D
to ``channels``; ``depth`` residual blocks (Conv1D + BatchNorm + ReLU + dropout) follow, the first
``downsample`` of them halving the length with stride 2 so the flattened code stays small on a CPU
(``downsample: 0`` is the seed's design: every layer at full width, flatten = channels·width).
μ is linear, σ = softplus(·) + ``softplus_eps``. The decoder mirrors the encoder with transposed
convolutions. Loss = reconstruction (summed over leads and samples, mean over the batch)
+ ``beta`` · KL(q(z|x) ‖ N(0, I)).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

RECONSTRUCTION_LOSSES = ("mae", "mse", "huber", "smooth_l1")


@dataclass(frozen=True)
class VAEConfig:
    """Architecture of :class:`BetaVAE` (the seed's hyperparameter names)."""

    in_channel: int = 2
    channels: int = 16
    depth: int = 3
    width: int = 512
    kernel_size: int = 5
    encoder_dropout: float = 0.3
    decoder_dropout: float = 0.0
    softplus_eps: float = 1.0e-4
    latent_dim: int = 16
    downsample: int = 3

    def __post_init__(self) -> None:
        if self.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {self.kernel_size}")
        if not 0 <= self.downsample <= self.depth:
            raise ValueError(f"downsample must be in [0, depth], got {self.downsample}")
        if self.width % (2**self.downsample):
            raise ValueError(f"width {self.width} is not divisible by 2**downsample")

    @property
    def code_width(self) -> int:
        """Length of the feature map that is flattened into the latent heads."""
        return self.width // 2**self.downsample

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)


class EncoderBlock(nn.Module):
    """Conv1D + BatchNorm + ReLU + dropout with a residual path (1×1 conv when it downsamples)."""

    def __init__(self, channels: int, kernel_size: int, dropout: float, stride: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, kernel_size, stride, kernel_size // 2)
        self.norm = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)
        self.skip = nn.Identity() if stride == 1 else nn.Conv1d(channels, channels, 1, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.drop(F.relu(self.norm(self.conv(x))))


class DecoderBlock(nn.Module):
    """Transposed-conv mirror of :class:`EncoderBlock` (doubles the length when stride is 2)."""

    def __init__(self, channels: int, kernel_size: int, dropout: float, stride: int) -> None:
        super().__init__()
        extra = stride - 1
        self.conv = nn.ConvTranspose1d(
            channels, channels, kernel_size, stride, kernel_size // 2, output_padding=extra
        )
        self.norm = nn.BatchNorm1d(channels)
        self.drop = nn.Dropout(dropout)
        self.skip = (
            nn.Identity()
            if stride == 1
            else nn.ConvTranspose1d(channels, channels, 1, stride, output_padding=extra)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.drop(F.relu(self.norm(self.conv(x))))


class BetaVAE(nn.Module):
    """β-VAE over multi-lead median beats; ``forward`` returns (reconstruction, μ, σ)."""

    def __init__(self, config: VAEConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.stem = nn.Sequential(
            nn.Conv1d(c.in_channel, c.channels, c.kernel_size, padding=c.kernel_size // 2),
            nn.BatchNorm1d(c.channels),
            nn.ReLU(),
            nn.Dropout(c.encoder_dropout),
        )
        strides = [2 if i < c.downsample else 1 for i in range(c.depth)]
        self.encoder = nn.Sequential(
            *(EncoderBlock(c.channels, c.kernel_size, c.encoder_dropout, s) for s in strides)
        )
        flat = c.channels * c.code_width
        self.mu = nn.Linear(flat, c.latent_dim)
        self.sigma = nn.Linear(flat, c.latent_dim)
        self.expand = nn.Linear(c.latent_dim, flat)
        self.decoder = nn.Sequential(
            *(DecoderBlock(c.channels, c.kernel_size, c.decoder_dropout, s) for s in strides[::-1])
        )
        self.head = nn.ConvTranspose1d(
            c.channels, c.in_channel, c.kernel_size, padding=c.kernel_size // 2
        )

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Posterior mean μ and standard deviation σ, each ``(B, latent_dim)``."""
        h = self.encoder(self.stem(x)).flatten(1)
        return self.mu(h), F.softplus(self.sigma(h)) + self.config.softplus_eps

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Beat ``(B, in_channel, width)`` from latent ``z``."""
        h = self.expand(z).view(-1, self.config.channels, self.config.code_width)
        return self.head(self.decoder(h))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, sigma = self.encode(x)
        z = mu + sigma * torch.randn_like(sigma) if self.training else mu
        return self.decode(z), mu, sigma


def vae_loss(
    x: torch.Tensor,
    recon: torch.Tensor,
    mu: torch.Tensor,
    sigma: torch.Tensor,
    beta: float,
    reconstruction_loss: str = "mae",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(total, reconstruction, KL), each summed per sample and averaged over the batch."""
    fns = {
        "mae": F.l1_loss,
        "mse": F.mse_loss,
        "huber": F.huber_loss,
        "smooth_l1": F.smooth_l1_loss,
    }
    if reconstruction_loss not in fns:
        raise ValueError(f"reconstruction_loss must be one of {RECONSTRUCTION_LOSSES}")
    rec = fns[reconstruction_loss](recon, x, reduction="none").flatten(1).sum(1).mean()
    kl = (0.5 * (mu**2 + sigma**2 - 1.0) - torch.log(sigma)).sum(1).mean()
    return rec + beta * kl, rec, kl
