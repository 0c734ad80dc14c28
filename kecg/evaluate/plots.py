"""Plot data for ``dvc plots``: confusion rows, scatter/ROC tables, Bland–Altman, reconstructions.

Tables are written as plain CSV/JSON for DVC's built-in templates; the two figures that need
reference lines or several panels (Bland–Altman, reconstructions) are PNGs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from kecg.evaluate.metrics import BIN_LABELS, HYPER_MMOL_L, k_bin


def confusion_rows(y_true: np.ndarray, y_pred: np.ndarray) -> list[dict[str, str]]:
    """``{actual, predicted}`` K⁺-bin labels per ECG (the ``confusion`` template's input)."""
    return [
        {"actual": BIN_LABELS[a], "predicted": BIN_LABELS[p]}
        for a, p in zip(k_bin(y_true), k_bin(y_pred), strict=True)
    ]


def write_json(path: str | Path, data: object) -> None:
    """Write ``data`` as indented JSON, creating the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def roc_table(y_true: np.ndarray, y_pred: np.ndarray, cut: float = HYPER_MMOL_L) -> pd.DataFrame:
    """False/true positive rates of the predicted K⁺ as a hyperkalaemia score."""
    fpr, tpr, _ = roc_curve(np.asarray(y_true) >= cut, np.asarray(y_pred))
    return pd.DataFrame({"fpr": fpr, "tpr": tpr})


def bland_altman_png(path: str | Path, y_true: np.ndarray, y_pred: np.ndarray) -> None:
    """Difference (predicted − true) against the mean, with bias and 95 % limits of agreement."""
    t, p = np.asarray(y_true, dtype=float), np.asarray(y_pred, dtype=float)
    mean, diff = (t + p) / 2, p - t
    bias, sd = diff.mean(), diff.std(ddof=1)
    fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
    ax.scatter(mean, diff, s=8, alpha=0.6)
    for y, style in ((bias, "-"), (bias + 1.96 * sd, "--"), (bias - 1.96 * sd, "--")):
        ax.axhline(y, color="k", linestyle=style, linewidth=1)
    ax.set(
        xlabel="mean of true and predicted K⁺ (mmol/L)",
        ylabel="predicted − true (mmol/L)",
        title=f"Bland–Altman: bias {bias:+.2f}, LoA ±{1.96 * sd:.2f} mmol/L",
    )
    _save(fig, path)


def reconstructions_png(
    path: str | Path,
    beats_mv: np.ndarray,
    recon_mv: np.ndarray,
    leads: Sequence[str],
    fs_hz: float,
    titles: Sequence[str],
) -> None:
    """Original vs VAE reconstruction, one row per example and one column per lead."""
    n, n_leads, width = beats_mv.shape
    t_ms = np.arange(width) * 1000.0 / fs_hz
    fig, axes = plt.subplots(n, n_leads, figsize=(4 * n_leads, 2 * n), dpi=80, squeeze=False)
    for i in range(n):
        for j in range(n_leads):
            ax = axes[i, j]
            ax.plot(t_ms, beats_mv[i, j], color="k", linewidth=1, label="median beat")
            ax.plot(t_ms, recon_mv[i, j], color="tab:red", linewidth=1, label="reconstruction")
            ax.set_title(f"{titles[i]} {leads[j]}", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("ms")
    _save(fig, path)


def _save(fig: plt.Figure, path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
