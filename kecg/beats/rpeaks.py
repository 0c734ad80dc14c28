"""R-peak detection on one or several leads at any sampling rate, tolerant of NaN gaps.

The detector is a Pan–Tompkins-style adaptive-threshold search on a QRS energy envelope
(3–20 Hz band-pass, squared slope, 100 ms moving integration) with search-back for missed beats
and T-wave rejection by steepest slope (a candidate within 400 ms of a QRS whose 5–30 Hz slope is
under half that QRS's is a T wave: broad T waves can rival a small QRS in the envelope, never in
slope). With several leads on one time base the per-lead envelopes are averaged
where finite, so a lead printed only for part of the record (a 2.5 s V5 panel) still gets its
beats from the leads that cover the rest. Each detection is then moved to the R peak: the
extremum of the dominant QRS polarity of one placement lead per record (the largest QRS among
the leads that cover the beats), so inverted QRS complexes keep their R on the deepest
deflection and all beats of a record are aligned on the same lead.

Why not neurokit2's or wfdb's detector: on MIT-BIH record 100 (±75 ms, `python -m kecg.bench
beats`) this one scores Se/PPV 100/100 % on MLII and 99.96/100 % on V5, neurokit2 99.87/100 % on
both and wfdb's XQRS 100/100 and 99.87/100 %, and this one is 5–15× faster than XQRS; neither
library accepts the NaN gaps of a digitized printout nor fuses leads printed over different
time spans, which every 3×4 layout needs.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.ndimage import maximum_filter1d, uniform_filter1d
from scipy.signal import butter, find_peaks, sosfiltfilt

MIN_SEGMENT_S = 1.5
REFRACTORY_S = 0.25
T_WAVE_WINDOW_S = 0.40
T_SLOPE_RATIO = 0.5
THRESHOLD_FRACTION = 0.25
SEARCH_BACK_RR = 1.66
LEARN_S = 2.0


def finite_runs(finite: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of the runs of True in ``finite`` that are at least ``min_len`` long."""
    padded = np.concatenate(([False], np.asarray(finite, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [
        (int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True) if b - a >= min_len
    ]


def qrs_envelope(signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """QRS energy envelope of one lead (NaN where the lead is NaN or its run is too short).

    Each finite run is band-passed 3–20 Hz, differentiated, squared and integrated over 100 ms,
    then square-rooted so the envelope scales like the QRS slope (a PVC does not swamp the
    adaptive threshold as a squared envelope would).
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    env = np.full(x.shape, np.nan)
    high_hz = min(20.0, 0.45 * fs_hz)
    sos = butter(2, [3.0, high_hz], btype="bandpass", fs=fs_hz, output="sos")
    width = max(1, round(0.1 * fs_hz))
    for a, b in finite_runs(np.isfinite(x), round(MIN_SEGMENT_S * fs_hz)):
        y = sosfiltfilt(sos, x[a:b])
        slope = np.gradient(y) * fs_hz
        env[a:b] = np.sqrt(np.maximum(uniform_filter1d(slope**2, width, mode="nearest"), 0.0))
    return env


def abs_slope(signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """|slope| in mV/s of one lead band-passed 5–30 Hz (NaN where the lead is NaN or too short).

    Unintegrated, so it separates the steep QRS from a T wave of similar envelope height.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    out = np.full(x.shape, np.nan)
    sos = butter(2, [5.0, min(30.0, 0.45 * fs_hz)], btype="bandpass", fs=fs_hz, output="sos")
    for a, b in finite_runs(np.isfinite(x), round(MIN_SEGMENT_S * fs_hz)):
        out[a:b] = np.abs(np.gradient(sosfiltfilt(sos, x[a:b]))) * fs_hz
    return out


def _fuse(per_lead: list[np.ndarray]) -> np.ndarray:
    """Mean over the leads finite at each sample (NaN where none is)."""
    stack = np.stack(per_lead, axis=1)
    count = np.isfinite(stack).sum(axis=1)
    total = np.nansum(stack, axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def fused_envelope(signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """Mean of the per-lead envelopes over the leads finite at each sample (NaN where none is).

    Envelopes are in mV/s, so a lead with a large QRS weighs more than one where the QRS is
    small and the P or T wave may rival it.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    return _fuse([qrs_envelope(x[:, j], fs_hz) for j in range(x.shape[1])])


def _adaptive_peaks(env: np.ndarray, slope: np.ndarray, fs_hz: float) -> list[int]:
    """Pan–Tompkins decision rules on one finite envelope run: sample indices of QRS complexes.

    ``slope`` is the fused |slope| (mV/s) on the same samples; a candidate's steepness is its
    maximum within ±60 ms.
    """
    refractory = round(REFRACTORY_S * fs_hz)
    candidates, props = find_peaks(env, distance=max(1, round(0.2 * fs_hz)), height=0.0)
    heights = props["peak_heights"]
    if candidates.size == 0:
        return []
    window = 2 * round(0.06 * fs_hz) + 1
    steepest = maximum_filter1d(np.nan_to_num(slope), window, mode="nearest")
    steep = dict(zip(candidates.tolist(), steepest[candidates].tolist(), strict=True))
    learn = env[: max(1, round(LEARN_S * fs_hz))]
    spk = float(np.max(learn)) * 0.6
    npk = float(np.median(env))
    accepted: list[int] = []
    accepted_h: list[float] = []

    def is_t_wave(c: int, last: int) -> bool:
        return c - last < T_WAVE_WINDOW_S * fs_hz and steep[c] < T_SLOPE_RATIO * steep[last]

    rr_mean = 0.0
    pending: list[tuple[int, float]] = []
    for c, h in zip(candidates, heights, strict=True):
        thr = npk + THRESHOLD_FRACTION * (spk - npk)
        last = accepted[-1] if accepted else -refractory - 1
        if rr_mean > 0 and c - last > SEARCH_BACK_RR * rr_mean:
            back = [
                (p, ph)
                for p, ph in pending
                if p - last > refractory and ph > 0.5 * thr and not is_t_wave(p, last)
            ]
            if back:
                p, ph = max(back, key=lambda t: t[1])
                accepted.append(p)
                accepted_h.append(ph)
                spk = 0.25 * ph + 0.75 * spk
                last = p
            pending = []
        if c - last <= refractory and h > max(thr, accepted_h[-1]) and steep[c] > steep[last]:
            accepted[-1], accepted_h[-1] = int(c), float(h)  # a P wave took the QRS's place
            continue
        if h > thr and c - last > refractory and not (accepted and is_t_wave(int(c), last)):
            if accepted:
                rr = c - last
                rr_mean = rr if rr_mean == 0 else 0.875 * rr_mean + 0.125 * rr
            accepted.append(int(c))
            accepted_h.append(float(h))
            spk = 0.125 * h + 0.875 * spk
            pending = []
            continue
        npk = 0.125 * h + 0.875 * npk
        pending.append((int(c), float(h)))
    return accepted


def _drop_t_waves(env: np.ndarray, peaks: list[int], fs_hz: float) -> list[int]:
    """Keep the QRS complexes when T waves rival them (peaked T of hyperkalaemia).

    When most cycles hold a second complex of at least half the median QRS envelope, and the
    two kinds strictly alternate with one always preceded by an interval under 3/4 of the other,
    the complexes that follow the longer interval (diastole, before a QRS) are kept: a T wave
    follows its QRS closer than the next QRS follows it.
    """
    if len(peaks) < 4:
        return peaks
    ref = float(np.median(env[peaks]))
    gap = round(0.15 * fs_hz)
    extra = []
    for a, b in itertools.pairwise(peaks):
        if b - a > 2 * gap + 2:
            k = a + gap + int(np.argmax(env[a + gap : b - gap]))
            if env[k] > 0.5 * ref:
                extra.append(k)
    both = np.asarray(sorted(set(peaks) | set(extra)))
    if both.size < 5 or (both.size < 1.6 * len(peaks) - 1 and extra):
        return peaks
    before = np.diff(both)
    odd, even = before[0::2], before[1::2]
    if odd.min() > even.max() and np.median(even) < 0.75 * np.median(odd):
        return both[1::2].tolist()
    if even.min() > odd.max() and np.median(odd) < 0.75 * np.median(even):
        return both[0::2].tolist()
    return peaks


def _dominant_sign(x: np.ndarray, peaks: np.ndarray, half: int) -> float:
    """+1 when the QRS complexes of ``x`` deflect mostly upwards from their local baseline."""
    ups, downs = [], []
    for p in peaks:
        seg = x[max(0, p - half) : p + half + 1]
        seg = seg[np.isfinite(seg)]
        if seg.size == 0:
            continue
        base = np.median(seg)
        ups.append(seg.max() - base)
        downs.append(base - seg.min())
    if not ups:
        return 1.0
    return 1.0 if np.median(ups) >= 0.8 * np.median(downs) else -1.0


def refine_to_r(
    signal_mv: np.ndarray, peaks: np.ndarray, fs_hz: float, search_s: float = 0.06
) -> np.ndarray:
    """Move each QRS detection to the R peak of ``signal_mv`` (1-D) within ±``search_s``.

    The signal is high-passed at 0.5 Hz (baseline wander) and low-passed at 40 Hz; the R peak is
    the extremum of the record's dominant QRS polarity. Beats whose window is NaN keep their
    position.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    peaks = np.asarray(peaks, dtype=np.int64)
    if peaks.size == 0:
        return peaks
    clean = np.full(x.shape, np.nan)
    sos = butter(2, [0.5, min(40.0, 0.45 * fs_hz)], btype="bandpass", fs=fs_hz, output="sos")
    for a, b in finite_runs(np.isfinite(x), round(MIN_SEGMENT_S * fs_hz)):
        clean[a:b] = sosfiltfilt(sos, x[a:b])
    half = max(1, round(search_s * fs_hz))
    sign = _dominant_sign(clean, peaks, half)
    out = peaks.copy()
    for i, p in enumerate(peaks):
        a, b = max(0, p - half), min(x.size, p + half + 1)
        seg = sign * clean[a:b]
        if np.isfinite(seg).all():
            out[i] = a + int(np.argmax(seg))
    return out


def _placement_order(x: np.ndarray, detections: np.ndarray, half: int) -> list[int]:
    """Leads by preference for placing R: those finite around ≥ 90 % of the detections, largest
    median QRS peak-to-peak first, then the others by coverage."""
    scores = []
    for j in range(x.shape[1]):
        spans = [x[p - half : p + half + 1, j] for p in detections if p >= half]
        finite = [seg for seg in spans if seg.size == 2 * half + 1 and np.isfinite(seg).all()]
        coverage = len(finite) / max(len(detections), 1)
        amp = float(np.median([np.ptp(seg) for seg in finite])) if finite else 0.0
        scores.append((coverage >= 0.9, amp if coverage >= 0.9 else coverage, j))
    return [j for *_, j in sorted(scores, reverse=True)]


def detect_rpeaks(signal_mv: np.ndarray, fs_hz: float) -> np.ndarray:
    """R-peak sample indices of a record: ``signal_mv`` is (n_samples,) or (n_samples, n_leads).

    QRS complexes are found on the fused envelope of all finite leads; each is placed on the R
    peak of the preferred placement lead (see module doc) that is finite within ±60 ms of it,
    and dropped if none is (complexes cut by the record's edges or a gap). Returns sorted
    unique int64 indices; empty if no lead has a finite run of 1.5 s.
    """
    x = np.asarray(signal_mv, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    env = fused_envelope(x, fs_hz)
    slope = _fuse([abs_slope(x[:, j], fs_hz) for j in range(x.shape[1])])
    qrs: list[int] = []
    for a, b in finite_runs(np.isfinite(env), round(MIN_SEGMENT_S * fs_hz)):
        seg = env[a:b]
        peaks = _adaptive_peaks(seg, slope[a:b], fs_hz)
        qrs.extend(a + p for p in _drop_t_waves(seg, peaks, fs_hz))
    detections = np.asarray(sorted(qrs), dtype=np.int64)
    half = max(1, round(0.06 * fs_hz))
    rpeaks = detections.copy()
    placed = np.zeros(detections.size, dtype=bool)
    for j in _placement_order(x, detections, half):
        finite = np.isfinite(x[:, j])
        ok = np.array(
            [p >= half and finite[p - half : p + half + 1].all() for p in detections], dtype=bool
        )
        todo = ok & ~placed
        if todo.any():
            rpeaks[todo] = refine_to_r(x[:, j], detections[todo], fs_hz)
            placed |= todo
    return np.unique(rpeaks[placed])


def match_peaks(
    detected: np.ndarray, reference: np.ndarray, tolerance: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-to-one matching of detections to reference peaks within ``tolerance`` samples.

    Returns ``(ref_idx, det_idx)`` of the matched pairs (nearest first), so sensitivity is
    ``len(ref_idx) / len(reference)`` and positive predictivity ``len(det_idx) / len(detected)``.
    """
    det = np.asarray(detected, dtype=np.int64)
    ref = np.asarray(reference, dtype=np.int64)
    if det.size == 0 or ref.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    pos = (
        np.clip(np.searchsorted(det, ref), 1, det.size - 1) if det.size > 1 else np.zeros_like(ref)
    )
    cand = []
    for r_i, p in enumerate(pos):
        for d_i in {p - 1, p} if det.size > 1 else {0}:
            dist = abs(int(det[d_i]) - int(ref[r_i]))
            if dist <= tolerance:
                cand.append((dist, r_i, int(d_i)))
    cand.sort()
    used_r, used_d, pairs = set(), set(), []
    for _, r_i, d_i in cand:
        if r_i not in used_r and d_i not in used_d:
            used_r.add(r_i)
            used_d.add(d_i)
            pairs.append((r_i, d_i))
    pairs.sort()
    if not pairs:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    arr = np.asarray(pairs, dtype=np.int64)
    return arr[:, 0], arr[:, 1]
