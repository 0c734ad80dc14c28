"""Paper geometry from pixels alone: ink maps, rotation, grid removal and grid pitch.

Nothing here trusts file metadata. Rotation maximises the sharpness of the projection of every
non-paper pixel (grid lines and traces both run along the page axes); the grid is removed as
whatever stays dark along whole image rows or columns (so its colour does not matter); the pitch
is the spectral peak of the grid's intensity profile next to a rough scale from the trace span.
"""

from __future__ import annotations

import itertools

import cv2
import numpy as np
from numpy.typing import ArrayLike

PAPER_SPEED_MM_S = 25.0
GAIN_MM_MV = 10.0
STANDARD_GAINS_MM_MV = (10.0, 5.0, 20.0)  # printed gains a calibration pulse is matched to
TRACE_SPAN_MM = 250.0  # 10 s at 25 mm/s: the width of every standard layout's traces
AXIS_ALIGNED_DEG = 0.15  # a rotation fit this near 0 is checked against exactly 0
# a grid snapped to whole pixels: most line centroids this near a whole pixel while the comb's
# own sub-pixel phases spread this much (a uniform spread has a std of 0.29 px)
SNAPPED_MAX_FRAC_PX = 0.05
SNAPPED_MIN_SHARE = 0.9
SNAPPED_MIN_SPREAD_PX = 0.2


