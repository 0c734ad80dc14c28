"""Estimate K⁺ for new ECG images or records with the trained models (``kecg predict``).

Each input goes the pipeline's way, through the same library functions as the stages: an image
is digitized, the ``extract_leads`` leads are taken on one time base, R peaks are fused over the
beat leads, the median beat is delineated, then VAE latent means + the 9 handcrafted features go
through the regressor. The 80 % interval and P(K⁺ ≥ 5.5) come from the validation residuals
stored in ``models/regressor.json`` (split-conformal: the interval covers 80 % of new ECGs drawn
like the validation ones). A failing input gets ``status = failed`` and a reason; the others go on.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from kecg.beats.delineate import FIDUCIALS
from kecg.beats.record import MedianBeat, record_median_beat, record_rpeaks
from kecg.digitize import digitize_image, select_leads
from kecg.digitize.core import LOWPASS_HZ
from kecg.digitize.load import IMAGE_SUFFIXES
from kecg.evaluate.metrics import BIN_LABELS, HYPER_MMOL_L, k_bin
from kecg.features import CLINICAL_FEATURES, STATISTICAL_FEATURES, feature_table
from kecg.io.formats import RECORD_SUFFIXES, load_record
from kecg.models import BetaVAE, FittedModel, PotassiumRegressor, encode, load_model, load_vae
from kecg.params import n_jobs

FORMAT_VERSION = 1
INTERVAL_LEVEL = 0.8
PREDICT_COLUMNS: tuple[str, ...] = (
    "input", "ecg_id", "status", "reason", "k_pred_mmol_l", "k_lo", "k_hi", "k_bin", "p_hyper",
)  # fmt: skip
MANIFEST_KEYS: tuple[str, ...] = (
    "features", "feature_set", "hidden", "x_mean", "x_std", "y_mean", "y_std", "impute_median",
    "preprocessing", "calibration",
)  # fmt: skip
BEAT_OPTIONS: tuple[str, ...] = ("min_corr", "min_beats", "min_coverage", "delineation")
_FEATURE_NAMES = {"clinical": CLINICAL_FEATURES, "statistical": STATISTICAL_FEATURES}


class ModelArtifactError(ValueError):
    """Model files that are missing, corrupt or do not match each other or this code."""


def calibrate(k_true: np.ndarray, k_pred: np.ndarray, level: float = INTERVAL_LEVEL) -> dict:
    """Split-conformal calibration from validation K⁺: interval half-width and residuals.

    The half-width is the ⌈(n+1)·level⌉-th smallest |residual|, which covers at least ``level``
    of exchangeable new cases; the residuals themselves give P(K⁺ ≥ 5.5) (see :func:`p_hyper`).
    """
    residual = np.asarray(k_true, dtype=float) - np.asarray(k_pred, dtype=float)
    if residual.size == 0 or not np.isfinite(residual).all():
        raise ValueError("calibration needs finite validation predictions")
    rank = min(residual.size, math.ceil((residual.size + 1) * level))
    half_width = float(np.sort(np.abs(residual))[rank - 1])
    return {
        "level": level,
        "half_width_mmol_l": round(half_width, 4),
        "n_val": int(residual.size),
        "residuals_mmol_l": np.round(np.sort(residual), 4).tolist(),
    }


def interval(k_pred: np.ndarray, calibration: dict) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the calibrated interval around each prediction."""
    k = np.asarray(k_pred, dtype=float)
    return k - calibration["half_width_mmol_l"], k + calibration["half_width_mmol_l"]


def interval_coverage(k_true: np.ndarray, k_pred: np.ndarray, calibration: dict) -> float:
    """Fraction of true values inside the calibrated interval."""
    lo, hi = interval(k_pred, calibration)
    t = np.asarray(k_true, dtype=float)
    return float(np.mean((t >= lo) & (t <= hi)))


def p_hyper(k_pred: np.ndarray, calibration: dict, cut_mmol_l: float = HYPER_MMOL_L) -> np.ndarray:
    """P(K⁺ ≥ ``cut_mmol_l``): the share of validation residuals that put the truth above it."""
    residual = np.asarray(calibration["residuals_mmol_l"], dtype=float)
    k = np.asarray(k_pred, dtype=float).reshape(-1, 1)
    return np.mean(k + residual.reshape(1, -1) >= cut_mmol_l, axis=1)


