"""Sub-pixel refinement: move a trace's samples until a pen drawn along them looks like the ink.

Column and row readings place each sample from one cut through the pen's band, so a QRS
flank, a peak's cap or a sloping stretch is read from a few pixels it shares with its
neighbours. Here every sample of every trace on the page is fitted to all the darkness around
it at once: the model draws a pen of radius ``r`` along the polyline through the samples,
darkness ``A·σ((r − d)/s)`` at distance ``d`` px from it, and gradient steps (Adam) on the
samples' y, on ``A``, ``r`` and the edge softness ``s`` reduce the squared difference from the
page's darkness, with a light penalty on the samples' second differences (it keeps a path off
a label's ink that touches the trace; one that grew with ``s``, ten times stronger on a
blurred scan than on a crisp print, flattened the scans' QRS complexes). The pen is fitted
first, alone, to the darkness against the distance from the reading (:func:`_fit_pen`): a
misjudged width would otherwise bend the samples to make up for it. On a slope a sample's step
grows with the path's length per column, so that a flank read half a pixel early can move the
several pixels of y that puts it back.

A scan's blur softens the pen's edge, and the softness beyond a crisp print's tells its variance
σ². Before the samples move, the darkness loses most of the blur's first-order term σ²/2·∇² (a
blur of two flanks close together, or of a curve, puts darkness where the sharp pen had none),
and after the fit the pull a blur puts on curved stretches is undone (:func:`_undo_blur`).

Where a trace passes within a blur of a pixel on both sides of it (the two flanks of a narrow
R wave near its apex), the darkness there is that of both blurred pens: such pixels see the
union ``A·(σ1 + σ2·(1 − σ1))`` of the nearest stroke's pen and the far one's. With the
nearest pen alone, a scan's blur filling the gap between two flanks pulled them together.

Measured on the seed-1 cohorts (83 pages each), median SNR over all leads, column reading →
this fit: clean 21.4 → 23.9 dB, scan 18.8 → 19.7, photo 18.0 → 19.1; 60 ecg-image-kit pages
of LUDB 21.6 → 22.5; the far stroke's darkness then added clean 24.05 → 24.21, scan 19.72 →
20.03, photo 19.08 → 19.26, kit 22.61 → 22.74; the light smoothness penalty (0.001 in place
of 0.005·(s / 0.5 px)²) clean 25.12 → 25.19, scan 20.60 → 20.88 (II and V5 20.96 → 21.44),
photo 19.79 → 20.15, kit 22.69 → 22.64. The cost is about 0.2 CPU s per page at 200 dpi. The
searches for each pixel's nearest and far segments are loops compiled by numba: as numpy passes
over every candidate segment they took 0.10 of the fit's 0.26 CPU s per page, compiled 0.04.
So are the passes over the pixels that give the loss's gradient, with numpy's vectorized exp
between them: as numpy array passes they took 0.05 CPU s more per page (111 seed-1 scans,
whole page 0.461 → 0.409 CPU s; clean 0.387 → 0.348; readings unchanged).
Undoing half the pull a blur puts on curved stretches, on the 111-page seed-1 cohorts: scan
21.24 → 21.40 dB (II and V5 21.32 → 21.57), photo 20.27 → 20.39; clean and kit pages, crisp,
unchanged. Then the pen fitted to the darkness's profile (in place of ten Adam steps on the pen
alone, which left a 4 px pen started at 0.6 of its width with a 1.2 px soft edge), the
darkness deblurred and all the pull undone: scan 21.71 → 22.01 (II and V5 21.87 → 22.16),
photo 20.53 → 20.97, clean 25.83 → 26.00, kit 26.47 → 26.56; 77 seed-2 scans 21.14 → 21.59
(II and V5 21.27 → 21.95); the same CPU time per page.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit
from scipy.ndimage import gaussian_filter1d, maximum_filter1d, minimum_filter1d
from scipy.optimize import least_squares
from scipy.special import expit

ITERATIONS = 50
STEP_PX = 0.065  # Adam's step on a flat stretch's y; ...
STEEP_GAIN_MAX = 10.0  # ... times the path's length per column, up to this, on a slope
STEP_SHAPE = 0.05  # Adam's step on A, r and s
PROFILE_BIN_PX = 0.05  # the pen is first fitted to the mean darkness in bins of distance this wide
SMOOTHNESS = 0.001  # weight of the mean squared second difference of y (px²)
MIN_SOFT_PX = 0.15  # the edge softness never goes under this (a crisp anti-aliased edge)
REACH_PX = 0.5  # pixels this far past the pen's edge take part
INKED = 0.25  # a sample moves where its column's band holds ink this dark (times the pen's)
NEAREST_EVERY = 5  # iterations between searches for each pixel's nearest segment
FAR_REACH_PX = 2.0  # a second stroke this far past the pen's radius adds its darkness
CRISP_SOFT_PX = 0.2  # the blur is what softens the pen's edge beyond a crisp print's; ...
DEBLUR_SHARE = 0.75  # ... this share of its first-order term is taken off the darkness, ...
BLUR_UNDONE = 1.0  # ... and this share of its pull towards a curve's centre undone
CURVE_SCALE_PX = 1.5  # slope and curvature are measured over a Gaussian this wide


def _band_pixels(
    ink: np.ndarray, xs_px: np.ndarray, ys_px: np.ndarray, reach: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(column, row) of every pixel within ``reach`` of the polyline, column by column, where
    each column's pixels start, and the pixels' darkness (float32)."""
    shape = ink.shape
    dx = float(xs_px[1] - xs_px[0])
    size = 2 * int(np.ceil(reach / dx)) + 1
    lo_s, hi_s = minimum_filter1d(ys_px, size), maximum_filter1d(ys_px, size)
    cols = np.arange(
        max(0, int(np.ceil(xs_px[0]))), min(shape[1] - 1, int(np.floor(xs_px[-1]))) + 1
    )
    lo = np.clip(np.floor(np.interp(cols, xs_px, lo_s) - reach), 0, shape[0] - 1).astype(int)
    hi = np.clip(np.ceil(np.interp(cols, xs_px, hi_s) + reach), 0, shape[0] - 1).astype(int)
    n = hi - lo + 1
    starts = np.cumsum(n) - n
    rows = np.repeat(lo, n) + np.arange(n.sum()) - np.repeat(starts, n)
    cols = np.repeat(cols, n)
    return cols, rows, starts, ink[rows, cols].astype(np.float32)


