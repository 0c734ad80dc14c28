"""The reference "oracle": how well an ideal model can estimate K⁺ from this cohort.

It measures classic K⁺ features on the CLEAN signals at the TRUE fiducials (leads II and V5,
median over sinus beats), fits a gradient-boosted regressor on the pipeline's train+val patients
(``split.csv``) and scores it against the lab K⁺ of the test patients. Its error is the cohort's
difficulty floor: the cohort is tuned so that it lands near MAE 0.35–0.45 mmol/L and
hyperkalaemia AUC 0.90–0.95, like good models on real data (``docs/synthetic-cohort.md``).
"""

from __future__ import annotations

import json
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import pearsonr
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score, roc_auc_score
from tqdm import tqdm

from kecg.io import LEADS
from kecg.params import n_jobs
from kecg.synth.cohort import FS_HZ, CohortSpec, plan_cohort, synthesize_ecg

ORACLE_LEADS: tuple[str, ...] = ("II", "V5")
HYPER_MMOL_L: float = 5.5


def beat_features(clean_mv: np.ndarray, fiducials: pd.DataFrame) -> dict[str, float]:
    """Median features of the sinus beats of one clean ECG, measured at its true fiducials."""
    fid = fiducials[fiducials["beat_type"] == "N"].astype({"r": float})
    ms = 1000.0 / FS_HZ
    rows = []
    beats = fid.to_dict("records")
    for prev, beat in zip([None, *beats[:-1]], beats, strict=True):
        q_on, q_off, t_peak, t_end = (beat[k] for k in ("qrs_on", "qrs_off", "t_peak", "t_end"))
        if any(pd.isna(v) for v in (q_on, q_off, t_peak, t_end)):
            continue
        q_on, q_off, t_peak, t_end = int(q_on), int(q_off), int(t_peak), int(t_end)
        feats = {
            "qrs_ms": (q_off - q_on) * ms,
            "qt_ms": (t_end - q_on) * ms,
            "t_down_ms": (t_end - t_peak) * ms,
            "pr_ms": (q_on - beat["p_on"]) * ms if not pd.isna(beat["p_on"]) else np.nan,
            "rr_ms": (beat["r"] - prev["r"]) * ms if prev is not None else np.nan,
        }
        for lead in ORACLE_LEADS:
            x = clean_mv[:, LEADS.index(lead)]
            base = x[q_on]
            t_amp = x[t_peak] - base
            r_amp = x[q_on : q_off + 1].max() - base
            slope = np.diff(x[t_peak : t_end + 1]) * FS_HZ
            down = -slope.min() if t_amp >= 0 else slope.max()
            half = np.abs(x[q_off:t_end] - base) >= abs(t_amp) / 2
            feats |= {
                f"t_amp_{lead}": t_amp,
                f"r_amp_{lead}": r_amp,
                f"t_r_{lead}": t_amp / max(r_amp, 0.05),
                f"tsa_{lead}": down / max(abs(t_amp), 0.02),
                f"t_halfwidth_ms_{lead}": half.sum() * ms,
                f"p_amp_{lead}": x[int(beat["p_peak"])] - base
                if not pd.isna(beat["p_peak"])
                else 0.0,
                f"st_{lead}": x[min(q_off + 30, t_peak)] - base,
                f"u_amp_{lead}": x[int(beat["u_peak"])] - base
                if not pd.isna(beat["u_peak"])
                else 0.0,
            }
        rows.append(feats)
    table = pd.DataFrame(rows)
    out = table.median().to_dict()
    out["qtc_ms"] = out["qt_ms"] / (np.nanmedian(table["rr_ms"]) / 1000.0) ** (1.0 / 3.0)
    return out


def _features_one(task: tuple) -> dict[str, float]:
    row, seed, index = task
    ecg = synthesize_ecg(row, seed, index)
    return beat_features(ecg.clean_mv, ecg.fiducials)


