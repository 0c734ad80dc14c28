"""Baselines compared with the default pipeline on the same patient split.

* ``seed_two_stage``: the seed's own configuration of the two-stage model (β-VAE with full-width
  layers, latent 64, β 1.1, MAE reconstruction, then the 512-256-128 MLP on [latents ‖ the 9
  statistical features]); sizes and epochs come from ``params.yaml: baselines.seed``.
* ``dscrnn``: the thesis DSCRNN on the one-cycle V5 median beat.
* ``ridge_clinical``: ridge regression on the 9 clinical features (NaN → training median).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from sklearn.impute import SimpleImputer
from sklearn.linear_model import RidgeCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from kecg.features import statistical_features
from kecg.models.dscrnn import DSCRNN
from kecg.models.fit import encode, train_supervised, train_vae
from kecg.models.regressor import PotassiumRegressor, regressor_hidden
from kecg.models.vae import VAEConfig


def ridge_clinical(
    x: np.ndarray, k: np.ndarray, split: np.ndarray, alphas: list[float]
) -> np.ndarray:
    """Ridge (α by leave-one-out on train) on imputed, standardised features; K⁺ for every row."""
    model = make_pipeline(
        SimpleImputer(strategy="median"), StandardScaler(), RidgeCV(alphas=np.asarray(alphas))
    )
    train = split == "train"
    model.fit(x[train], k[train])
    return model.predict(x)


def seed_two_stage(
    beats_mv: np.ndarray,
    k: np.ndarray,
    split: np.ndarray,
    p: dict[str, Any],
    seed: int,
    device: torch.device,
) -> np.ndarray:
    """Train the seed's two-stage model (statistical features) and predict K⁺ for every beat."""
    tr, va = split == "train", split == "val"
    config = VAEConfig(
        in_channel=beats_mv.shape[1],
        channels=p["channels"],
        depth=p["depth"],
        width=beats_mv.shape[2],
        kernel_size=p["kernel_size"],
        encoder_dropout=p["encoder_dropout"],
        decoder_dropout=p["decoder_dropout"],
        softplus_eps=p["softplus_eps"],
        latent_dim=p["latent_dim"],
        downsample=0,
    )
    vae, manifest = train_vae(
        beats_mv[tr],
        beats_mv[va],
        config,
        beta=p["beta"],
        reconstruction_loss=p["reconstruction_loss"],
        epochs=p["num_epochs_vae"],
        batch_size=p["batch_size"],
        learning_rate=p["learning_rate"],
        seed=seed,
        device=device,
    )
    x = np.hstack([encode(vae, manifest, beats_mv), statistical_features(beats_mv)])
    net = PotassiumRegressor(x.shape[1], regressor_hidden(p["hidden_dim"]), dropout=0.2)
    fitted, _ = train_supervised(
        net,
        x[tr],
        k[tr],
        x[va],
        k[va],
        scale_axis=0,
        impute_nan=False,
        epochs=p["num_epochs_regressor"],
        batch_size=p["batch_size"],
        learning_rate=p["learning_rate"],
        patience=p["patience"],
        clip_norm=1.0,
        seed=seed,
        device=device,
    )
    return fitted.predict(x)


def dscrnn(
    beat_v5_mv: np.ndarray,
    k: np.ndarray,
    split: np.ndarray,
    p: dict[str, Any],
    seed: int,
    device: torch.device,
) -> np.ndarray:
    """Train the DSCRNN on ``(n, width)`` V5 beats (scaled by the training mean and SD)."""
    tr, va = split == "train", split == "val"
    x = np.asarray(beat_v5_mv, dtype=np.float64)[:, None, :]
    net = DSCRNN(1, p["channels"], p["n_blocks"], p["kernel_size"], p["lstm_hidden"])
    fitted, _ = train_supervised(
        net,
        x[tr],
        k[tr],
        x[va],
        k[va],
        scale_axis=(0, 1, 2),
        impute_nan=False,
        epochs=p["epochs"],
        batch_size=p["batch_size"],
        learning_rate=p["learning_rate"],
        patience=p["patience"],
        clip_norm=1.0,
        seed=seed,
        device=device,
    )
    return fitted.predict(x)
