"""The 9 clinical K⁺ features, measured on a median beat with its fiducial points.

Chosen from the hyperkalaemia literature (``docs``: potassium-ecg facts): hyperkalaemia makes T
tall, narrow and steep (T amplitude, T width, T downslope, TS/A: Corsi 2017 Sci Rep 7:42492),
flattens P and prolongs PR (P amplitude, PR), widens QRS at 6.5–8 mmol/L; hypokalaemia lengthens
QTc (+12.8 ms QTcF per mmol/L decrease, Copenhagen cohort) and flattens T. T/R is the classic
(weak) ratio. T features use V5 (the thesis' best lead; peaked T is most visible precordially);
P uses II; intervals average the leads that have them.

=========================  ======  =====================================================
name                       lead    definition
=========================  ======  =====================================================
``t_amp_mv``               V5      T peak − baseline (baseline: mean of the 20 ms before QRS onset)
``t_width_ms``             V5      T full width at half its amplitude
``t_downslope_mv_s``       V5      steepest slope from T peak to T end, toward the baseline
``tsa_per_s``              V5      ``t_downslope_mv_s / |t_amp_mv|`` (TS/A)
``qrs_ms``                 II, V5  QRS offset − onset
``pr_ms``                  II, V5  QRS onset − P onset
``p_amp_mv``               II      P peak − baseline
``qtc_ms``                 II, V5  QT (T end − QRS onset) / (RR / 1 s)^(1/3) (Fridericia)
``t_r_ratio``              V5      T amplitude / R amplitude (NaN when |R| < 0.05 mV)
=========================  ======  =====================================================

A feature whose fiducials are missing or fall outside the beat is NaN; the regressor imputes NaN
with training-set medians (never zeros).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

CLINICAL_FEATURES = (
    "t_amp_mv",
    "t_width_ms",
    "t_downslope_mv_s",
    "tsa_per_s",
    "qrs_ms",
    "pr_ms",
    "p_amp_mv",
    "qtc_ms",
    "t_r_ratio",
)
FIDUCIAL_COLUMNS = (
    "p_on_ms",
    "p_peak_ms",
    "p_off_ms",
    "qrs_on_ms",
    "qrs_off_ms",
    "t_peak_ms",
    "t_end_ms",
    "u_peak_ms",
)
_BASELINE_MS = 20.0
_MIN_R_MV = 0.05


def _index(ms: float, r_index: int, fs_hz: float, width: int) -> int | None:
    """Sample index of a time relative to R, or None if missing or outside the beat."""
    if ms is None or not np.isfinite(ms):
        return None
    i = round(r_index + ms * fs_hz / 1000.0)
    return i if 0 <= i < width else None


def _baseline(beat: np.ndarray, qrs_on: int | None, fs_hz: float) -> float:
    if qrs_on is None:
        return np.nan
    start = max(0, qrs_on - round(_BASELINE_MS * fs_hz / 1000.0))
    return float(np.mean(beat[start : qrs_on + 1]))


def _half_width_ms(x: np.ndarray, peak: int, fs_hz: float) -> float:
    """Full width at half maximum of the wave peaking at ``peak`` in baseline-corrected ``x``."""
    half = x[peak] / 2.0
    above = np.sign(x[peak]) * (x - half) > 0
    left = peak
    while left > 0 and above[left - 1]:
        left -= 1
    right = peak
    while right < len(x) - 1 and above[right + 1]:
        right += 1
    if left == 0 or right == len(x) - 1:
        return np.nan
    # linear interpolation of the two half-amplitude crossings
    lo = left - 1 + (half - x[left - 1]) / (x[left] - x[left - 1])
    hi = right + (half - x[right]) / (x[right + 1] - x[right])
    return float((hi - lo) * 1000.0 / fs_hz)


def _interval(fids: Sequence[Mapping[str, float]], start: str, end: str) -> float:
    vals = [f.get(end, np.nan) - f.get(start, np.nan) for f in fids]
    vals = [v for v in vals if np.isfinite(v)]
    return float(np.mean(vals)) if vals else np.nan


def clinical_features(
    beat_ii_mv: np.ndarray,
    beat_v5_mv: np.ndarray,
    fid_ii: Mapping[str, float],
    fid_v5: Mapping[str, float],
    fs_hz: float,
    r_index: int,
    rr_ms: float,
) -> np.ndarray:
    """The 9 :data:`CLINICAL_FEATURES` of one median beat (fiducials in ms relative to R).

    ``rr_ms`` is the record's mean RR interval (for QTc); NaN makes QTc NaN.
    """
    ii = np.asarray(beat_ii_mv, dtype=np.float64)
    v5 = np.asarray(beat_v5_mv, dtype=np.float64)
    width = len(v5)

    def at(fid: Mapping[str, float], key: str) -> int | None:
        return _index(fid.get(key, np.nan), r_index, fs_hz, width)

    base_v5 = _baseline(v5, at(fid_v5, "qrs_on_ms"), fs_hz)
    base_ii = _baseline(ii, at(fid_ii, "qrs_on_ms"), fs_hz)
    t_peak, t_end = at(fid_v5, "t_peak_ms"), at(fid_v5, "t_end_ms")
    t_amp = t_width = t_down = np.nan
    if t_peak is not None and np.isfinite(base_v5):
        x = v5 - base_v5
        t_amp = x[t_peak]
        t_width = _half_width_ms(x, t_peak, fs_hz)
        if t_end is not None and t_end > t_peak + 1:
            t_down = float(np.max(-np.sign(t_amp) * np.diff(x[t_peak : t_end + 1]))) * fs_hz
    tsa = t_down / abs(t_amp) if np.isfinite(t_down) and abs(t_amp) > 0 else np.nan
    p_peak = at(fid_ii, "p_peak_ms")
    p_amp = ii[p_peak] - base_ii if p_peak is not None else np.nan
    r_amp = v5[r_index] - base_v5
    t_r = t_amp / r_amp if np.isfinite(r_amp) and abs(r_amp) >= _MIN_R_MV else np.nan
    fids = (fid_ii, fid_v5)
    return np.array(
        [
            t_amp,
            t_width,
            t_down,
            tsa,
            _interval(fids, "qrs_on_ms", "qrs_off_ms"),
            _interval(fids, "p_on_ms", "qrs_on_ms"),
            p_amp,
            _interval(fids, "qrs_on_ms", "t_end_ms") / np.cbrt(rr_ms / 1000.0),
            t_r,
        ],
        dtype=np.float64,
    )


def clinical_feature_table(
    beats_mv: np.ndarray,
    ecg_ids: Sequence[str],
    leads: Sequence[str],
    fs_hz: float,
    r_index: int,
    rr_ms: np.ndarray,
    fiducials: pd.DataFrame,
) -> pd.DataFrame:
    """:data:`CLINICAL_FEATURES` for every beat of ``median_beats.npz`` (rows in ``ecg_ids`` order).

    ``rr_ms`` is the npz's per-record mean RR interval. ``fiducials`` has the ``fiducials.csv``
    layout (``ecg_id, lead`` + ``*_ms``); an ECG or lead without a row gets NaN fiducials and
    therefore NaN features.
    """
    leads = list(leads)
    if "II" not in leads or "V5" not in leads:
        raise ValueError(f"clinical features need leads II and V5, got {leads}")
    li, lv = leads.index("II"), leads.index("V5")
    cols = [c for c in FIDUCIAL_COLUMNS if c in fiducials.columns]
    lookup = {
        (str(e), str(lead)): row
        for e, lead, row in zip(
            fiducials["ecg_id"],
            fiducials["lead"],
            fiducials[cols].astype(float).to_dict("records"),
            strict=True,
        )
    }
    rows = [
        clinical_features(
            beats_mv[k, li],
            beats_mv[k, lv],
            lookup.get((str(e), "II"), {}),
            lookup.get((str(e), "V5"), {}),
            fs_hz,
            r_index,
            float(rr_ms[k]),
        )
        for k, e in enumerate(ecg_ids)
    ]
    return pd.DataFrame(np.vstack(rows), columns=list(CLINICAL_FEATURES), index=list(ecg_ids))