def darkness_maps(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two float32 maps in [0, 1] relative to the local paper level.

    ``ink``: how dark the brightest channel is (a black or blue trace is dark in every channel,
    a coloured grid is bright in at least one). ``nonpaper``: how dark the darkest channel is
    (grid lines of any colour, traces and text). Uneven lighting is divided out first.
    """
    v, m = channel_extremes(rgb)
    inv_paper = 1.0 / _paper_level(v)
    ink = 1.0 - v * inv_paper
    nonpaper = 1.0 - m * inv_paper
    return np.clip(ink, 0.0, 1.0, out=ink), np.clip(nonpaper, 0.0, 1.0, out=nonpaper)


def channel_extremes(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per pixel, the brightest and the darkest of the three channels (uint8; fast on cv2)."""
    channels = cv2.split(np.ascontiguousarray(rgb, dtype=np.uint8))
    brightest = cv2.max(cv2.max(channels[0], channels[1]), channels[2])
    return brightest, cv2.min(cv2.min(channels[0], channels[1]), channels[2])


def _row_percentile(values: np.ndarray, q: float) -> np.ndarray:
    """``np.percentile(values, q, axis=1)`` (its linear rule) of a float32 or uint8 array.

    numpy sorts short float32 rows with SIMD 5-6 times faster than it partitions them at two
    ranks (1700 rows of 69: 0.17 against 1.0 ms); uint8 rows, which it sorts slowly, are sorted
    as float32."""
    n = values.shape[1]
    pos = q / 100.0 * (n - 1)
    k = int(pos)
    k1 = min(k + 1, n - 1)
    part = np.sort(values.astype(np.float32, copy=False), axis=1)
    return part[:, k] + np.float32(pos - k) * (part[:, k1] - part[:, k])


def _paper_level(v: np.ndarray) -> np.ndarray:
    """Smooth local paper brightness: a coarse 90th percentile of the brightest channel."""
    h, w = v.shape
    cell = max(8, round(max(h, w) / 48))
    gh, gw = max(1, h // cell), max(1, w // cell)
    tiles = v[: gh * cell, : gw * cell].reshape(gh, cell, gw, cell)[:, ::2, :, ::2]
    level = _row_percentile(tiles.transpose(0, 2, 1, 3).reshape(gh * gw, -1), 90).reshape(gh, gw)
    level = cv2.GaussianBlur(level.astype(np.float32), (0, 0), 1.0)
    level = cv2.resize(level, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.maximum(level, 32.0)


def _projection_sharpness(ys: np.ndarray, xs: np.ndarray, wts: np.ndarray, angles_deg: np.ndarray):
    """Sum of squared 1-px histogram bins of rows and columns after undoing each angle."""
    radius = float(np.sqrt(np.max(ys**2 + xs**2))) + 1.0  # keeps every bin index >= 0
    scores = np.empty(len(angles_deg))
    for i, a in enumerate(np.deg2rad(angles_deg)):
        c, s = np.float32(np.cos(a)), np.float32(np.sin(a))
        hr = np.bincount((ys * c + xs * s + radius).astype(np.intp), weights=wts)
        hq = np.bincount((xs * c - ys * s + radius).astype(np.intp), weights=wts)
        scores[i] = hr @ hr + hq @ hq
    return scores


def _weighted_points(
    nonpaper: np.ndarray, scale: float, max_points: int = 150_000
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Centred float32 coordinates and float64 weights of non-paper pixels, resized by ``scale``."""
    small = _shrunk(nonpaper, scale)
    flat = np.flatnonzero(small > 0.08)
    flat = flat[:: max(1, -(-len(flat) // max_points))]
    h, w = small.shape
    ys, xs = np.divmod(flat, w)
    return (
        (ys - h / 2).astype(np.float32),
        (xs - w / 2).astype(np.float32),
        small.ravel()[flat].astype(np.float64),
    )


def _shrunk(image: np.ndarray, scale: float) -> np.ndarray:
    """``image`` resized by ``scale`` (area averaging), or itself for a scale of 1 or more."""
    if scale >= 1.0:
        return image
    return cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)


def estimate_rotation_deg(nonpaper: np.ndarray, max_deg: float = 15.0) -> float:
    """In-plane rotation of the page (counter-clockwise positive, OpenCV convention) in degrees.

    Coarse to fine: 1° steps on a 125 px copy, 0.25° on a 500 px copy (a projection peak is
    about one pixel over the width wide), then a fine search at about 1600 px width with a
    parabolic peak fit. A page drawn by a program, not scanned, is square to its pixels: within
    ``AXIS_ALIGNED_DEG`` of 0, 0 is taken if the projections are at least as sharp there at full
    size (the fit, off by up to 0.06° on such pages, shifted rows far from the centre by a pixel).
    """
    fine = _shrunk(nonpaper, 1600.0 / max(nonpaper.shape))  # the coarse copies shrink this one
    best = 0.0
    for size_px, half_width, step in ((125.0, max_deg, 1.0), (500.0, 1.0, 0.25)):
        pts = _weighted_points(fine, min(1.0, size_px / max(fine.shape)))
        angles = best + np.arange(-half_width, half_width + 1e-9, step)
        best = float(angles[np.argmax(_projection_sharpness(*pts, angles))])
    pts = _weighted_points(fine, 1.0)
    for half_width, step in ((0.15, 0.05), (0.04, 0.01)):
        angles = best + np.arange(-half_width, half_width + 1e-9, step)
        scores = _projection_sharpness(*pts, angles)
        k = int(np.argmax(scores))
        best = float(angles[k])
        if 0 < k < len(angles) - 1:
            best += step * parabolic_offset(scores[k - 1], scores[k], scores[k + 1])
    if abs(best) < AXIS_ALIGNED_DEG:  # a page drawn square: its lines are sharpest at 0 exactly
        at_zero, at_best = _projection_sharpness(
            *_weighted_points(nonpaper, 1.0), np.array([0.0, best])
        )
        if at_zero >= at_best:
            return 0.0
    return best


def parabolic_offset(left: ArrayLike, centre: ArrayLike, right: ArrayLike) -> np.ndarray:
    """Sub-sample position (−0.5..0.5) of a peak from three neighbouring values (elementwise)."""
    left, centre, right = (np.asarray(v, dtype=np.float64) for v in (left, centre, right))
    denom = left - 2 * centre + right
    peaked = denom < 0
    offset = 0.5 * (left - right) / np.where(peaked, denom, -1.0)
    return np.where(peaked, np.clip(offset, -0.5, 0.5), 0.0)


def rotate(
    image: np.ndarray, angle_deg: float, border: float = 0.0, interpolation: int = cv2.INTER_LINEAR
) -> np.ndarray:
    """Undo a rotation of ``angle_deg`` (counter-clockwise positive) about the image centre,
    interpolating by ``interpolation`` (an OpenCV flag)."""
    if angle_deg == 0.0:
        return image
    h, w = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), -angle_deg, 1.0)
    return cv2.warpAffine(image, matrix, (w, h), flags=interpolation, borderValue=border)


def grid_darkness(
    ink: np.ndarray, n_tiles: int = 8, row_cap_percentile: float | None = None
) -> np.ndarray:
    """The grid's darkness at every pixel of ``ink``: what stays dark along most of each row
    and column (grid lines).

    Works per tile (``n_tiles`` strips each way) so a slight residual tilt does not smear a line,
    and uses the 20th percentile so a sloping trace (sparse along a row) is kept. A tall narrow
    QRS can fill most of one tile column, but a grid line runs on into the next tile, so a
    column level counts only as far as a neighbouring tile (±2 px) shares it. A flat trace can
    fill a whole tile row, so no row may lose more than the darkest grid line (the 99th
    percentile of column levels, robust to a border or a separator), nor any column: a dark
    vertical that is not a grid line, such as the bar of 20 mm calibration pulses stacked down
    a 12×1 page, stays ink. A renderer may draw its horizontal lines darker than its vertical
    ones (on whole pixel rows, the verticals anti-aliased over two columns): then the rows'
    cap may be raised to the ``row_cap_percentile`` of the row levels, at the price of a flat
    pale trace (the digitizer does so only for a page whose trace rows are lost among the
    surviving lines: ``kecg.digitize.core._frame``).
    """
    h, w = ink.shape
    x_edges = np.linspace(0, w, n_tiles + 1).astype(int)
    y_edges = np.linspace(0, h, n_tiles + 1).astype(int)
    # (h, n_tiles): each row's level within each vertical strip; (n_tiles, w): the transpose
    row_levels = np.stack(
        [_row_percentile(ink[:, a:b:4], 20) for a, b in itertools.pairwise(x_edges)], axis=1
    )
    col_levels = np.stack(
        [
            _row_percentile(np.ascontiguousarray(ink[a:b:4].T), 20)
            for a, b in itertools.pairwise(y_edges)
        ]
    ).astype(np.float32)
    near = cv2.dilate(col_levels, np.ones((1, 5), np.uint8))
    neighbours = np.maximum(np.vstack([near[1:2], near[:-1]]), np.vstack([near[1:], near[-2:-1]]))
    col_levels = np.minimum(col_levels, neighbours)
    cap = float(np.percentile(col_levels, 99))
    col_levels = np.minimum(col_levels, cap)
    if row_cap_percentile is not None:
        cap = max(cap, float(np.percentile(row_levels, row_cap_percentile)))
    row_grid = np.repeat(np.minimum(row_levels, cap).astype(ink.dtype), np.diff(x_edges), axis=1)
    return np.maximum(row_grid, np.repeat(col_levels.astype(ink.dtype), np.diff(y_edges), axis=0))


def remove_grid(
    ink: np.ndarray, grid: np.ndarray | None = None, trace_darkness: float = 1.0
) -> np.ndarray:
    """``ink`` less the grid (``grid``: :func:`grid_darkness` of ``ink`` unless given).

    Pixels darker than the grid are rescaled, so a trace crossing a grid line stays dark. A
    trace is drawn over the grid: a pixel covered by a fraction α of a pen of darkness
    ``trace_darkness`` reads α·T + (1 − α)·grid, so a pixel at least half covered keeps α·T.
    With T = 1 (black) that is the plain rescaling; with the trace's own, paler T it keeps a
    navy trace whole where it crosses a grey line of nearly its darkness, which the plain
    rescaling cuts to pieces.
    """
    if grid is None:
        grid = grid_darkness(ink)
    above = ink - grid
    out = above / np.maximum(1.0 - grid, 0.05)
    if trace_darkness < 1.0:
        covered = above / np.maximum(trace_darkness - grid, 0.05)  # α; α·T ≥ ``out`` for T < 1
        np.copyto(out, np.minimum(covered * trace_darkness, ink), where=covered >= 0.5)
    return np.clip(out, 0.0, 1.0, out=out)


def estimate_pitch_px(
    profile: np.ndarray, rough_px: float, tolerance: float = 0.12
) -> tuple[float, float]:
    """(grid pitch in px, its peak contrast): the period of ``profile`` within
    ``rough_px``·(1 ± tolerance), NaN when there is none.

    The profile is high-passed and zero-padded; the spectral peak in the window is refined by a
    parabolic fit. Its contrast is the peak over the median spectrum around it; below 4 the
    pitch is NaN. A printed mm grid stands out far more (on 99 % of 581 cohort pages over 30
    along x and 22 along y); traces and text on a page without a grid reached 40 along one axis
    (muscle noise that beats at a 1 mm period along the rows).
    """
    p = np.asarray(profile, dtype=np.float64)
    if len(p) < 8 * rough_px:
        return float("nan"), 0.0
    k = max(3, round(rough_px * 2) | 1)
    p = p - np.convolve(p, np.ones(k) / k, mode="same")
    p = p * np.hanning(len(p))
    n_fft = 1 << int(np.ceil(np.log2(len(p) * 8)))
    spec = np.abs(np.fft.rfft(p, n_fft))
    freqs = np.fft.rfftfreq(n_fft)
    lo, hi = 1.0 / (rough_px * (1 + tolerance)), 1.0 / (rough_px * (1 - tolerance))
    window = np.flatnonzero((freqs >= lo) & (freqs <= min(hi, 0.5)))
    if len(window) < 3:
        return float("nan"), 0.0
    i = int(window[np.argmax(spec[window])])
    around = spec[(freqs >= 0.5 * lo) & (freqs <= min(2.0 * hi, 0.5))]
    contrast = float(spec[i] / max(float(np.median(around)), 1e-300))
    if contrast < 4.0 or i in (window[0], window[-1]):
        return float("nan"), contrast
    f_peak = freqs[i] + (freqs[1] - freqs[0]) * parabolic_offset(spec[i - 1], spec[i], spec[i + 1])
    return float(1.0 / f_peak), contrast


def grid_warp(region: np.ndarray, pitch_x_px: float, pitch_y_px: float) -> float:
    """How much the grid pitch changes across ``region`` (darkness, de-rotated): a fraction.

    The x pitch of the top half against the bottom half, and the y pitch of the left half
    against the right half; the larger relative difference. A flat page reads under 0.003
    (51 cohort scans); a photo in perspective 0.005–0.08, and every sample of a row moves
    with it. NaN when a half shows no grid.
    """
    h, w = region.shape
    halves = (
        (region[: h // 2].mean(axis=0), region[h // 2 :].mean(axis=0), pitch_x_px),
        (region[:, : w // 2].mean(axis=1), region[:, w // 2 :].mean(axis=1), pitch_y_px),
    )
    return max(
        abs(estimate_pitch_px(a, pitch, 0.08)[0] / estimate_pitch_px(b, pitch, 0.08)[0] - 1.0)
        for a, b, pitch in halves
    )


def grid_phase_px(profile: np.ndarray, pitch_px: float, *, antialiased_ink: bool = False) -> float:
    """Sub-pixel position in [0, pitch) of the grid lines in ``profile`` (darkness along x or y).

    First the phase of the profile's Fourier component at the grid frequency, then the median
    offset of each line's own centroid from that comb over the lighter three quarters of the
    lines: the heavier major lines are left out (an even width shifts a line's centre by half a
    pixel), and the median of the rounding of lines to whole pixels is about zero.

    ``antialiased_ink``: the trace is drawn at its sub-pixel place. If the grid lines then all
    sit centred on whole pixels while the comb's sub-pixel phases spread, the renderer snapped
    them as matplotlib's Agg does an odd-width line (to the middle of the pixel right of its
    nearest pixel edge): half a pixel right of the trace's frame, on average, so the phase is
    moved back by that half pixel (2.5 ms at 100 dpi).
    """
    p = np.asarray(profile, dtype=np.float64)
    k = max(3, round(pitch_px) | 1)
    p = p - np.convolve(p, np.ones(k) / k, mode="same")
    x = np.arange(len(p))
    phase = -np.angle(np.sum(p * np.exp(-2j * np.pi * x / pitch_px))) / (2 * np.pi) * pitch_px
    half = max(1, int(pitch_px / 2 - 0.5))
    lines = np.arange(
        np.ceil((half - phase) / pitch_px), np.floor((len(p) - 1 - half - phase) / pitch_px)
    )
    if len(lines) < 3:
        return float(phase % pitch_px)
    centres = phase + lines * pitch_px
    idx = np.round(centres).astype(np.int64)[:, None] + np.arange(-half, half + 1)
    wts = np.clip(p[idx], 0.0, None)
    mass = wts.sum(axis=1)
    ok = (mass > 0) & (mass <= np.percentile(mass, 75))  # not the heavier major lines
    if ok.sum() >= 3:
        centroids = (wts[ok] * idx[ok]).sum(axis=1) / mass[ok]
        phase += float(np.median(centroids - centres[ok]))
        whole = np.abs(centroids - np.round(centroids)) < SNAPPED_MAX_FRAC_PX
        spread = np.std(centres[ok] - np.round(centres[ok])) > SNAPPED_MIN_SPREAD_PX
        if antialiased_ink and spread and whole.mean() >= SNAPPED_MIN_SHARE:
            phase -= 0.5
    return float(phase % pitch_px)