def oracle_features(
    n_patients: int, seed: int, spec: CohortSpec | None = None, jobs: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The cohort plan and one row of oracle features per ECG (clean signals, true fiducials)."""
    plan = plan_cohort(n_patients, seed, spec)
    tasks = [(row, seed, i) for i, row in enumerate(plan.to_dict("records"))]
    workers = min(n_jobs(jobs), len(tasks))
    progress = dict(total=len(tasks), desc="oracle features", unit="ecg", leave=False)
    if workers > 1:
        with Pool(workers) as pool:
            chunk = max(1, len(tasks) // (workers * 8))
            feats = list(tqdm(pool.imap(_features_one, tasks, chunksize=chunk), **progress))
    else:
        feats = [_features_one(t) for t in tqdm(tasks, **progress)]
    return plan, pd.DataFrame(feats)


def evaluate_oracle(
    features: pd.DataFrame, k_lab_mmol_l: np.ndarray, split: np.ndarray, seed: int
) -> dict[str, float]:
    """Fit the oracle on the ``train`` and ``val`` ECGs and score it on the ``test`` ECGs.

    ``split`` holds each ECG's split name (the pipeline's patient split, ``split.csv``), so the
    oracle is scored on exactly the patients the models are scored on.
    """
    y = np.asarray(k_lab_mmol_l, dtype=float)
    test = np.asarray(split) == "test"
    if test.all() or not test.any():
        raise ValueError("the split needs both test and train/val ECGs")
    model = HistGradientBoostingRegressor(
        max_iter=300, learning_rate=0.05, min_samples_leaf=20, random_state=seed
    )
    model.fit(features[~test], y[~test])
    pred = model.predict(features[test])
    y_test = y[test]
    return {
        "mae": float(mean_absolute_error(y_test, pred)),
        "rmse": float(np.sqrt(mean_squared_error(y_test, pred))),
        "r2": float(r2_score(y_test, pred)),
        "pearson_r": float(pearsonr(y_test, pred)[0]),
        "hyper_auc": float(roc_auc_score(y_test >= HYPER_MMOL_L, pred)),
        "n_train": int((~test).sum()),
        "n_test": int(test.sum()),
    }


def run_oracle(
    labels_csv: str | Path,
    split_csv: str | Path,
    out: str | Path,
    *,
    n_patients: int,
    seed: int,
    spec: CohortSpec | None = None,
    jobs: int = 0,
    model_seed: int = 0,
) -> dict[str, float]:
    """Oracle metrics of the cohort written with ``n_patients`` and ``seed``, as JSON to ``out``.

    The clean signals and true fiducials are re-synthesized (the stored records carry recording
    noise); ``labels_csv`` must list the same ECGs as that cohort (else the cohort on disk was
    written with other parameters), and ``split_csv`` gives the patient split of the models.
    """
    labels = pd.read_csv(labels_csv)
    plan, features = oracle_features(n_patients, seed, spec, jobs)
    if list(labels["ecg_id"]) != list(plan["ecg_id"]):
        raise ValueError(
            f"{labels_csv}: ECG ids differ from the cohort of n_patients={n_patients}, "
            f"seed={seed}; re-run the synthesize stage"
        )
    split = pd.read_csv(split_csv).set_index("ecg_id")["split"]
    missing = plan["ecg_id"][~plan["ecg_id"].isin(split.index)]
    if len(missing):
        raise ValueError(f"{split_csv}: {len(missing)} ECGs have no split, e.g. {missing.iloc[0]}")
    metrics = evaluate_oracle(
        features, labels["potassium_mmol_l"].to_numpy(), split[plan["ecg_id"]].to_numpy(),
        model_seed,
    )  # fmt: skip
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rounded = {k: v if isinstance(v, int) else round(v, 4) for k, v in metrics.items()}
    out.write_text(json.dumps(rounded, indent=2) + "\n")
    print(
        f"oracle: MAE {metrics['mae']:.3f} mmol/L, AUC(K⁺≥{HYPER_MMOL_L}) "
        f"{metrics['hyper_auc']:.3f}, r {metrics['pearson_r']:.3f} "
        f"on {metrics['n_test']} test ECGs -> {out}"
    )
    return metrics
