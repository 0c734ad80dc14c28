"""Realism check: the synthetic normokalaemic ECGs against real ECGs (LUDB), same measurements.

Heart rate, PR, QRS duration, QT, R and T amplitude are measured in leads II and V5 with one
method for both sources (neurokit2 ``ecg_clean`` → ``ecg_peaks`` → ``ecg_delineate(method="dwt")``,
amplitudes from the PR-segment level at QRS onset); the synthetic median of each quantity should
fall within the interquartile range of the real records.

The LUDB copy in ``../shared/data/ludb`` is min–max normalised per lead (every lead spans
exactly 1.0 "mV", an ECGMiner preprocessing step), so absolute voltages cannot be compared:
amplitudes are measured on every lead after scaling it to unit peak-to-peak range, for both
sources alike (a no-op on that LUDB copy), and reported as fractions of that range.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from kecg.io import LEADS, read_record
from kecg.synth.cohort import FS_HZ, CohortSpec, plan_cohort, synthesize_ecg

REALISM_LEADS: tuple[str, ...] = ("II", "V5")
DELINEATION: str = "cwt"
QUANTITIES: tuple[str, ...] = ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms", "r_amp_rel", "t_amp_rel")


def measure_lead(x_mv: np.ndarray, fs_hz: float) -> dict[str, float]:
    """Median heart rate, intervals and relative amplitudes of one lead (NaN where not found)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _measure_lead(x_mv / max(float(np.ptp(x_mv)), 1e-9), fs_hz)


def _measure_lead(x: np.ndarray, fs_hz: float) -> dict[str, float]:
    import neurokit2 as nk

    out = dict.fromkeys(QUANTITIES, np.nan)
    clean = nk.ecg_clean(x, sampling_rate=int(fs_hz))
    _, info = nk.ecg_peaks(clean, sampling_rate=int(fs_hz))
    r = np.asarray(info["ECG_R_Peaks"], dtype=int)
    if len(r) < 3:
        return out
    _, waves = nk.ecg_delineate(clean, r, sampling_rate=int(fs_hz), method=DELINEATION)
    ms = 1000.0 / fs_hz

    def near(key: str, lo_ms: float, hi_ms: float) -> np.ndarray:
        return _nearest(np.asarray(waves[key], dtype=float), r, lo_ms / ms, hi_ms / ms)

    p_on, r_on, r_off = (
        near("ECG_P_Onsets", -400, -40),
        near("ECG_R_Onsets", -150, 0),
        near("ECG_R_Offsets", 0, 150),
    )
    t_peak, t_off = near("ECG_T_Peaks", 80, 600), near("ECG_T_Offsets", 100, 700)
    out["hr_bpm"] = 60.0 / (np.median(np.diff(r)) / fs_hz)
    out["pr_ms"] = np.nanmedian(r_on - p_on) * ms
    out["qrs_ms"] = np.nanmedian(r_off - r_on) * ms
    out["qt_ms"] = np.nanmedian(t_off - r_on) * ms
    ok = ~np.isnan(r_on)
    base = np.full(len(r), np.nan)
    base[ok] = clean[r_on[ok].astype(int)]
    out["r_amp_rel"] = np.nanmedian(clean[r] - base)
    ok_t = ~np.isnan(t_peak) & ok
    if ok_t.any():
        out["t_amp_rel"] = np.nanmedian(clean[t_peak[ok_t].astype(int)] - base[ok_t])
    return out


def _nearest(points: np.ndarray, ref: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """For each ``ref`` sample, the point within ``[ref + lo, ref + hi]`` closest to it (or NaN)."""
    points = points[~np.isnan(points)]
    d = points[None, :] - ref[:, None]
    d = np.where((d >= lo) & (d <= hi), d, np.inf)
    j = np.argmin(np.abs(d), axis=1) if points.size else np.zeros(len(ref), dtype=int)
    found = np.isfinite(d[np.arange(len(ref)), j]) if points.size else np.zeros(len(ref), bool)
    return np.where(found, points[j] if points.size else np.nan, np.nan)


def measure_records(signals: list[np.ndarray], fs_hz: float) -> pd.DataFrame:
    """One row per record: the quantities of every lead in ``REALISM_LEADS`` (``pr_ms_II``, …)."""
    rows = []
    for sig in signals:
        row = {}
        for lead in REALISM_LEADS:
            m = measure_lead(sig[:, LEADS.index(lead)], fs_hz)
            row |= {f"{k}_{lead}": v for k, v in m.items()}
        rows.append(row)
    return pd.DataFrame(rows)


def ludb_signals(folder: str | Path) -> tuple[list[np.ndarray], float]:
    """The 12-lead signals (``LEADS`` order) of every WFDB record in ``folder`` and their rate."""
    records = [read_record(p).standard12() for p in sorted(Path(folder).glob("*.hea"))]
    if not records:
        raise FileNotFoundError(f"{folder}: no WFDB records")
    return [r.signal_mv for r in records], records[0].fs_hz


def synthetic_signals(
    n: int, seed: int, k_range_mmol_l: tuple[float, float] = (4.0, 5.0)
) -> list[np.ndarray]:
    """The recorded signals of up to ``n`` synthetic ECGs with true K⁺ in ``k_range_mmol_l``."""
    plan = plan_cohort(max(4 * n, 50), seed, CohortSpec())
    k = plan["k_true_mmol_l"]
    idx = np.flatnonzero((k >= k_range_mmol_l[0]) & (k < k_range_mmol_l[1]))[:n]
    rows = plan.to_dict("records")
    return [synthesize_ecg(rows[i], seed, int(i)).signal_mv for i in idx]


def realism_table(real: pd.DataFrame, synthetic: pd.DataFrame) -> pd.DataFrame:
    """Per quantity: real Q1, median, Q3, synthetic median and whether it lies within the IQR."""
    rows = []
    for col in real.columns:
        q1, med, q3 = np.nanpercentile(real[col], [25, 50, 75])
        syn = float(np.nanmedian(synthetic[col]))
        rows.append(
            {"quantity": col, "real_q1": q1, "real_median": med, "real_q3": q3,
             "synthetic_median": syn, "within_iqr": bool(q1 <= syn <= q3)}
        )  # fmt: skip
    return pd.DataFrame(rows)


def run_realism(ludb_folder: str | Path, n_synthetic: int = 100, seed: int = 0) -> pd.DataFrame:
    """Measure LUDB and ``n_synthetic`` normokalaemic synthetic ECGs; return the realism table."""
    real_signals, fs_hz = ludb_signals(ludb_folder)
    real = measure_records(real_signals, fs_hz)
    synthetic = measure_records(synthetic_signals(n_synthetic, seed), FS_HZ)
    return realism_table(real, synthetic)
