"""Page layout from the de-rotated ink: trace rows, their time extent, calibration pulses, leads.

Standard layouts fix which lead each panel holds, so nothing is read from the lead labels.
Rhythm strips are identified by matching them against the 3×4 panels they repeat; the two
six-row layouts (3×4 + 3 strips, 6×2) by which of them obeys the limb-lead identities.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.ndimage import binary_opening, gaussian_filter1d
from scipy.signal import find_peaks

from kecg.digitize.grid import GAIN_MM_MV, STANDARD_GAINS_MM_MV
from kecg.io import LEADS

ROWS_3X4: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
DEFAULT_STRIPS: dict[int, tuple[str, ...]] = {
    0: (),
    1: ("II",),
    2: ("II", "V5"),
    3: ("V1", "II", "V5"),
}
LIMB_LEADS, PRECORDIAL_LEADS = LEADS[:6], LEADS[6:]
DURATION_S = 10.0
COLUMN_S = 2.5
PULSE_WIDTH_MM = (1.5, 10.0)  # a calibration pulse's top, edge to edge (0.2 s = 5 mm is usual)
STRIP_TRIM = 0.05  # share of the worst samples a strip's match to a panel leaves out
MIN_INK_COLUMNS = 3  # row_extents: ink narrower than this is a speck
# leads × signs that sum to zero at every instant (Einthoven, Goldberger)
LIMB_IDENTITIES: tuple[dict[str, float], ...] = (
    {"I": 1.0, "II": -1.0, "III": 1.0},
    {"aVR": 1.0, "aVL": 1.0, "aVF": 1.0},
)


@dataclass(frozen=True)
class PanelSpec:
    """Where a layout prints one lead: its row, time span and whether it is a rhythm strip."""

    lead: str
    row: int
    t_start_s: float
    t_end_s: float
    strip: bool = False


def layout_plan(name: str) -> tuple[PanelSpec, ...]:
    """The panels of a named layout: "3x4", "3x4+1".."3x4+3", "6x2" or "12x1"."""
    if name == "6x2":
        half_s = DURATION_S / 2
        return tuple(
            spec
            for row, (left, right) in enumerate(zip(LIMB_LEADS, PRECORDIAL_LEADS, strict=True))
            for spec in (
                PanelSpec(left, row, 0.0, half_s),
                PanelSpec(right, row, half_s, DURATION_S),
            )
        )
    if name == "12x1":
        return tuple(PanelSpec(lead, row, 0.0, DURATION_S) for row, lead in enumerate(LEADS))
    n_strips = 0 if name == "3x4" else int(name.removeprefix("3x4+"))
    grid = tuple(
        PanelSpec(lead, row, col * COLUMN_S, (col + 1) * COLUMN_S)
        for row, leads in enumerate(ROWS_3X4)
        for col, lead in enumerate(leads)
    )
    strips = tuple(
        PanelSpec(lead, len(ROWS_3X4) + k, 0.0, DURATION_S, strip=True)
        for k, lead in enumerate(DEFAULT_STRIPS[n_strips])
    )
    return grid + strips


def layouts_for_rows(n_rows: int) -> tuple[str, ...]:
    """The standard layouts that print ``n_rows`` trace rows (empty if none does)."""
    names = [f"3x4+{n}" if n else "3x4" for n in DEFAULT_STRIPS if len(ROWS_3X4) + n == n_rows]
    return tuple(names) + {6: ("6x2",), 12: ("12x1",)}.get(n_rows, ())


def identity_residual(signal_mv: dict[str, np.ndarray]) -> float:
    """How far the limb leads break Einthoven's and Goldberger's identities (≈ 0 when they hold).

    ``signal_mv`` maps leads to their samples on one time base (NaN where not printed). For each
    identity, over the samples where all its leads are shown (medians removed), the RMS of the
    signed sum over the root-sum-square of the leads' RMS; the sample-weighted mean over
    identities, NaN when no identity has 50 common samples.
    """
    total, weight = 0.0, 0
    for identity in LIMB_IDENTITIES:
        if not all(lead in signal_mv for lead in identity):
            continue
        both = np.logical_and.reduce([np.isfinite(signal_mv[lead]) for lead in identity])
        n = int(both.sum())
        if n < 50:
            continue
        terms = [sign * (signal_mv[lead][both] - np.median(signal_mv[lead][both]))
                 for lead, sign in identity.items()]  # fmt: skip
        scale = np.sqrt(sum(np.mean(t**2) for t in terms))
        total += n * float(np.sqrt(np.mean(np.sum(terms, axis=0) ** 2)) / max(scale, 1e-6))
        weight += n
    return total / weight if weight else float("nan")


def find_rows(ink_bool: np.ndarray, min_cover_frac: float = 0.0) -> np.ndarray:
    """y of every trace row (its densest ink line), top to bottom.

    Candidate rows are peaks of the row projection of the ink spread vertically by ``h / 40``
    (about 5 mm), so a trace whose baseline wanders still forms one peak; each is then moved to
    the densest line of the unspread ink nearby. Text lines are dropped because a trace row
    covers nearly the whole width of its band (the image rows closer to it than to any other
    candidate, so a wandering trace stays inside), a line of text does not: rows must cover
    75 % of the widest row's span and ``min_cover_frac`` of the image width.
    """
    h, w = ink_bool.shape
    spread_px = max(1, h // 40)
    sigma = max(1.0, h / 400)
    spread = cv2.dilate(ink_bool.astype(np.uint8), np.ones((spread_px, 1), np.uint8))
    proj_spread = gaussian_filter1d(spread.sum(axis=1).astype(np.float64), sigma)
    peaks, _ = find_peaks(proj_spread, distance=max(2, h // 18), height=0.35 * proj_spread.max())
    if len(peaks) == 0:
        return peaks
    proj = gaussian_filter1d(ink_bool.sum(axis=1).astype(np.float64), sigma)
    lo = np.maximum(peaks - spread_px, 0)
    peaks = np.array(
        [a + int(np.argmax(proj[a : y + spread_px + 1])) for a, y in zip(lo, peaks, strict=True)]
    )
    mids = (peaks[:-1] + peaks[1:]) // 2
    reach = int(np.min(np.diff(peaks))) if len(peaks) > 1 else h // 15
    tops = np.concatenate(([max(0, peaks[0] - reach)], mids))
    bottoms = np.concatenate((mids, [peaks[-1] + reach])) + 1
    bands = zip(tops, bottoms, strict=True)
    cover = np.array([_longest_run(ink_bool[a:b].any(axis=0), w // 40)[1] for a, b in bands])
    return peaks[(cover >= 0.75 * cover.max()) & (cover >= min_cover_frac * w)]


def _longest_run(occupied: np.ndarray, max_gap: int) -> tuple[int, int]:
    """(start, length) of the longest stretch of ``occupied`` after closing gaps ≤ ``max_gap``."""
    idx = np.flatnonzero(occupied)
    if len(idx) == 0:
        return 0, 0
    breaks = np.flatnonzero(np.diff(idx) > max_gap + 1)
    starts = np.concatenate(([idx[0]], idx[breaks + 1]))
    ends = np.concatenate((idx[breaks], [idx[-1]]))
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k] - starts[k] + 1)


def row_extents(
    ink_bool: np.ndarray, rows_y: np.ndarray, half_band_px: int, max_gap_px: int
) -> np.ndarray:
    """(left, right) pixel columns of each row's longest ink stretch, shape (n_rows, 2), gaps
    up to ``max_gap_px`` closed.

    The stretch ends at ink seen in ``MIN_INK_COLUMNS`` consecutive columns: a scan's specks
    a few px past a trace's end would otherwise carry it on across the gap. Inside it, short
    pieces count (a faint photographed trace falls apart into them).
    """
    out = np.zeros((len(rows_y), 2))
    for i, y in enumerate(rows_y):
        band = ink_bool[max(0, y - half_band_px) : y + half_band_px + 1]
        occupied = band.any(axis=0)
        start, length = _longest_run(occupied, max_gap_px)
        wide = np.flatnonzero(
            binary_opening(occupied[start : start + length], np.ones(MIN_INK_COLUMNS, bool))
        )
        out[i] = (start + wide[0], start + wide[-1]) if len(wide) else (start, start + length - 1)
    return out


@dataclass
class Pulse:
    """A calibration pulse: foot y (the 0 mV line), height and pen width in px, top's x span;
    ``foot_on_line``: the foot was read on a flat lead-in (or lead-out) line, not at an edge's
    bottom end."""

    foot_y_px: float
    height_px: float
    line_w_px: float
    x_left_px: int
    x_right_px: int
    foot_on_line: bool = False

    def zero_mv_y_px(self, px_per_mv: float) -> float:
        """The row's 0 mV line: the top plus 1 mV at the grid's scale, averaged with the foot
        when the foot was read on a line: two readings of the line, each off by a fraction of
        a pixel in its own way (on 200 dpi pulses drawn at sub-pixel heights, crisp or blurred,
        the rms error fell from 0.14 to 0.09 px).

        Averaging raised the seed-1 median SNR over all leads from 24.24 to 24.69 dB on clean
        pages, 20.04 to 20.15 on scans and 19.28 to 19.48 on photos; a foot alone gained less
        on those and lost 1.5 dB on ecg-image-kit pages, whose pulse has no lead-in.
        """
        top_based = self.foot_y_px - self.height_px + px_per_mv
        return 0.5 * (self.foot_y_px + top_based) if self.foot_on_line else top_based


def calibration_pulse(
    ink_bool: np.ndarray,
    weight: np.ndarray,
    x_range: tuple[int, int],
    y_range: tuple[int, int],
    px_per_mm: float,
    *,
    trace_after: bool = True,
) -> Pulse | None:
    """The 1 mV calibration pulse in the given box, or None.

    The pulse is a rectangle: its ink piles up on two horizontal levels, the top and the foot,
    10 mm (5 or 20 mm at 5 or 20 mm/mV) apart; the foot (the lower one) is the row's 0 mV line.
    Levels are ink-weighted centroids, so the foot is sub-pixel. The top's thickness over its own
    columns is the pen width: a bold label printed beside the top once tripled it on pale pens.
    ``trace_after``: the row's trace follows the pulse (else precedes it), so the foot is read on
    the other side.
    """
    x0, x1 = max(0, x_range[0]), min(ink_bool.shape[1], x_range[1])
    y0, y1 = max(0, y_range[0]), min(ink_bool.shape[0], y_range[1])
    if x1 - x0 < 3 * px_per_mm or y1 - y0 < 8 * px_per_mm:
        return None
    wts = np.where(ink_bool[y0:y1, x0:x1], weight[y0:y1, x0:x1], 0.0)
    occupied_cols = np.flatnonzero(wts.sum(axis=0) > 0)
    if len(occupied_cols) < 4 * px_per_mm:
        return None
    prof = wts.sum(axis=1)
    smooth = gaussian_filter1d(prof, max(0.5, 0.15 * px_per_mm))
    peaks, _ = find_peaks(smooth, height=0.3 * px_per_mm * weight.max())
    if len(peaks) < 2:
        return None
    pairs = sorted(
        (
            (smooth[a] + smooth[b], a, b, gain)
            for i, a in enumerate(peaks)
            for b in peaks[i + 1 :]
            for gain in STANDARD_GAINS_MM_MV
            if abs((b - a) / (gain * px_per_mm) - 1.0) < 0.15
        ),
        reverse=True,
    )
    box = ink_bool[y0:y1, x0:x1]
    max_gain = max(STANDARD_GAINS_MM_MV)
    for _, top_i, foot_i, gain in pairs:
        found = _pulse_outline(box, prof, top_i, foot_i, px_per_mm, stacked_ok=gain == max_gain)
        if found is not None:
            break
    else:  # faint edges: the strongest 10 mm pair, its top's first ink run as the outline
        tens = [(a, b) for _, a, b, gain in pairs if gain == GAIN_MM_MV]
        if not tens:
            return None
        top_i, foot_i = tens[0]
        top, lo, hi = _top_level(prof, top_i)
        cols = np.flatnonzero(box[lo : hi + 1].any(axis=0))
        breaks = np.flatnonzero(np.diff(cols) > 1)  # the top ends where a label may follow
        right = cols[breaks[0]] if len(breaks) else cols[-1]
        if not _pulse_width_ok(right - cols[0] + 1, px_per_mm):
            return None  # a wave's crest, not a pulse top
        found = top, float(hi - lo + 1), int(cols[0]), int(right)
    top, line_w_px, left, right = found
    if right - left > 2:  # the top's own columns: a label beside it must not thicken it
        inside = wts[:, left + 1 : right].sum(axis=1)
        reach = max(1, round(line_w_px))
        near = np.arange(max(0, top_i - reach), min(len(inside), top_i + reach + 1))
        cover = box[:, left + 1 : right].mean(axis=1)
        top, lo, hi = _top_level(inside, int(near[np.argmax(inside[near])]), cover)
        line_w_px = float(hi - lo + 1)
    x_left, x_right = x0 + left, x0 + right
    found_foot = _pulse_foot(
        ink_bool, weight, (x_left, x_right), y0 + foot_i, line_w_px, px_per_mm, trace_after
    )
    if found_foot is None or found_foot[0] <= y0 + top:  # a pulse stands up from its foot
        return None
    foot, on_line = found_foot
    return Pulse(foot, foot - (y0 + top), line_w_px, x_left, x_right, on_line)


def _pulse_width_ok(width_px: int, px_per_mm: float) -> bool:
    """Whether a pulse top ``width_px`` wide is within ``PULSE_WIDTH_MM``."""
    return PULSE_WIDTH_MM[0] * px_per_mm <= width_px <= PULSE_WIDTH_MM[1] * px_per_mm


def _top_level(
    prof: np.ndarray, top_i: int, cover: np.ndarray | None = None
) -> tuple[float, int, int]:
    """(ink-weighted centroid y, first row, last row) of the pulse top around row ``top_i``.

    The top's rows are those whose ink outweighs half of row ``top_i``'s, or, given ``cover``
    (per row, the share of the top's own columns inked), those at least half inked. The centroid
    is taken over those rows only: a thick pen's top is a plateau whose peak row is arbitrary,
    and a window centred there put the top (and so the row's 0 mV line) up to a pixel off.
    """
    inked = prof > 0.5 * prof[top_i] if cover is None else cover >= 0.5
    lo = hi = top_i
    while lo > 0 and inked[lo - 1]:
        lo -= 1
    while hi < len(prof) - 1 and inked[hi + 1]:
        hi += 1
    top = float(np.arange(lo, hi + 1) @ prof[lo : hi + 1] / prof[lo : hi + 1].sum())
    return top, lo, hi


def _pulse_outline(
    box: np.ndarray,
    prof: np.ndarray,
    top_i: int,
    foot_i: int,
    px_per_mm: float,
    stacked_ok: bool = False,
) -> tuple[float, float, int, int] | None:
    """(top y, pen width, left x, right x) in ``box`` if levels ``top_i``/``foot_i`` are a pulse.

    A pulse has two vertical edges: columns inked over 80 % of the height between the levels,
    down to the foot and no further (nor above the top), 1.5–10 mm apart, with the top level
    inked over at least 60 % of the way between them. Text and traces do not draw that, nor do
    two levels inside a taller pulse. With ``stacked_ok`` (the tallest standard pulse, 20 mm)
    the edges may run on beyond both levels: at 20 mm/mV a 12×1 page's pulses reach the row
    above and stack into one bar down the page.
    """
    top, lo, hi = _top_level(prof, top_i)
    if foot_i - hi < 3:
        return None
    pen, k = hi - lo + 1, max(2, (foot_i - hi) // 5)

    def inked(a: int, b: int) -> np.ndarray:
        """Per column, the inked share of rows a..b-1 (an edge may fall between two columns)."""
        rows = box[max(0, a) : max(0, b)]
        if len(rows) == 0:
            return np.zeros(box.shape[1])
        return (rows | np.c_[rows[:, 1:], np.zeros((len(rows), 1), bool)]).mean(axis=0)

    beyond = np.maximum(
        inked(lo - 1 - pen - k, lo - 1 - pen), inked(foot_i + 1 + pen, foot_i + 1 + pen + k)
    )
    edges = np.flatnonzero(
        (inked(hi + 1, foot_i - 1) >= 0.8)
        & (inked(foot_i - 1 - k, foot_i - 1) >= 0.6)
        & ((beyond < 0.5) | stacked_ok)
    )
    on_top = box[lo : hi + 1].any(axis=0)
    best = None
    for i, left in enumerate(edges):
        for right in edges[i + 1 :]:
            if not _pulse_width_ok(right - left + 1, px_per_mm):
                continue
            fill = float(on_top[left : right + 1].mean())
            if fill >= 0.6 and (best is None or (fill, right - left) > best[0]):
                best = ((fill, right - left), int(left), int(right))
    if best is None:
        return None
    return top, float(pen), best[1], best[2]


def _pulse_foot(
    ink_bool: np.ndarray,
    weight: np.ndarray,
    edges_x: tuple[int, int],
    y_guess: int,
    line_w_px: float,
    px_per_mm: float,
    trace_after: bool,
) -> tuple[float, bool] | None:
    """Ink centroid of the pulse's foot just outside the edge away from the trace (its lead-in
    when ``trace_after``, else its lead-out); without one, that edge's bottom end. Also whether
    it was read on a line: at least 0.5 mm of the columns beside the edge hold ink.

    Only the 1.5 mm beside the rectangle count. The side where the trace joins is never read:
    a trace that starts within 1 mm of 0 mV pulled the foot 3–4 px down on a renderer whose
    pulse has no lead-out, and the grid was then rejected for disagreeing with the pulse.
    """
    reach = max(2, round(1.5 * px_per_mm))
    clear = int(np.ceil(line_w_px / 2)) + 1
    dy = max(2, round(1.0 * px_per_mm))
    y0, y1 = max(0, y_guess - dy), min(ink_bool.shape[0], y_guess + dy + 1)
    if trace_after:
        edge = edges_x[0]
        cols = np.arange(max(0, edge - reach), max(0, edge - clear))
    else:
        edge = edges_x[1]
        cols = np.arange(edge + clear, min(ink_bool.shape[1], edge + reach))
    if len(cols):
        beside = ink_bool[y0:y1][:, cols]
        wts = np.where(beside, weight[y0:y1][:, cols], 0.0).sum(axis=1)
        if wts.sum() > 0:
            on_line = bool(beside.any(axis=0).sum() >= 0.5 * px_per_mm)
            return float(y0 + np.arange(y1 - y0) @ wts / wts.sum()), on_line
    inked = ink_bool[y0:y1, edge]
    if not inked.any():
        return None
    return float(y0 + np.flatnonzero(inked)[-1] - (line_w_px - 1) / 2), False


def strip_lead_errors(strip_mv: np.ndarray, panels_mv: dict[str, np.ndarray]) -> dict[str, float]:
    """Normalised mismatch between a 10 s strip and each 3×4 panel lead over that panel's time.

    ``panels_mv`` holds each 3×4 lead on the 10 s time base (NaN outside its column). The error is
    the RMS difference after removing medians, over all but the worst ``STRIP_TRIM`` of the
    samples, divided by the panel's RMS: ≈ 0 for the same lead. The trim keeps one misread QRS
    (a path that hops to a crossing trace for 20 ms) from making a strip look like another lead.
    """
    out = {}
    for lead, panel in panels_mv.items():
        both = np.isfinite(panel) & np.isfinite(strip_mv)
        if both.sum() < 50:
            continue
        a = strip_mv[both] - np.median(strip_mv[both])
        b = panel[both] - np.median(panel[both])
        kept = np.sort((a - b) ** 2)[: int(np.ceil((1 - STRIP_TRIM) * both.sum()))]
        out[lead] = float(np.sqrt(np.mean(kept)) / max(np.sqrt(np.mean(b**2)), 1e-6))
    return out