def preprocessing_from_params(params: dict[str, Any]) -> dict[str, Any]:
    """The digitizer's low-pass and the ``extract_leads`` and ``beats`` settings a new input
    must go through, from params."""
    beats = params["beats"]
    return {
        "digitize_lowpass_hz": params.get("digitize", {}).get("lowpass_hz", LOWPASS_HZ),
        "extract_leads": list(params["extract_leads"]["leads"]),
        "extract_fs_hz": float(params["extract_leads"].get("fs_hz", 500.0)),
        "leads": list(beats["leads"]),
        "fs_hz": float(beats["fs_hz"]),
        "pre_r_s": float(beats["pre_r_s"]),
        "width": int(params["width"]),
        **{k: beats[k] for k in BEAT_OPTIONS},
    }


def predict_manifest(
    params: dict[str, Any], k_val_true: np.ndarray, k_val_pred: np.ndarray
) -> dict:
    """Manifest entries that make the regressor usable alone: preprocessing and calibration."""
    return {
        "format_version": FORMAT_VERSION,
        "feature_set": params["features"]["set"],
        "preprocessing": preprocessing_from_params(params),
        "calibration": calibrate(k_val_true, k_val_pred),
    }


@dataclass
class Models:
    """The trained VAE and regressor with their manifests, checked against each other."""

    vae: BetaVAE
    vae_manifest: dict[str, Any]
    regressor: FittedModel
    manifest: dict[str, Any]

    @property
    def preprocessing(self) -> dict[str, Any]:
        return self.manifest["preprocessing"]


def _read_manifest(path: Path) -> dict[str, Any]:
    for suffix in (".json", ".safetensors"):
        if not path.with_suffix(suffix).is_file():
            raise ModelArtifactError(
                f"{path.with_suffix(suffix)}: missing; run `dvc repro` (or `dvc pull`) first"
            )
    try:
        return json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelArtifactError(f"{path.with_suffix('.json')}: corrupt manifest: {exc}") from None


def load_models(models_dir: str | Path = "models") -> Models:
    """``vae`` and ``regressor`` from ``models_dir``; :class:`ModelArtifactError` if unusable."""
    folder = Path(models_dir)
    reg_path, vae_path = folder / "regressor", folder / "vae"
    manifest = _read_manifest(reg_path)
    vae_manifest = _read_manifest(vae_path)
    where = reg_path.with_suffix(".json")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ModelArtifactError(
            f"{where}: format_version {manifest.get('format_version')!r}, this kecg reads "
            f"{FORMAT_VERSION}; retrain with `dvc repro`"
        )
    missing = [k for k in MANIFEST_KEYS if k not in manifest]
    if missing:
        raise ModelArtifactError(f"{where}: corrupt manifest, lacks {', '.join(missing)}")
    try:
        latent_dim = int(vae_manifest["config"]["latent_dim"])
        expected = [f"z{i:02d}" for i in range(latent_dim)]
        expected += list(_FEATURE_NAMES[manifest["feature_set"]])
        if manifest["features"] != expected:
            raise ModelArtifactError(
                f"{where}: input features {manifest['features']} do not match the VAE "
                f"({latent_dim} latents) and the {manifest['feature_set']} feature set; the two "
                "models come from different runs"
            )
        members = int(manifest.get("members", 1))
        net = PotassiumRegressor(len(expected), tuple(manifest["hidden"]), members=members)
        vae, vae_manifest = load_vae(vae_path)
        load_model(reg_path, net)
        impute = manifest["impute_median"]
        regressor = FittedModel(
            net,
            np.asarray(manifest["x_mean"]).reshape(1, -1),
            np.asarray(manifest["x_std"]).reshape(1, -1),
            float(manifest["y_mean"]),
            float(manifest["y_std"]),
            None if impute is None else np.asarray(impute).reshape(1, -1),
        )
    except ModelArtifactError:
        raise
    except Exception as exc:  # safetensors, torch and KeyError all mean a corrupt artifact
        raise ModelArtifactError(
            f"{folder}: corrupt or mismatched model files ({type(exc).__name__}: {exc})"
        ) from None
    return Models(vae, vae_manifest, regressor, manifest)


