"""Cardiac cycles: beat windows around R peaks, template rejection and the median beat.

Every beat is cut on a fixed grid at ``fs_out_hz`` (500 Hz by default) from ``-pre_s`` before R
to ``width`` samples in all, so R always sits at sample ``round(pre_s * fs_out_hz)`` whatever
the record's rate: records at other rates are read off by linear interpolation at the beat's
sample times (after a 0.45·fs_out low-pass when they are sampled faster). The default window,
−0.400 s to +0.622 s at 500 Hz (512 samples, R at 200), covers P onset at a PR of 300 ms and
T end at a QT of 600 ms.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, sosfiltfilt

from kecg.beats.rpeaks import MIN_SEGMENT_S, finite_runs

CORR_WINDOW_S = (-0.10, 0.40)


def remove_baseline(signal_mv: np.ndarray, fs_hz: float, low_hz: float = 0.5) -> np.ndarray:
    """Zero-phase high-pass (``low_hz``) of each finite run of each lead; NaN stays NaN.

    Runs shorter than 1.5 s have their median subtracted instead (too short to filter).
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    squeeze = x.ndim == 1
    x = x[:, None] if squeeze else x
    out = np.full(x.shape, np.nan)
    sos = butter(1, low_hz, btype="highpass", fs=fs_hz, output="sos")
    min_len = round(MIN_SEGMENT_S * fs_hz)
    for j in range(x.shape[1]):
        for a, b in finite_runs(np.isfinite(x[:, j]), 1):
            seg = x[a:b, j]
            out[a:b, j] = sosfiltfilt(sos, seg) if b - a >= min_len else seg - np.median(seg)
    return out[:, 0] if squeeze else out


def _antialias(signal_mv: np.ndarray, fs_hz: float, fs_out_hz: float) -> np.ndarray:
    """Low-pass each finite run below the new Nyquist rate before sampling it at ``fs_out_hz``."""
    sos = butter(4, 0.45 * fs_out_hz, btype="lowpass", fs=fs_hz, output="sos")
    out = signal_mv.copy()
    pad = 3 * (sos.shape[0] * 2 + 1)
    for j in range(out.shape[1]):
        for a, b in finite_runs(np.isfinite(out[:, j]), pad + 1):
            out[a:b, j] = sosfiltfilt(sos, out[a:b, j])
    return out


def segment_beats(
    signal_mv: np.ndarray,
    rpeaks: np.ndarray,
    fs_hz: float,
    fs_out_hz: float = 500.0,
    pre_s: float = 0.4,
    width: int = 512,
) -> np.ndarray:
    """Beat windows ``(n_beats, n_leads, width)`` in mV at ``fs_out_hz``, R at ``round(pre_s·fs)``.

    ``signal_mv`` is (n_samples, n_leads) at ``fs_hz`` and ``rpeaks`` are sample indices at
    ``fs_hz``. Samples outside the record or next to a NaN are NaN.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    x = x[:, None] if x.ndim == 1 else x
    if fs_hz > fs_out_hz:
        x = _antialias(x, fs_hz, fs_out_hz)
    r_index = round(pre_s * fs_out_hz)
    offsets_s = (np.arange(width) - r_index) / fs_out_hz
    pos = np.asarray(rpeaks, dtype=np.float64)[:, None] + offsets_s[None, :] * fs_hz
    padded = np.vstack([x, np.full((1, x.shape[1]), np.nan)])
    n = x.shape[0]
    lo = np.floor(pos).astype(np.int64)
    frac = pos - lo
    inside = (lo >= 0) & (lo < n)
    lo_c = np.where(inside, lo, n)
    hi_c = np.where(inside & (lo + 1 < n), lo + 1, n)
    exact = np.isclose(frac, 0.0)
    left = padded[lo_c]
    right = np.where(exact[..., None], left, padded[hi_c])
    beats = left * (1.0 - frac[..., None]) + right * frac[..., None]
    return np.transpose(beats, (0, 2, 1))


def beat_correlations(
    beats: np.ndarray, template: np.ndarray, fs_hz: float, r_index: int
) -> np.ndarray:
    """Pearson correlation of each beat with ``template`` over −100…+400 ms, all finite leads.

    ``beats`` is (n_beats, n_leads, width) and ``template`` (n_leads, width); NaN samples are
    left out pairwise. Beats with fewer than 20 finite samples get −1.
    """
    a = r_index + round(CORR_WINDOW_S[0] * fs_hz)
    b = r_index + round(CORR_WINDOW_S[1] * fs_hz)
    seg = beats[:, :, max(0, a) : b].reshape(beats.shape[0], -1)
    tpl = np.broadcast_to(template[:, max(0, a) : b].reshape(1, -1), seg.shape)
    ok = np.isfinite(seg) & np.isfinite(tpl)
    count = ok.sum(axis=1)
    s = np.where(ok, seg, 0.0)
    t = np.where(ok, tpl, 0.0)
    n = np.maximum(count, 1)
    s_c = np.where(ok, s - (s.sum(axis=1) / n)[:, None], 0.0)
    t_c = np.where(ok, t - (t.sum(axis=1) / n)[:, None], 0.0)
    denom = np.sqrt((s_c**2).sum(axis=1) * (t_c**2).sum(axis=1))
    corr = np.where(denom > 0, (s_c * t_c).sum(axis=1) / np.where(denom > 0, denom, 1.0), 0.0)
    return np.where(count >= 20, corr, -1.0)


def median_beat(
    beats: np.ndarray, fs_hz: float, r_index: int, min_corr: float = 0.8
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Median beat of the beats that match the record's template.

    The template is the sample-wise median of all beats; beats correlating below ``min_corr``
    with it (ectopic, noisy) are dropped and the median is taken again over the rest, per
    sample over the beats finite there. Returns ``(median (n_leads, width), kept mask,
    correlations with the final median)``.
    """
    template = _nanmedian(beats)
    corr = beat_correlations(beats, template, fs_hz, r_index)
    kept = corr >= min_corr
    if not kept.any():
        return np.full(beats.shape[1:], np.nan), kept, corr
    med = _nanmedian(beats[kept])
    return med, kept, beat_correlations(beats, med, fs_hz, r_index)


def _nanmedian(beats: np.ndarray) -> np.ndarray:
    """Sample-wise median over beats ignoring NaN (NaN where no beat is finite), no warnings."""
    finite = np.isfinite(beats)
    out = np.full(beats.shape[1:], np.nan)
    covered = finite.any(axis=0)
    if covered.all():
        return np.nanmedian(beats, axis=0) if not finite.all() else np.median(beats, axis=0)
    if covered.any():
        out[covered] = np.nanmedian(beats[:, covered], axis=0)
    return out
