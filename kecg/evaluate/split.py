"""Train/validation/test split by patient, computed once and shared by every model.

Patients (not ECGs) are shuffled with a seeded generator and cut by the requested fractions, so
no patient has ECGs in two splits.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

SPLITS = ("train", "val", "test")


def split_by_patient(
    ecg_ids: Sequence[str],
    patient_ids: Sequence[str],
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    seed: int = 0,
) -> pd.DataFrame:
    """``ecg_id, patient_id, split`` rows, ``split`` ∈ train/val/test, patients never shared."""
    if len(ecg_ids) != len(patient_ids):
        raise ValueError("ecg_ids and patient_ids differ in length")
    f = np.asarray(fractions, dtype=np.float64)
    if f.shape != (3,) or (f < 0).any() or not np.isclose(f.sum(), 1.0):
        raise ValueError(f"fractions must be 3 non-negative numbers summing to 1, got {fractions}")
    patients = np.array(sorted({str(p) for p in patient_ids}))
    if len(patients) < 3:
        raise ValueError(f"need at least 3 patients to split, got {len(patients)}")
    order = np.random.default_rng(seed).permutation(len(patients))
    n_train = round(float(f[0]) * len(patients))
    n_val = round(float(f[1]) * len(patients))
    n_train = min(max(n_train, 1), len(patients) - 2)
    n_val = min(max(n_val, 1), len(patients) - n_train - 1)
    split_of = {}
    for rank, k in enumerate(order):
        split_of[patients[k]] = (
            "train" if rank < n_train else "val" if rank < n_train + n_val else "test"
        )
    return pd.DataFrame(
        {
            "ecg_id": [str(e) for e in ecg_ids],
            "patient_id": [str(p) for p in patient_ids],
            "split": [split_of[str(p)] for p in patient_ids],
        }
    )


def align(
    ecg_ids: Sequence[str], split: pd.DataFrame, labels: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """Split name and lab K⁺ (``potassium_mmol_l``) for each of ``ecg_ids``, in that order.

    An ECG without a lab value is ``"unlabeled"`` with K⁺ NaN: it is encoded and predicted but
    never trained or scored on. A labelled ECG missing from ``split.csv`` is an error naming it.
    """
    ids = pd.Index([str(e) for e in ecg_ids])
    s = split.assign(ecg_id=split["ecg_id"].astype(str)).set_index("ecg_id")["split"]
    k = labels.assign(ecg_id=labels["ecg_id"].astype(str)).set_index("ecg_id")["potassium_mmol_l"]
    labelled = ids.intersection(k.index)
    missing = labelled.difference(s.index)
    if len(missing):
        raise ValueError(f"{len(missing)} ECGs missing from split.csv, e.g. {list(missing[:3])}")
    names = s.reindex(ids).fillna("unlabeled").where(ids.isin(k.index), "unlabeled")
    return names.to_numpy(dtype=str), k.reindex(ids).to_numpy(dtype=np.float64)
