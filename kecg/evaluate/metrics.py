"""Regression, K⁺-bin classification and hyperkalaemia detection metrics.

Bins are the seed's: < 4, 4–5, 5–6, 6–7, 7–8, ≥ 8 mmol/L (left-closed). Hyperkalaemia is
K⁺ ≥ 5.5 mmol/L; its operating threshold on the predicted K⁺ is chosen on validation data
(Youden's J) and then applied unchanged to the test data.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import (
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

BIN_EDGES = (4.0, 5.0, 6.0, 7.0, 8.0)
BIN_LABELS = ("<4", "4-5", "5-6", "6-7", "7-8", ">=8")
HYPER_MMOL_L = 5.5


def _check(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64).ravel()
    p = np.asarray(y_pred, dtype=np.float64).ravel()
    if t.shape != p.shape or t.size < 2:
        raise ValueError(f"need two equal-length vectors of ≥ 2 values, got {t.shape}, {p.shape}")
    if not (np.isfinite(t).all() and np.isfinite(p).all()):
        raise ValueError("y_true and y_pred must be finite")
    return t, p


def k_bin(k_mmol_l: np.ndarray) -> np.ndarray:
    """Index (0–5) of each K⁺ value's seed bin."""
    return np.digitize(np.asarray(k_mmol_l, dtype=np.float64), BIN_EDGES)


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE, R² and Pearson r (mmol/L)."""
    t, p = _check(y_true, y_pred)
    err = p - t
    ss_tot = float(np.sum((t - t.mean()) ** 2))
    r = float(np.corrcoef(t, p)[0, 1]) if t.std() > 0 and p.std() > 0 else float("nan")
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "r2": 1.0 - float(np.sum(err**2)) / ss_tot if ss_tot > 0 else float("nan"),
        "pearson_r": r,
    }


def bin_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, Any]:
    """6-bin accuracy, macro/weighted F1 and the seed's per-bin precision/recall/F1/support."""
    t, p = _check(y_true, y_pred)
    bt, bp = k_bin(t), k_bin(p)
    labels = list(range(len(BIN_LABELS)))
    prec, rec, f1, sup = precision_recall_fscore_support(bt, bp, labels=labels, zero_division=0)
    return {
        "bin_accuracy": float(np.mean(bt == bp)),
        "macro_f1": float(f1_score(bt, bp, labels=labels, average="macro", zero_division=0)),
        "weighted_f1": float(f1_score(bt, bp, labels=labels, average="weighted", zero_division=0)),
        "per_bin": {
            name: {
                "precision": float(prec[i]),
                "recall": float(rec[i]),
                "f1": float(f1[i]),
                "support": int(sup[i]),
            }
            for i, name in enumerate(BIN_LABELS)
        },
    }


def youden_threshold(y_true: np.ndarray, y_score: np.ndarray, cut: float = HYPER_MMOL_L) -> float:
    """Score threshold maximising sensitivity + specificity for ``y_true ≥ cut``."""
    t, s = _check(y_true, y_score)
    pos = t >= cut
    if pos.all() or not pos.any():
        raise ValueError("threshold choice needs both hyperkalaemic and normal cases")
    fpr, tpr, thr = roc_curve(pos, s)
    return float(thr[1:][np.argmax((tpr - fpr)[1:])])


def hyper_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, threshold: float, cut: float = HYPER_MMOL_L
) -> dict[str, float]:
    """Hyperkalaemia (K⁺ ≥ ``cut``) AUC of predicted K⁺; sensitivity, specificity at threshold."""
    t, p = _check(y_true, y_pred)
    pos = t >= cut
    flagged = p >= threshold
    both = pos.any() and not pos.all()
    return {
        "hyper_auc": float(roc_auc_score(pos, p)) if both else float("nan"),
        "hyper_threshold": float(threshold),
        "hyper_sensitivity": float(np.mean(flagged[pos])) if pos.any() else float("nan"),
        "hyper_specificity": float(np.mean(~flagged[~pos])) if (~pos).any() else float("nan"),
        "hyper_prevalence": float(np.mean(pos)),
    }


def all_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, y_val_true: np.ndarray, y_val_pred: np.ndarray
) -> dict[str, Any]:
    """Every test metric; the hyperkalaemia threshold comes from the validation predictions."""
    threshold = youden_threshold(y_val_true, y_val_pred)
    return (
        {"n": len(np.ravel(y_true))}
        | regression_metrics(y_true, y_pred)
        | hyper_metrics(y_true, y_pred, threshold)
        | bin_metrics(y_true, y_pred)
    )