@njit(cache=True, nogil=True)
def _foot(
    x: float, y: float, xs: np.ndarray, ys: np.ndarray, j: int
) -> tuple[float, float, float, float]:
    """Squared distance from the point (``x``, ``y``) to segment ``j`` (samples j, j + 1 of
    ``xs``, ``ys``), the point's (x, y) offset from its foot on it and the foot's share t along
    it."""
    wx, wy, vx, vy = x - xs[j], y - ys[j], xs[j + 1] - xs[j], ys[j + 1] - ys[j]
    t = min(max((wx * vx + wy * vy) / (vx * vx + vy * vy + 1e-6), 0.0), 1.0)
    ex, ey = wx - t * vx, wy - t * vy
    return ex * ex + ey * ey, ex, ey, t


@njit(cache=True, nogil=True)
def _nearest_segments(
    px: np.ndarray, py: np.ndarray, xs: np.ndarray, ys: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> np.ndarray:
    """For each pixel, the segment (samples j, j + 1) nearest to it among ``lo``..``hi``."""
    seg = lo.copy()
    for i in range(len(px)):
        best = np.inf
        for j in range(lo[i], hi[i] + 1):
            d2 = _foot(px[i], py[i], xs, ys, j)[0]
            if d2 < best:
                best, seg[i] = d2, j
    return seg


@njit(cache=True, nogil=True)
def _far_side_segments(
    px: np.ndarray,
    py: np.ndarray,
    xs: np.ndarray,
    ys: np.ndarray,
    seg: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    reach: float,
) -> np.ndarray:
    """For each pixel, the segment among ``lo``..``hi`` nearest to it within ``reach`` px on
    its far side from its nearest segment ``seg`` (the other flank of a narrow wave), or −1.

    The far side: the two feet lie over 120° apart as seen from the pixel. Only a pixel whose
    samples ``lo``..``hi`` + 1 spread over more than ``reach`` in y can have one.
    """
    seg2 = np.full(len(px), -1, np.int64)
    for i in range(len(px)):
        near = ys[lo[i] : hi[i] + 2]
        if near.max() - near.min() <= reach:
            continue
        j = seg[i]
        d1, ex1, ey1, _ = _foot(px[i], py[i], xs, ys, j)
        best = reach * reach
        for k in range(lo[i], hi[i] + 1):
            d2, ex2, ey2, _ = _foot(px[i], py[i], xs, ys, k)
            cos = ex1 * ex2 + ey1 * ey2
            if cos < 0 and 4 * cos * cos > d1 * d2 and d2 < best:
                best, seg2[i] = d2, k
    return seg2


@njit(cache=True, nogil=True)
def _strokes(
    xs: np.ndarray, ys: np.ndarray, px: np.ndarray, py: np.ndarray, seg: np.ndarray
) -> np.ndarray:
    """(4, n) float32: each pixel's distance d from its segment ``seg``, the foot's share t
    along it and the pixel's (x, y) offset from the foot."""
    out = np.empty((4, len(px)), np.float32)
    for i in range(len(px)):
        j = seg[i]
        d2, ex, ey, t = _foot(px[i], py[i], xs, ys, j)
        out[0, i], out[1, i], out[2, i], out[3, i] = np.sqrt(d2 + 1e-6), t, ex, ey
    return out


@njit(cache=True, nogil=True)
def _gradient_sums(
    near: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    far: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    obs: np.ndarray,
    a: float,
    s: float,
    grad: np.ndarray,
) -> None:
    """The loss's gradient into ``grad`` (see :func:`_gradient`).

    The loss is the mean squared difference between the pixels' darkness ``obs`` and the
    model's, the union ``A·(σ1 + σ2·(1 − σ1))`` of two pens of darkness ``A`` and softness
    ``s``. ``near`` holds each pixel's segment, its :func:`_strokes` rows and its ``z`` and
    ``σ``, the logistic of ``z = (r − d)/s``; ``far`` the same for the far-side stroke of the
    pixels it lists (ascending), σ2 = 0 where that stroke has come round to the near side.
    """
    seg, strokes, z, sig = near
    pix2, seg2, strokes2, z2, sig2 = far
    grad[:] = 0.0
    g_a = g_r = g_s = 0.0
    f = 0  # the next pixel with a far stroke
    for i in range(len(obs)):
        s1, s2, z2f, f_here = float(sig[i]), 0.0, 0.0, -1
        if f < len(pix2) and pix2[f] == i:
            s2, z2f, f_here = float(sig2[f]), float(z2[f]), f
            f += 1
        union = s1 + s2 * (1.0 - s1)
        res = a * union - obs[i]
        g_a += res * union
        rd1 = res * s1 * (1.0 - s1) * (1.0 - s2)  # ∂σ1/∂z, times A·(1 − σ2) on the model
        rd2 = res * s2 * (1.0 - s2) * (1.0 - s1)
        g_r += rd1 + rd2
        g_s += rd1 * z[i] + rd2 * z2f
        # d grows as either end of the segment moves away from the pixel: ∂d/∂y = −share·e_y/d
        j, t = seg[i], strokes[1, i]
        g = rd1 * strokes[3, i] / strokes[0, i]
        grad[j] += g * (1.0 - t)
        grad[j + 1] += g * t
        if s2 > 0.0:
            k, t = seg2[f_here], strokes2[1, f_here]
            g = rd2 * strokes2[3, f_here] / strokes2[0, f_here]
            grad[k] += g * (1.0 - t)
            grad[k + 1] += g * t
    # the constant factors (A, 1/s, 2/n) are applied to the sums, not to every pixel
    scale = 2.0 / len(obs)
    grad[:-3] *= a / s * scale
    grad[-3] = g_a * scale
    grad[-2] = g_r * a / s * scale
    grad[-1] = -g_s * a / s * scale


def _logistic(d: np.ndarray, r: float, s: float) -> tuple[np.ndarray, np.ndarray]:
    """``z = (r − d)/s`` (clipped to ±30) and its logistic σ, float32 (numpy's vectorized exp:
    in the compiled pass over the pixels, exp took half its time)."""
    z = np.float32(r) - d
    z *= np.float32(1.0 / s)
    np.clip(z, -30.0, 30.0, out=z)
    sig = np.negative(z)
    np.exp(sig, out=sig)
    sig += 1.0
    return z, np.reciprocal(sig, out=sig)


def _geometry(
    xs: np.ndarray,
    ys: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    seg: np.ndarray,
    pix2: np.ndarray,
    seg2: np.ndarray,
) -> tuple:
    """Each pixel's stroke (:func:`_strokes`) along its segment ``seg``; for the pixels
    ``pix2``, the stroke along the far-side segment ``seg2``, and whether it still counts: while
    the two feet lie over 120° apart as seen from the pixel."""
    strokes, strokes2 = _strokes(xs, ys, px, py, seg), _strokes(xs, ys, px[pix2], py[pix2], seg2)
    cos = strokes[2, pix2] * strokes2[2] + strokes[3, pix2] * strokes2[3]
    return seg, strokes, pix2, seg2, strokes2, cos < -0.5 * strokes[0, pix2] * strokes2[0]


def _gradient(geometry: tuple, obs: np.ndarray, pen: np.ndarray, grad: np.ndarray) -> None:
    """The loss's gradient into ``grad``: ∂L/∂y of each sample, then ∂L/∂(A, r, s), for the
    pixels' darkness ``obs``, the pen ``pen`` (A, r, s) and the samples' :func:`_geometry`."""
    seg, strokes, pix2, seg2, strokes2, on_far_side = geometry
    a, r, s = (float(v) for v in pen)
    z, sig = _logistic(strokes[0], r, s)
    z2, sig2 = _logistic(strokes2[0], r, s)
    sig2 *= on_far_side
    _gradient_sums((seg, strokes, z, sig), (pix2, seg2, strokes2, z2, sig2), obs, a, s, grad)


class Pen(NamedTuple):
    """The pen fitted to a page's darkness: ``A·σ((r − d)/s)`` at ``d`` px from the line."""

    darkness: float  # A
    radius_px: float  # r: half the width, where the darkness is half A
    softness_px: float  # s: a crisp print's 0.15-0.2, under a 0.9 or 1.2 px blur 0.4 or 0.55


def fit_traces_px(
    ink: np.ndarray, traces: list[tuple[np.ndarray, np.ndarray]], pen_w_px: float
) -> tuple[list[np.ndarray], Pen]:
    """Refined y (px) of each trace's samples on the page's darkness ``ink`` (the blur's pull
    on curved stretches undone, :func:`_undo_blur`), and the pen fitted to the deblurred
    darkness.

    ``traces`` holds (x, y) per trace: samples at evenly spaced page columns x and the reading
    y to start from; ``pen_w_px`` is the pen's width. All traces of a page are fitted together
    (one pen: one ``A``, ``r`` and ``s``). Samples whose band holds no ink (a stretch bridged
    where the trace was not found) and traces under 4 samples are returned as given; with
    nothing to fit, the pen is NaN.
    """
    out = [np.asarray(y, dtype=np.float64).copy() for _, y in traces]
    reach = pen_w_px / 2 + REACH_PX
    bands = [
        _band_pixels(ink, x, y, reach) if len(x) >= 4 else None
        for (x, _), y in zip(traces, out, strict=True)
    ]
    dark = [band[3] for band in bands if band is not None]
    if not dark or not sum(map(len, dark)):
        return out, Pen(np.nan, np.nan, np.nan)
    level = float(np.quantile(np.concatenate(dark), 0.99))
    # a pixel's nearest segment is sought among the k either side of its column's sample
    dx_px = min(x[1] - x[0] for (x, _), band in zip(traces, bands, strict=True) if band is not None)
    k = int(np.ceil(reach / dx_px)) + 1
    pc_l, pr_l, obs_l, win_l, step_l = [], [], [], [], []
    n = 0
    for (x, _), y, band in zip(traces, out, bands, strict=True):
        step = np.zeros(len(x))
        if band is not None and len(band[0]):
            pc, pr, starts, band_dark = band
            band_cols = pc[starts]
            inked = np.maximum.reduceat(band_dark, starts) > INKED * level
            keep = np.repeat(inked, np.diff(np.append(starts, len(pc))))
            pc, pr = pc[keep], pr[keep]
            obs_l.append(band_dark[keep])
            dx = float(x[1] - x[0])
            near = np.round((pc - x[0]) / dx).astype(int)
            pc_l.append(pc)
            pr_l.append(pr)
            win_l.append(n + np.clip([near - k, near + k], 0, len(x) - 2))
            gain = np.clip(np.hypot(1.0, np.gradient(y, dx)), 1.0, STEEP_GAIN_MAX)
            inked_at = np.interp(x, band_cols, inked.astype(np.float64)) > 0.5
            step = np.where(inked_at, STEP_PX * gain, 0.0)
        step_l.append(step)
        n += len(x)
    xs = np.concatenate([np.asarray(x, dtype=np.float64) for x, _ in traces])
    ys, step_px = np.concatenate(out), np.concatenate(step_l)
    pc, pr, obs = np.concatenate(pc_l), np.concatenate(pr_l), np.concatenate(obs_l)
    window = np.hstack(win_l)  # each pixel's first and last candidate segment
    smooth = np.ones(len(ys) - 2)  # second differences within a trace only
    across = (np.cumsum([len(y) for y in out])[:-1, None] - [2, 1]).ravel()
    smooth[across[across >= 0]] = 0.0
    pen = np.array([level, pen_w_px / 2, 0.4])  # A, r, s to start from
    pixels = (pc.astype(np.float64), pr.astype(np.float64), obs, _laplacian(ink, pr, pc))
    ys, fitted = _fit(xs, ys, step_px, smooth, pixels, window, pen)
    split = np.cumsum([len(y) for y in out])[:-1]
    ys = [
        _undo_blur(x, y, moved > 0, fitted.softness_px)
        for (x, _), y, moved in zip(
            traces, np.split(ys, split), np.split(step_px, split), strict=True
        )
    ]
    return ys, fitted


def _undo_blur(xs: np.ndarray, ys: np.ndarray, moved: np.ndarray, softness_px: float) -> np.ndarray:
    """The samples ``ys`` (px) of a trace fitted with a pen of edge softness ``softness_px``,
    moved against the pull of the blur that softened it.

    A Gaussian blur of variance σ² moves a curved stroke's darkness towards its centre of
    curvature by about σ²·κ/2; the fitted pen's edge, sharp along the nearest segment, does not
    model that, so a blurred peak is read low (deblurring the darkness to first order,
    :func:`_fit`, sharpens the pen's edges more than its path). ``BLUR_UNDONE`` of the pull,
    σ²/2 · y''/(1 + y'²) vertically, is undone. Only ``moved`` samples (those the fit placed)
    change.
    """
    blur_var = _blur_var_px2(softness_px)
    if len(ys) < 4 or not blur_var > 0:  # NaN softness: nothing was fitted
        return ys
    dx = float(xs[1] - xs[0])
    slope = np.gradient(gaussian_filter1d(ys, CURVE_SCALE_PX / dx, mode="nearest"), dx)
    curve = np.gradient(slope, dx)
    pull = BLUR_UNDONE * blur_var / 2 * curve / (1 + slope**2)
    return np.where(moved, ys - pull, ys)


def _blur_var_px2(softness_px: float) -> float:
    """The variance (px²) of the blur that softened a pen's edge to ``softness_px``: a logistic
    edge of softness s has the variance of a Gaussian blur of π²s²/3, and the part beyond a
    crisp print's edge is taken as the blur (negative: none; NaN in, NaN out)."""
    return float(np.pi**2 / 3 * (softness_px**2 - CRISP_SOFT_PX**2))


def _laplacian(ink: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The 5-point Laplacian (per px²) of ``ink`` at the pixels (``rows``, ``cols``), float32;
    the page's edge repeats its pixels."""
    h, w = ink.shape
    up, down = np.maximum(rows - 1, 0), np.minimum(rows + 1, h - 1)
    left, right = np.maximum(cols - 1, 0), np.minimum(cols + 1, w - 1)
    around = ink[up, cols] + ink[down, cols] + ink[rows, left] + ink[rows, right]
    return (around - 4 * ink[rows, cols]).astype(np.float32)


def _fit_pen(d_px: np.ndarray, obs: np.ndarray, pen: np.ndarray) -> np.ndarray:
    """The pen (A, r, s) whose darkness ``A·σ((r − d)/s)`` best fits the pixels' darkness
    ``obs`` at distances ``d_px`` from the reading, starting from ``pen``.

    A least-squares fit of the three to the mean darkness in bins of distance (weighted by
    their pixels) converges wherever it starts; Adam's fixed steps on (A, r, s) did not, and a
    pen started narrow stayed narrow with a soft edge.
    """
    bins = (d_px / PROFILE_BIN_PX).astype(np.int64)
    count = np.bincount(bins)
    held = np.flatnonzero(count)
    d_mid = (held + 0.5) * PROFILE_BIN_PX
    mean = np.bincount(bins, obs)[held] / count[held]
    weight = np.sqrt(count[held])

    def residuals(p: np.ndarray) -> np.ndarray:
        return weight * (p[0] * expit((p[1] - d_mid) / p[2]) - mean)

    lower = [0.0, 0.1, MIN_SOFT_PX]
    start = np.maximum(pen, np.add(lower, 1e-3))
    return least_squares(residuals, start, bounds=(lower, np.inf)).x


def _fit(
    xs: np.ndarray,
    ys: np.ndarray,
    step_px: np.ndarray,
    smooth: np.ndarray,
    pixels: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    window: np.ndarray,
    pen: np.ndarray,
) -> tuple[np.ndarray, Pen]:
    """Adam on the samples' y and on the pen's (A, r, s); see the module doc. Returns the
    samples' y and the pen.

    ``step_px`` is each sample's Adam step (0: it stays); ``smooth`` weighs each second
    difference of ``ys`` (0 across two traces' boundary); ``pixels`` holds the band pixels'
    column, row, darkness and its Laplacian; ``pen`` is (A, r, s) to start from.

    The pen is fitted first (:func:`_fit_pen`, on the pixels with no far-side stroke); its
    edge's softness tells the blur's variance σ² (:func:`_blur_var_px2`), and the darkness loses
    ``DEBLUR_SHARE`` of the blur's first-order term σ²/2·∇² before the samples move.
    """
    px, py, obs, laplacian = pixels
    ys = ys.copy()
    n_y = len(ys)
    steps = np.concatenate([step_px, [STEP_SHAPE] * 3])
    m1, m2 = np.zeros(len(steps)), np.zeros(len(steps))
    grad = np.zeros(len(steps))
    lo, hi = window
    seg = _nearest_segments(px, py, xs, ys, lo, hi)
    seg2 = _far_side_segments(px, py, xs, ys, seg, lo, hi, pen[1] + FAR_REACH_PX)
    pix2 = np.flatnonzero(seg2 >= 0)
    seg2, px2, py2, lo2, hi2 = seg2[pix2], px[pix2], py[pix2], lo[pix2], hi[pix2]
    geometry = _geometry(xs, ys, px, py, seg, pix2, seg2)
    distance_px = geometry[1][0]  # from each pixel's nearest segment
    alone = np.ones(len(px), bool)
    alone[pix2] = False
    params = _fit_pen(distance_px[alone], obs[alone], pen)
    blur_var = max(_blur_var_px2(params[2]), 0.0)
    obs = obs - np.float32(DEBLUR_SHARE * blur_var / 2) * laplacian
    for it in range(ITERATIONS):
        if it > 0:
            if it % NEAREST_EVERY == 0:
                # the samples move little: the segment found last time or a neighbour
                seg = _nearest_segments(px, py, xs, ys, *_and_neighbours(seg, lo, hi))
                seg2 = _nearest_segments(px2, py2, xs, ys, *_and_neighbours(seg2, lo2, hi2))
            geometry = _geometry(xs, ys, px, py, seg, pix2, seg2)
        _gradient(geometry, obs, np.append(params[:2], max(params[2], MIN_SOFT_PX)), grad)
        g2 = (2 * SMOOTHNESS / len(smooth)) * smooth * (ys[2:] - 2 * ys[1:-1] + ys[:-2])
        grad[: n_y - 2] += g2
        grad[1 : n_y - 1] -= 2 * g2
        grad[2:n_y] += g2
        m1 = 0.9 * m1 + 0.1 * grad
        m2 = 0.999 * m2 + 0.001 * grad * grad
        step = steps * (m1 / (1 - 0.9 ** (it + 1))) / (np.sqrt(m2 / (1 - 0.999 ** (it + 1))) + 1e-8)
        ys -= step[:n_y]
        params -= step[-3:]
    return ys, Pen(float(params[0]), float(params[1]), max(float(params[2]), MIN_SOFT_PX))


def _and_neighbours(
    seg: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The first and last of each pixel's segment and the ones either side (within its window
    ``lo``..``hi``)."""
    return np.maximum(seg - 1, lo), np.minimum(seg + 1, hi)
