"""The mean median beat per potassium bin, one panel per lead, for ``dvc plots``."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import itertools

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

K_BINS_MMOL_L: tuple[float, ...] = (4.0, 5.0, 6.0, 7.0, 8.0)


def k_bin_labels(edges: tuple[float, ...] = K_BINS_MMOL_L) -> list[str]:
    """Bin names ``<4, 4–5, …, ≥8`` for the bin edges in mmol/L."""
    inner = [f"{a:g}–{b:g}" for a, b in itertools.pairwise(edges)]
    return [f"<{edges[0]:g}", *inner, f"≥{edges[-1]:g}"]


def plot_median_beats_by_k(
    beats_mv: np.ndarray,
    ecg_ids: np.ndarray,
    leads: tuple[str, ...],
    fs_hz: float,
    r_index: int,
    labels_csv: str | Path,
    out_png: str | Path,
) -> None:
    """Overlay the mean median beat of each K⁺ bin (labels ``ecg_id, potassium_mmol_l``)."""
    labels = pd.read_csv(labels_csv, usecols=["ecg_id", "potassium_mmol_l"])
    k = labels.set_index("ecg_id")["potassium_mmol_l"].reindex(ecg_ids).to_numpy(dtype=float)
    bins = np.digitize(k, K_BINS_MMOL_L)
    t_ms = (np.arange(beats_mv.shape[-1]) - r_index) * 1000.0 / fs_hz
    fig, axes = plt.subplots(len(leads), 1, figsize=(8, 3 * max(1, len(leads))), squeeze=False)
    colors = plt.get_cmap("coolwarm")(np.linspace(0, 1, len(K_BINS_MMOL_L) + 1))
    for j, (ax, lead) in enumerate(zip(axes[:, 0], leads, strict=True)):
        for b, name in enumerate(k_bin_labels()):
            sel = (bins == b) & np.isfinite(k)
            if sel.any():
                mean = beats_mv[sel, j].mean(axis=0)
                ax.plot(t_ms, mean, color=colors[b], label=f"K⁺ {name} (n={int(sel.sum())})")
        ax.set_title(f"lead {lead}: mean median beat per K⁺ bin (mmol/L)")
        ax.set_xlabel("time from R (ms)")
        ax.set_ylabel("mV")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_png, dpi=100)
    plt.close(fig)
