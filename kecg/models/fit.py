"""Fitting the two-stage model (β-VAE, then the fusion regressor) and the DSCRNN baseline.

Every normalisation (beat scaling per lead, feature medians for NaN imputation, feature and
target standardisation) is fitted on the training split only and stored in the manifest.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from kecg.models.regressor import PotassiumRegressor
from kecg.models.train import fit, fit_standardizer, load_model, predict, save_model
from kecg.models.vae import BetaVAE, VAEConfig, vae_loss

EpochCallback = Callable[[int, dict[str, float]], None]


def _tensor(x: np.ndarray, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x, dtype=np.float32), device=device)


def train_vae(
    beats_train_mv: np.ndarray,
    beats_val_mv: np.ndarray,
    config: VAEConfig,
    *,
    beta: float,
    reconstruction_loss: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> tuple[BetaVAE, dict[str, Any]]:
    """Train a :class:`BetaVAE` on ``(n, leads, width)`` beats; return it and its manifest."""
    for name, b in (("train", beats_train_mv), ("val", beats_val_mv)):
        if b.ndim != 3 or b.shape[1:] != (config.in_channel, config.width):
            raise ValueError(f"{name} beats must be (n, {config.in_channel}, {config.width})")
    mean, std = fit_standardizer(beats_train_mv, axis=(0, 2))
    torch.manual_seed(seed)
    model = BetaVAE(config).to(device)

    def step(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        x = batch[0]
        recon, mu, sigma = m(x)
        total, rec, kl = vae_loss(x, recon, mu, sigma, beta, reconstruction_loss)
        return {"loss": total, "recon": rec, "kl": kl}

    history = fit(
        model,
        step,
        (_tensor((beats_train_mv - mean) / std, device),),
        (_tensor((beats_val_mv - mean) / std, device),),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        on_epoch=on_epoch,
    )
    best = int(np.argmin([h["val_loss"] for h in history]))
    manifest = {
        "model": "BetaVAE",
        "config": config.to_dict(),
        "beta": beta,
        "reconstruction_loss": reconstruction_loss,
        "norm_mean_mv": mean.ravel().tolist(),
        "norm_std_mv": std.ravel().tolist(),
        "best_epoch": best,
        "best_val": history[best],
        "epochs_run": len(history),
    }
    return model, manifest


def load_vae(path: str | Path) -> tuple[BetaVAE, dict[str, Any]]:
    """The :class:`BetaVAE` and manifest saved at ``<path>.safetensors/.json`` by ``train_vae``."""
    manifest = json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))
    model = BetaVAE(VAEConfig(**manifest["config"]))
    load_model(path, model)
    return model, manifest


def _normalise(model: BetaVAE, manifest: dict[str, Any], beats_mv: np.ndarray) -> torch.Tensor:
    mean = np.asarray(manifest["norm_mean_mv"]).reshape(1, -1, 1)
    std = np.asarray(manifest["norm_std_mv"]).reshape(1, -1, 1)
    return _tensor((beats_mv - mean) / std, next(model.parameters()).device)


def encode(model: BetaVAE, manifest: dict[str, Any], beats_mv: np.ndarray) -> np.ndarray:
    """Posterior means μ ``(n, latent_dim)`` of beats in mV (the VAE's features)."""
    model.eval()
    return predict(lambda x: model.encode(x)[0], _normalise(model, manifest, beats_mv))


def reconstruct(model: BetaVAE, manifest: dict[str, Any], beats_mv: np.ndarray) -> np.ndarray:
    """Decoded posterior means, back in mV, same shape as ``beats_mv``."""
    model.eval()
    std = np.asarray(manifest["norm_std_mv"]).reshape(1, -1, 1)
    mean = np.asarray(manifest["norm_mean_mv"]).reshape(1, -1, 1)
    out = predict(lambda x: model(x)[0], _normalise(model, manifest, beats_mv))
    return out * std + mean


@dataclass
class FittedModel:
    """A trained network plus its training-set normalisation (NaN imputation, x and y scaling)."""

    net: nn.Module
    x_mean: np.ndarray
    x_std: np.ndarray
    y_mean: float
    y_std: float
    impute: np.ndarray | None = None

    def _prepare(self, x: np.ndarray) -> torch.Tensor:
        x = np.asarray(x, dtype=np.float64)
        if self.impute is not None:
            x = np.where(np.isnan(x), self.impute, x)
        return _tensor((x - self.x_mean) / self.x_std, next(self.net.parameters()).device)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """K⁺ (mmol/L) for raw inputs ``x`` (NaN features imputed when ``impute`` is set)."""
        self.net.eval()
        return predict(self.net, self._prepare(x)) * self.y_std + self.y_mean

    def save(self, path: str | Path, extra: dict[str, Any]) -> None:
        """Weights (safetensors) and a manifest with every normalisation constant."""
        manifest = extra | {
            "x_mean": self.x_mean.ravel().tolist(),
            "x_std": self.x_std.ravel().tolist(),
            "y_mean": self.y_mean,
            "y_std": self.y_std,
            "impute_median": None if self.impute is None else self.impute.ravel().tolist(),
        }
        save_model(path, self.net, manifest)


def train_supervised(
    net: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    scale_axis: int | tuple[int, ...],
    impute_nan: bool,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int,
    clip_norm: float,
    seed: int,
    device: torch.device,
    on_epoch: EpochCallback | None = None,
) -> tuple[FittedModel, list[dict[str, float]]]:
    """Fit ``net`` to K⁺ with MSE on standardised inputs and targets (statistics from train).

    ``impute_nan`` replaces NaN inputs by the per-column training median first (for the feature
    table, where a missing fiducial gives NaN); ``scale_axis`` selects the standardisation axes.
    """
    x_train = np.asarray(x_train, dtype=np.float64)
    x_val = np.asarray(x_val, dtype=np.float64)
    impute = None
    if impute_nan:
        impute = np.nanmedian(x_train, axis=0, keepdims=True)
        if np.isnan(impute).any():
            raise ValueError("a feature is NaN for every training ECG; it cannot be imputed")
    elif np.isnan(x_train).any() or np.isnan(x_val).any():
        raise ValueError("inputs contain NaN and impute_nan is off")
    filled = x_train if impute is None else np.where(np.isnan(x_train), impute, x_train)
    x_mean, x_std = fit_standardizer(filled, axis=scale_axis)
    y_mean, y_std = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
    fitted = FittedModel(net.to(device), x_mean, x_std, y_mean, y_std, impute)

    def step(m: nn.Module, batch: tuple[torch.Tensor, ...]) -> dict[str, torch.Tensor]:
        return {"loss": nn.functional.mse_loss(m(batch[0]), batch[1])}

    def target(y: np.ndarray) -> torch.Tensor:
        return _tensor((np.asarray(y, dtype=np.float64) - y_mean) / y_std, device)

    history = fit(
        net,
        step,
        (fitted._prepare(x_train), target(y_train)),
        (fitted._prepare(x_val), target(y_val)),
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        patience=patience,
        clip_norm=clip_norm,
        on_epoch=on_epoch,
    )
    return fitted, history


def train_regressor(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    *,
    hidden: tuple[int, ...],
    dropout: float,
    members: int,
    seed: int,
    **fit_options: Any,
) -> tuple[FittedModel, list[list[dict[str, float]]]]:
    """The fusion regressor: ``members`` MLPs fitted one by one (seeds ``seed``, ``seed + 1``, …,
    each with its own early stopping) by :func:`train_supervised`, joined into one
    :class:`PotassiumRegressor` that predicts their mean. Returns it and each member's history.

    ``fit_options`` are :func:`train_supervised`'s training settings (``epochs``, ``batch_size``,
    ``learning_rate``, ``patience``, ``clip_norm``, ``device``); NaN features are imputed.
    """
    n_features = np.asarray(x_train).shape[1]
    ensemble = PotassiumRegressor(n_features, hidden, dropout, members)
    histories = []
    for i, member in enumerate(ensemble.members):
        torch.manual_seed(seed + i)  # initial weights too: member i is the seed + i model
        net = PotassiumRegressor(n_features, hidden, dropout)
        fitted, history = train_supervised(
            net, x_train, y_train, x_val, y_val, scale_axis=0, impute_nan=True,
            seed=seed + i, **fit_options,
        )  # fmt: skip
        member.load_state_dict(net.members[0].state_dict())
        histories.append(history)
    device = next(net.parameters()).device  # every member's scaling is the same: same data
    return replace(fitted, net=ensemble.to(device).eval()), histories
