"""Benchmark ``kecg predict`` end to end: synthetic 200 dpi scans → K⁺, scans per second.

``python -m kecg.bench predict --n 50`` writes a small cohort, trains tiny models on its median
beats (only to have artifacts; their accuracy is not the point), then times prediction on the
``--n`` images with one worker per ``--jobs``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from kecg.models import (
    PotassiumRegressor,
    VAEConfig,
    regressor_hidden,
    save_model,
    train_supervised,
    train_vae,
)
from kecg.params import load_params
from kecg.predict import (
    input_median_beat,
    load_models,
    model_inputs,
    predict_files,
    predict_manifest,
    preprocessing_from_params,
)
from kecg.synth import write_cohort

PARAMS = Path(__file__).resolve().parents[2] / "params.yaml"


def train_tiny_models(
    root: Path, n_images: int, artifacts: str = "scan", seed: int = 0, epochs: int = 3
) -> list[Path]:
    """Write a cohort of about ``n_images`` 200 dpi scans under ``root/cohort`` and small models
    trained on its true signals under ``root/models`` (the repo's params, few epochs); return the
    image paths. The models only make artifacts of the right shape for timing and tests.
    """
    params = load_params(PARAMS)
    labels = write_cohort(
        root / "cohort", n_patients=max(2, 2 * n_images // 3 + 1), seed=seed, artifacts=artifacts,
        dpi=200, jobs=1,
    )  # fmt: skip
    pre = preprocessing_from_params(params)
    ids, beats = [], []
    for ecg_id in labels["ecg_id"]:
        try:
            beats.append(input_median_beat(root / "cohort" / "signals" / f"{ecg_id}.hea", pre))
        except ValueError:
            continue
        ids.append(ecg_id)
    k = labels.set_index("ecg_id").loc[ids, "potassium_mmol_l"].to_numpy(dtype=float)
    stack = np.stack([b.beat_mv for b in beats])
    torch.manual_seed(seed)
    config = VAEConfig(in_channel=stack.shape[1], channels=4, depth=1, width=stack.shape[2],
                       latent_dim=4, downsample=1)  # fmt: skip
    common = dict(epochs=epochs, batch_size=16, learning_rate=1e-3, seed=seed,
                  device=torch.device("cpu"))  # fmt: skip
    vae, vae_manifest = train_vae(
        stack, stack, config, beta=1.0, reconstruction_loss="mae", **common
    )
    save_model(root / "models" / "vae", vae, vae_manifest)
    feature_set = params["features"]["set"]
    x = model_inputs(vae, vae_manifest, feature_set, ids, beats)
    hidden = regressor_hidden(8)
    fitted, _ = train_supervised(
        PotassiumRegressor(x.shape[1], hidden), x.to_numpy(), k, x.to_numpy(), k,
        scale_axis=0, impute_nan=True, patience=0, clip_norm=1.0, **common,
    )  # fmt: skip
    manifest = {"model": "PotassiumRegressor", "hidden": hidden, "features": list(x.columns)}
    fitted.save(root / "models" / "regressor",
                manifest | predict_manifest(params, k, fitted.predict(x.to_numpy())))  # fmt: skip
    return sorted((root / "cohort" / "images").iterdir())[:n_images]


def main(argv: list[str]) -> int:
    """Print scans/s and scans/s per worker for ``--n`` synthetic scans."""
    parser = argparse.ArgumentParser(prog="python -m kecg.bench predict")
    parser.add_argument("--n", type=int, default=50, help="images to predict")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes")
    parser.add_argument("--artifacts", default="scan", choices=["clean", "scan", "photo"])
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images = train_tiny_models(root, n_images=args.n, artifacts=args.artifacts)
        models = load_models(root / "models")
        t0 = time.perf_counter()
        out = predict_files(images, models, jobs=args.jobs)
        elapsed_s = time.perf_counter() - t0
    n_ok = int((out["status"] == "ok").sum())
    print(
        f"predict: {len(out)} scans ({args.artifacts}, 200 dpi), {n_ok} ok, {elapsed_s:.1f} s: "
        f"{len(out) / elapsed_s:.2f} scans/s with {args.jobs} worker(s), "
        f"{len(out) / elapsed_s / args.jobs:.2f} scans/s per worker"
    )
    return 0
