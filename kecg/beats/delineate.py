"""Fiducial points of a multi-lead median beat: P, QRS, T and U boundaries and peaks.

Boundaries are global (one value for all leads, as a cardiologist reads QRS duration and QT
across leads): QRS onset and offset come from the spatial velocity (root sum of squared slopes
of all leads), at the first sustained drop below a fraction of its QRS maximum; the T end
is where the spatial magnitude of the (isoelectric-corrected) T wave decays to
``wave_threshold`` of its peak, found from the steepest descent of the T wave, the same
amplitude rule setting the P boundaries around the P peak. Peaks are per lead: the largest
deflection of each lead inside its wave's boundaries. All times are returned in ms relative to R.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import find_peaks, savgol_filter

FIDUCIALS: tuple[str, ...] = (
    "p_on_ms", "p_peak_ms", "p_off_ms", "qrs_on_ms", "qrs_off_ms",
    "t_peak_ms", "t_end_ms", "u_peak_ms",
)  # fmt: skip


QRS_WINDOW_S = 0.012
SLOW_WINDOW_S = 0.024


def _slopes(beat_mv: np.ndarray, fs_hz: float, window_s: float) -> np.ndarray:
    """Per-lead first derivative in mV/s from a 2nd-order Savitzky–Golay fit over ``window_s``."""
    window = max(5, round(window_s * fs_hz) | 1)
    return savgol_filter(beat_mv, window, 2, deriv=1, delta=1.0 / fs_hz, axis=-1)


def _last_quiet_end(quiet: np.ndarray, stop: int, start: int, run: int) -> int | None:
    """Index after the last run of ≥ ``run`` True samples in ``quiet[start:stop]``."""
    count = 0
    for i in range(stop - 1, start - 1, -1):
        count = count + 1 if quiet[i] else 0
        if count >= run:
            j = i + run
            while j < stop and quiet[j]:
                j += 1
            return j
    return None


def _first_quiet_start(quiet: np.ndarray, start: int, stop: int, run: int) -> int | None:
    """Index of the first run of ≥ ``run`` True samples in ``quiet[start:stop]``."""
    count = 0
    for i in range(start, stop):
        count = count + 1 if quiet[i] else 0
        if count >= run:
            return i - run + 1
    return None


def qrs_bounds(
    beat_mv: np.ndarray,
    fs_hz: float,
    r_index: int,
    on_threshold: float = 0.02,
    off_threshold: float = 0.08,
    noise_factor: float = 3.0,
) -> tuple[int, int]:
    """QRS onset and offset samples from the spatial velocity of all finite leads.

    The onset is the end of the last quiet run (≥ 10 ms below ``on_threshold`` of the peak
    velocity within ±60 ms of R) before the steepest slope preceding R; the offset is the start
    of the first quiet run (below ``off_threshold`` of it) after the steepest slope following R.
    Neither threshold goes below ``noise_factor`` times the beat's noise velocity (the 20th
    percentile of the spatial velocity over the whole beat), so residual noise is never a wave.
    """
    leads = beat_mv[np.isfinite(beat_mv).all(axis=1)]
    speed = np.sqrt((_slopes(leads, fs_hz, QRS_WINDOW_S) ** 2).sum(axis=0))
    w60 = round(0.06 * fs_hz)
    lo, hi = max(1, r_index - w60), min(speed.size - 1, r_index + w60)
    peak = speed[lo:hi].max()
    run = max(2, round(0.01 * fs_hz))
    steep_before = lo + int(np.argmax(speed[lo : r_index + 1]))
    steep_after = r_index + int(np.argmax(speed[r_index:hi]))
    search = round(0.16 * fs_hz)
    noise = noise_factor * np.percentile(speed, 20)
    quiet_on = speed < max(on_threshold * peak, noise)
    quiet_off = speed < max(off_threshold * peak, noise)
    on = _last_quiet_end(quiet_on, steep_before, max(0, steep_before - search), run)
    off = _first_quiet_start(quiet_off, steep_after, min(speed.size, steep_after + search), run)
    on = max(0, steep_before - search) if on is None else on
    off = min(speed.size - 1, steep_after + search) if off is None else off
    return on, off


def isoelectric_level(beat_mv: np.ndarray, fs_hz: float, qrs_on: int) -> np.ndarray:
    """Per-lead PR-segment level: the median over the 20 ms ending 2 ms before QRS onset."""
    a = max(0, qrs_on - round(0.022 * fs_hz))
    b = max(a + 1, qrs_on - round(0.002 * fs_hz))
    return np.median(beat_mv[:, a:b], axis=1)


def _lead_peaks(beat_mv: np.ndarray, a: int, b: int) -> np.ndarray:
    """Per lead, the sample of the largest absolute deflection in ``[a, b)``."""
    return a + np.argmax(np.abs(beat_mv[:, a:b]), axis=1)


def _wave_bounds(
    speed: np.ndarray,
    peak: int,
    lo: int,
    hi: int,
    threshold: float,
    noise: float,
    run: int,
    reach: int,
) -> tuple[int, int]:
    """Onset and end of the wave peaking at ``peak`` inside ``[lo, hi)``: the last quiet run
    before its steepest rise and the first after its steepest fall (each looked for within
    ``reach`` samples of the peak), quiet meaning the spatial velocity is below ``threshold`` of
    the larger of the two slopes, or below ``noise``."""
    a = max(lo, peak - reach)
    rise = a + int(np.argmax(speed[a : peak + 1]))
    fall = peak + int(np.argmax(speed[peak : max(peak + 1, min(hi, peak + reach))]))
    quiet = speed < max(threshold * max(speed[rise], speed[fall]), noise)
    on = _last_quiet_end(quiet, rise, lo, run)
    end = _first_quiet_start(quiet, fall, hi, run)
    return (lo if on is None else on), (hi - 1 if end is None else end)


def _most_prominent(magnitude: np.ndarray, lo: int, hi: int, min_mv: float) -> int | None:
    """The local maximum of ``magnitude[lo:hi]`` of largest prominence, if it is at least
    ``min_mv / 2`` prominent and ``min_mv`` high; None otherwise."""
    if hi - lo < 3:
        return None
    peaks, props = find_peaks(magnitude[lo:hi], prominence=min_mv / 2, height=min_mv)
    if peaks.size == 0:
        return None
    return lo + int(peaks[np.argmax(props["prominences"])])


def delineate(
    beat_mv: np.ndarray,
    fs_hz: float,
    r_index: int,
    rr_s: float | None = None,
    qrs_on_threshold: float = 0.02,
    qrs_off_threshold: float = 0.08,
    noise_factor: float = 3.0,
    wave_threshold: float = 0.18,
    min_wave_mv: float = 0.03,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Delineate a median beat ``(n_leads, width)``; returns the isoelectric-corrected beat and
    the fiducials in ms relative to R, one array of ``n_leads`` per name in ``FIDUCIALS``
    (NaN where a wave is not found, e.g. no P in atrial fibrillation, no U wave).

    Waves are searched in windows anchored on the QRS: T from 80 ms after QRS offset to 620 ms
    after R, P in the 300 ms before QRS onset, U in the 250 ms after T end. Given the RR
    interval ``rr_s``, the windows also stop at the neighbouring beats (T and U before the next
    QRS and P, P after the previous T). P and U are the most prominent bumps of the spatial
    magnitude in their windows, at least ``min_wave_mv`` high (U: twice that) and prominent by
    half that; T is the magnitude maximum in its window, at least ``min_wave_mv``. For
    a Gaussian-shaped wave the default ``wave_threshold`` (0.18 of the steepest slope) puts its
    boundaries 2.5 widths from its peak, where it has decayed to 4.4 % of its height.
    """
    beat = np.asarray(beat_mv, dtype=np.float64)
    n_leads, width = beat.shape
    to_ms = 1000.0 / fs_hz
    rr = width if rr_s is None else round(rr_s * fs_hz)
    on, off = qrs_bounds(beat, fs_hz, r_index, qrs_on_threshold, qrs_off_threshold, noise_factor)
    beat = beat - isoelectric_level(beat, fs_hz, on)[:, None]
    magnitude = np.sqrt((beat**2).sum(axis=0))
    speed = np.sqrt((_slopes(beat, fs_hz, SLOW_WINDOW_S) ** 2).sum(axis=0))
    noise = noise_factor * np.percentile(speed, 20)
    run = max(2, round(0.01 * fs_hz))
    out = {name: np.full(n_leads, np.nan) for name in FIDUCIALS}
    out["qrs_on_ms"][:] = (on - r_index) * to_ms
    out["qrs_off_ms"][:] = (off - r_index) * to_ms

    next_qrs = on + rr
    t_lo = min(width - 2, off + round(0.08 * fs_hz))
    t_hi = min(width, r_index + round(0.62 * fs_hz), next_qrs)
    t_end = None
    if t_hi - t_lo > 2:
        t_pk = t_lo + int(np.argmax(magnitude[t_lo:t_hi]))
        if magnitude[t_pk] >= min_wave_mv:
            reach = round(0.15 * fs_hz)
            _, t_end = _wave_bounds(
                speed, t_pk, t_lo, min(width, next_qrs), wave_threshold, noise, run, reach
            )
            out["t_end_ms"][:] = (t_end - r_index) * to_ms
            out["t_peak_ms"][:] = (_lead_peaks(beat, t_lo, t_end + 1) - r_index) * to_ms

    p_lo = max(0, on - round(0.30 * fs_hz), -1 if t_end is None else t_end - rr + 1)
    p_hi = max(p_lo + 1, on - round(0.02 * fs_hz))
    next_p = next_qrs - round(0.2 * fs_hz)
    p_pk = _most_prominent(magnitude, p_lo, p_hi, min_wave_mv)
    if p_pk is not None:
        reach = round(0.08 * fs_hz)
        p_on, p_off = _wave_bounds(speed, p_pk, p_lo, p_hi, wave_threshold, noise, run, reach)
        out["p_on_ms"][:] = (p_on - r_index) * to_ms
        out["p_off_ms"][:] = (p_off - r_index) * to_ms
        out["p_peak_ms"][:] = (_lead_peaks(beat, p_on, p_off + 1) - r_index) * to_ms
        next_p = p_on + rr

    if t_end is not None:
        u_lo, u_hi = t_end, min(width, t_end + round(0.25 * fs_hz), next_p)
        u_pk = _most_prominent(magnitude, u_lo, u_hi, 2 * min_wave_mv)
        if u_pk is not None:
            out["u_peak_ms"][:] = (_lead_peaks(beat, u_lo, u_hi) - r_index) * to_ms
    return beat, out
