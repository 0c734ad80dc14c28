"""Models: the seed's β-VAE and fusion regressor, the thesis DSCRNN, and their training."""

from kecg.models.dscrnn import DSCRNN
from kecg.models.fit import (
    FittedModel,
    encode,
    load_vae,
    reconstruct,
    train_regressor,
    train_supervised,
    train_vae,
)
from kecg.models.regressor import SEED_HIDDEN, PotassiumRegressor, regressor_hidden
from kecg.models.train import fit, load_model, predict, save_model, setup_torch
from kecg.models.vae import BetaVAE, VAEConfig, vae_loss

__all__ = [
    "DSCRNN",
    "SEED_HIDDEN",
    "BetaVAE",
    "FittedModel",
    "PotassiumRegressor",
    "VAEConfig",
    "encode",
    "fit",
    "load_model",
    "load_vae",
    "predict",
    "reconstruct",
    "regressor_hidden",
    "save_model",
    "setup_torch",
    "train_regressor",
    "train_supervised",
    "train_vae",
    "vae_loss",
]