def input_median_beat(
    path: str | Path, preprocessing: dict[str, Any], fs_hz: float | None = None
) -> MedianBeat:
    """The median beat of one image or record file, as the pipeline stages compute it."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        lowpass_hz = preprocessing.get("digitize_lowpass_hz", LOWPASS_HZ)
        record, _ = digitize_image(path, lowpass_hz=lowpass_hz)
    elif suffix in RECORD_SUFFIXES:
        record = load_record(path, fs_hz)
    else:
        raise ValueError(
            f"unknown file type {suffix or '(none)'!r} "
            f"(images: {', '.join(IMAGE_SUFFIXES)}; records: {', '.join(RECORD_SUFFIXES)})"
        )
    p = preprocessing
    record = select_leads(record, p["extract_leads"], p["extract_fs_hz"])
    leads = tuple(p["leads"])
    rpeaks = record_rpeaks(record, leads)
    options = {k: p[k] for k in BEAT_OPTIONS}
    return record_median_beat(
        record, rpeaks, leads, fs_out_hz=p["fs_hz"], pre_s=p["pre_r_s"], width=p["width"], **options
    )


def _beat_task(path: str, preprocessing: dict[str, Any], fs_hz: float | None) -> MedianBeat | str:
    try:
        return input_median_beat(path, preprocessing, fs_hz)
    except Exception as exc:  # one bad input is reported, never fatal to the batch
        return str(exc) or type(exc).__name__


def model_inputs(
    vae: BetaVAE, vae_manifest: dict[str, Any], feature_set: str, ids: list[str],
    beats: list[MedianBeat],
) -> pd.DataFrame:  # fmt: skip
    """The regressor's inputs per ECG (rows ``ids``): VAE latent means ``z00…`` + 9 features."""
    first = beats[0]
    stack = np.stack([b.beat_mv for b in beats]).astype(np.float32)
    fiducials = pd.DataFrame(
        [
            {"ecg_id": i, "lead": lead, **{k: b.fiducials_ms[k][j] for k in FIDUCIALS}}
            for i, b in zip(ids, beats, strict=True)
            for j, lead in enumerate(b.leads)
        ],
        columns=["ecg_id", "lead", *FIDUCIALS],
    )
    handcrafted = feature_table(
        feature_set, stack, ids, list(first.leads), first.fs_hz,
        first.r_index, np.asarray([b.rr_ms for b in beats]), fiducials,
    )  # fmt: skip
    mu = encode(vae, vae_manifest, stack)
    latents = pd.DataFrame(mu, index=ids, columns=[f"z{i:02d}" for i in range(mu.shape[1])])
    return pd.concat([latents, handcrafted], axis=1)


def predict_files(
    paths: Sequence[str | Path],
    models: Models,
    *,
    jobs: int = 1,
    records_fs_hz: float | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """One row per input (``PREDICT_COLUMNS``), in input order; failures carry their reason."""
    task = partial(_beat_task, preprocessing=models.preprocessing, fs_hz=records_fs_hz)
    names = [str(p) for p in paths]
    workers = min(n_jobs(jobs), max(1, len(names)))
    bar = dict(total=len(names), desc="predict", unit="file", disable=not progress, leave=False)
    if workers == 1:
        results = [task(p) for p in tqdm(names, **bar)]
    else:
        with ProcessPoolExecutor(workers) as pool:
            results = list(tqdm(pool.map(task, names, chunksize=1), **bar))
    rows = pd.DataFrame({"input": names, "ecg_id": [Path(p).stem for p in names]})
    ok = np.array([isinstance(r, MedianBeat) for r in results], dtype=bool)
    rows["status"] = np.where(ok, "ok", "failed")
    rows["reason"] = [r if isinstance(r, str) else "" for r in results]
    for col in PREDICT_COLUMNS[4:]:
        rows[col] = np.nan if col != "k_bin" else ""
    if ok.any():
        ids = list(rows.loc[ok, "ecg_id"])
        beats = [r for r in results if isinstance(r, MedianBeat)]
        m = models.manifest
        x = model_inputs(models.vae, models.vae_manifest, m["feature_set"], ids, beats)
        k = models.regressor.predict(x[m["features"]].to_numpy(dtype=float))
        calibration = models.manifest["calibration"]
        lo, hi = interval(k, calibration)
        rows.loc[ok, "k_pred_mmol_l"] = k
        rows.loc[ok, "k_lo"] = lo
        rows.loc[ok, "k_hi"] = hi
        rows.loc[ok, "k_bin"] = [BIN_LABELS[b] for b in k_bin(k)]
        rows.loc[ok, "p_hyper"] = p_hyper(k, calibration)
    for row in rows[~ok].itertuples():
        print(f"predict: {row.input}: {row.reason}", file=sys.stderr)
    return rows[list(PREDICT_COLUMNS)]
