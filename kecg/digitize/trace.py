"""Trace extraction: a Viterbi path through the dark pixel runs of each image column.

Candidates are the vertical runs of ink in every column of a panel; the path minimises the
vertical jump between consecutive columns plus a small pull towards the row's baseline, so it
follows its own trace through labels, grid residue and complexes of neighbouring rows. Each
chosen run becomes one y value: its ink centroid, or its tip for a peak or trough.
"""

from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np

MAX_CANDIDATES = 8
START_PULL = 20.0  # the first column has no neighbour: keep it off labels and pulses above
# reward (cost −) per pixel row two consecutive runs share: see viterbi_trace
OVERLAP_REWARD = 0.1
# a run this many line widths tall is a steep stroke, read as two points (see path_points_px)
STEEP_RUN_LINES = 4.0
# a stroke climbing this many px per column is re-read row by row (see refine_steep_px)
ROW_READ_MIN_SLOPE = 3.0
ROW_READ_MAX_SHIFT_PX = 1.0  # a row's reading this far from the column path is something else


def thin_core(ink_bool: np.ndarray, line_w_px: float) -> tuple[np.ndarray, float]:
    """The ink eroded by a disc almost as wide as the line, and the width (px) left.

    A thick pen rounds every peak into a cap half a line wide; eroding by that disc brings the
    cap back to the sample, so peaks and troughs keep their height. The disc has an odd
    diameter: an even one has no centre pixel and would shift the trace by half a pixel.
    """
    k = round(line_w_px) - 2
    if k % 2 == 0:
        k -= 1
    if k < 3:
        return ink_bool, line_w_px
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    return cv2.erode(ink_bool.view(np.uint8), kernel).astype(bool), max(1.0, line_w_px - k + 1)


def column_runs(
    ink_bool: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Vertical runs of ``True`` in every column: (column, top, bottom inclusive, centroid y).

    The centroid weighs each pixel by ``weight`` (ink darkness), which gives sub-pixel values.
    """
    cs, ys = np.nonzero(np.ascontiguousarray(ink_bool.T))  # ordered by column, then row
    new_run = np.ones(len(cs), bool)
    new_run[1:] = (cs[1:] != cs[:-1]) | (ys[1:] != ys[:-1] + 1)
    starts = np.flatnonzero(new_run)
    ends = np.append(starts[1:], len(cs))[: len(starts)] - 1
    run = np.cumsum(new_run) - 1
    wts = weight[ys, cs].astype(np.float64)
    mass = np.bincount(run, weights=wts, minlength=len(starts))
    moment = np.bincount(run, weights=wts * ys, minlength=len(starts))
    top, bottom = ys[starts], ys[ends]
    centroid = np.where(
        mass > 0, moment / np.maximum(mass, 1e-12), 0.5 * (top + bottom).astype(np.float64)
    )
    return cs[starts], top, bottom, centroid


def _gap_px(
    top_a: np.ndarray, bottom_a: np.ndarray, top_b: np.ndarray, bottom_b: np.ndarray
) -> np.ndarray:
    """Rows between two vertical runs: 1 when they are adjacent, 0 or less when they overlap."""
    return np.maximum(top_b - bottom_a, top_a - bottom_b)


def viterbi_trace(
    cols: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    centroid: np.ndarray,
    n_cols: int,
    baseline_px: float,
    pull_per_px: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cheapest left-to-right path, one run per non-empty column.

    Cost = rows between consecutive runs (:func:`_gap_px`, 0 once they share a row), less
    ``OVERLAP_REWARD`` per pixel row they share, + ``pull_per_px``·distance of the run centroid from
    ``baseline_px`` (``START_PULL`` times stronger in the first column, which has no
    predecessor to anchor it). The reward lets the long run of a QRS stroke win over a
    fragment of ink beside it that touches the same neighbours and lies nearer the baseline
    (a pen edge at low dpi; measured on the seed-1 cohorts, 83 pages each: +0.37 dB mean per
    lead on clean pages, +0.57 on scans, +0.60 on photos, against no reward; 0.2 gained a
    little more on scans but lost leads on clean pages). Returns per column (length
    ``n_cols``) the chosen run's top, bottom and centroid, NaN where a column has no
    candidate.
    """
    out = np.full((3, n_cols), np.nan)
    if len(cols) == 0:
        return out[0], out[1], out[2]
    order = np.lexsort((np.abs(centroid - baseline_px), cols))
    cols, top, bottom, centroid = cols[order], top[order], bottom[order], centroid[order]
    starts = np.searchsorted(cols, np.arange(n_cols))
    counts = np.diff(np.append(starts, len(cols)))
    present = np.flatnonzero(counts > 0)
    k_max = min(MAX_CANDIDATES, int(counts.max()))
    n = len(present)
    rank = np.arange(len(cols)) - starts[cols]
    keep = rank < k_max
    t = np.full((n, k_max), np.nan)
    b = np.full((n, k_max), np.nan)
    c = np.full((n, k_max), np.nan)
    row_of_col = np.full(n_cols, -1)
    row_of_col[present] = np.arange(n)
    ri, ki = row_of_col[cols[keep]], rank[keep]
    t[ri, ki], b[ri, ki], c[ri, ki] = top[keep], bottom[keep], centroid[keep]
    node = np.where(np.isnan(c), np.inf, pull_per_px * np.abs(c - baseline_px))
    gap = _gap_px(t[:-1, :, None], b[:-1, :, None], t[1:, None, :], b[1:, None, :])
    link = np.maximum(gap, 0.0) - OVERLAP_REWARD * np.maximum(1.0 - gap, 0.0)  # (n - 1, from, to)
    link[np.isnan(link)] = np.inf
    cost = START_PULL * node[0]
    back = np.zeros((n, k_max), np.int64)
    # stretches of one-candidate columns (most of a clean trace) need no search: sum them up
    single = np.isfinite(c).sum(axis=1) == 1
    stretch_end = np.minimum.accumulate(np.where(single, n, np.arange(n))[::-1])[::-1]
    i = 1
    while i < n:
        if single[i - 1] and single[i]:
            j = stretch_end[i]
            step = link[i - 1 : j - 1, 0, 0].sum() + node[i:j, 0].sum()
            cost = np.where(np.arange(k_max) == 0, cost[0] + step, np.inf)
            i = j
            continue
        total = cost[:, None] + link[i - 1]
        back[i] = total.argmin(axis=0)
        cost = total.min(axis=0) + node[i]
        i += 1
    path = np.empty(n, np.int64)
    path[-1] = int(np.argmin(cost))
    for i in range(n - 1, 0, -1):
        path[i - 1] = back[i, path[i]]
    sel = np.arange(n)
    out[0, present], out[1, present], out[2, present] = t[sel, path], b[sel, path], c[sel, path]
    return out[0], out[1], out[2]


def path_values_px(
    top: np.ndarray, bottom: np.ndarray, centroid: np.ndarray, line_w_px: float
) -> np.ndarray:
    """One y per column from the chosen runs of a path (thin, eroded lines work best).

    A run taller than the line is a steep stroke or an extremum. If both neighbouring runs lie
    below its top it is a peak (value = top + half a line width), if both lie above its bottom a
    trough, and so are the inner columns of a short plateau of tops (bottoms); otherwise the
    centroid. A tall run between two thin ones is a crossing object (another row's trace, a
    separator tick) and takes the neighbours' mean. Empty columns are interpolated.
    """
    y = centroid.copy()
    ok = np.isfinite(centroid)
    if ok.sum() < 3:
        return y
    idx = np.flatnonzero(ok)
    c, t, b = centroid[idx], top[idx], bottom[idx]
    v = c.copy()
    half = (line_w_px - 1.0) / 2.0
    length = b - t + 1
    tall = length > line_w_px + 1
    inner = np.zeros(len(idx), bool)
    inner[1:-1] = True
    t_prev, t_next = np.roll(t, 1), np.roll(t, -1)
    b_prev, b_next = np.roll(b, 1), np.roll(b, -1)
    peak = inner & tall & ((t_prev > t) & (t_next > t) | (_plateau_place(t) == 2))
    trough = inner & tall & ((b_prev < b) & (b_next < b) | (_plateau_place(-b) == 2)) & ~peak
    v[peak] = t[peak] + half
    v[trough] = b[trough] - half
    thin = 1.6 * line_w_px + 1
    len_prev, len_next = np.roll(length, 1), np.roll(length, -1)
    crossing = inner & (length > 3 * line_w_px + 2) & (len_prev <= thin) & (len_next <= thin)
    v[crossing] = 0.5 * (np.roll(c, 1)[crossing] + np.roll(c, -1)[crossing])
    y[idx] = v
    if not ok.all():
        y[~ok] = np.interp(np.flatnonzero(~ok), idx, v)
    return y


def _plateau_place(v: np.ndarray, max_len: int = 4) -> np.ndarray:
    """Place of each value on a short plateau below both neighbours: 1 first, 2 inner, 3 last.

    A plateau is 2 to ``max_len`` equal values; elsewhere 0. A pen cap puts the top of a stroke
    that turns within a few columns on all of them: the first rises to it, inner ones hold it,
    the last falls from it (measured on the seed-1 cohort, 83 pages each: +0.26 dB mean per
    lead on clean pages, +0.38 on scans, +0.30 on photos, against strict single-column peaks).
    """
    new = np.ones(len(v), bool)
    new[1:] = v[1:] != v[:-1]
    seg = np.cumsum(new) - 1
    sv = v[new]
    n = np.bincount(seg)
    low = np.zeros(len(sv), bool)
    low[1:-1] = (sv[:-2] > sv[1:-1]) & (sv[2:] > sv[1:-1])
    low &= (n >= 2) & (n <= max_len)
    start = np.flatnonzero(new)[seg]
    pos = np.arange(len(v)) - start
    place = np.where(pos == 0, 1, np.where(pos == n[seg] - 1, 3, 2))
    return np.where(low[seg], place, 0)


def path_points_px(
    top: np.ndarray, bottom: np.ndarray, centroid: np.ndarray, line_w_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sub-column (x, y) points of a path: steep strokes resolved within their column.

    A column crossed by a steep monotone stroke (a run over ``STEEP_RUN_LINES`` line widths
    tall) holds the curve from where it enters to where it leaves, so instead of one centroid
    it gives two points, its lower end at the entry side and its upper end at the exit side,
    (``line_w_px`` − 1)/2 either side of the column centre (at least half a column); the ends
    of a short plateau of tops or bottoms are such strokes, into and out of its apex.
    Neighbouring steep columns interleave their ends, so single points zigzag about the
    stroke; over a column they follow it. Both numbers were measured best: ends ``line_w_px``/2
    out read 0.9 dB lower on 83 scans of the filtered cohort (0.8 dB on clean pages; low dpi
    loses most), (``line_w_px`` + 1)/2, the ends of a clean thick line, 2 dB lower; splitting
    runs from two line widths up read 0.4 dB lower on 182 older cohort scans (0.3 dB on
    photos), never splitting 2 dB lower. Other columns
    keep :func:`path_values_px`. x is the column index (pixel centre), sorted.
    """
    y = path_values_px(top, bottom, centroid, line_w_px)
    x = np.arange(len(y), dtype=np.float64)
    ok = np.isfinite(centroid)
    if ok.sum() < 3:
        return x, y
    idx = np.flatnonzero(ok)
    c, t, b = centroid[idx], top[idx], bottom[idx]
    length = b - t + 1
    inner = np.zeros(len(idx), bool)
    inner[1:-1] = True
    c_prev, c_next = np.roll(c, 1), np.roll(c, -1)
    steep = inner & (length > STEEP_RUN_LINES * line_w_px + 1) & (np.abs(y[idx] - c) < 1e-9)
    apex, nadir = _plateau_place(t), _plateau_place(-b)
    on_plateau = (apex > 0) | (nadir > 0)
    rising = steep & ((c_prev > c) & (c > c_next) & ~on_plateau | (apex == 1) | (nadir == 3))
    falling = steep & ((c_prev < c) & (c < c_next) & ~on_plateau | (apex == 3) | (nadir == 1))
    mono = rising | falling
    d = max(0.5, (line_w_px - 1.0) / 2.0)
    enter = np.where(rising, b, t)[mono]
    leave = np.where(rising, t, b)[mono]
    xs = np.concatenate([x[~np.isin(x, idx[mono])], idx[mono] - d, idx[mono] + d])
    ys = np.concatenate([y[~np.isin(x, idx[mono])], enter, leave])
    order = np.argsort(xs, kind="stable")
    return xs[order], ys[order]


def _jumps(
    t: np.ndarray, b: np.ndarray, c: np.ndarray, max_gap_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """The columns a path (top, bottom, centroid per column) holds, and the positions ``k`` in
    them where the gap between the runs of columns ``k`` and ``k + 1`` exceeds ``max_gap_px``."""
    found = np.flatnonzero(np.isfinite(c))
    i, j = found[:-1], found[1:]
    return found, np.flatnonzero(_gap_px(t[i], b[i], t[j], b[j]) > max_gap_px)


def drop_detached_ends(
    path: tuple[np.ndarray, np.ndarray, np.ndarray], max_gap_px: float, n_edge: int = 4
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A path (top, bottom, centroid per column) without the up to ``n_edge`` columns at
    either end that lie before a gap of over ``max_gap_px`` between the runs of two
    consecutive columns of the path.

    A panel's first columns may hold only header text or a label above the row (the pen's
    first pixels gone with a grid line under them): the path begins there and jumps to the
    trace, which the pen never does.
    """
    t, b, c = (a.copy() for a in path)
    found, apart = _jumps(t, b, c, max_gap_px)
    if len(found) <= 2 * n_edge + 2:
        return t, b, c
    head, tail = apart[apart < n_edge], apart[apart >= len(found) - 1 - n_edge]
    drop = [found[: head[-1] + 1]] if head.size else []
    drop += [found[tail[0] + 1 :]] if tail.size else []
    for cols in drop:
        t[cols], b[cols], c[cols] = np.nan, np.nan, np.nan
    return t, b, c


def drop_detached_specks(
    path: tuple[np.ndarray, np.ndarray, np.ndarray],
    ink: np.ndarray,
    max_gap_px: float,
    max_cols: int = 4,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A path (top, bottom, centroid per column) without the stretches of up to ``max_cols``
    columns inside it that lie over ``max_gap_px`` from the path on both sides, where the path
    resumes within ``max_gap_px`` of where it left and under half the rows between them hold
    ink (``ink``: the panel's darkness).

    A column whose trace pixels were lost (under a grid line at 100 dpi) leaves the path only a
    speck or a label far off: it jumped 100 px there and back, which the pen never does. A QRS
    apex cut from its flanks by thinning is kept: its stroke's ink joins them.
    """
    t, b, c = (a.copy() for a in path)
    found, apart = _jumps(t, b, c, max_gap_px)
    level = 0.5 * np.median(ink[np.round(c[found]).astype(int), found]) if len(found) else 0.0
    for left, right in pairwise(apart):
        before, after, stretch = found[left], found[right + 1], found[left + 1 : right + 1]
        if (
            right - left > max_cols
            or np.isnan(c[before])  # a speck dropped just before: the path left from it
            or _gap_px(t[before], b[before], t[after], b[after]) > max_gap_px
        ):
            continue
        lo = int(min(b[before], b[after], t[stretch].min()))
        hi = int(max(t[before], t[after], b[stretch].max()))
        if np.mean(ink[lo : hi + 1, before : after + 1].max(axis=1) > level) < 0.5:
            t[stretch], b[stretch], c[stretch] = np.nan, np.nan, np.nan
    return t, b, c


def extend_path(
    cols: np.ndarray,
    top: np.ndarray,
    bottom: np.ndarray,
    centroid: np.ndarray,
    path: tuple[np.ndarray, np.ndarray, np.ndarray],
    line_w_px: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continue a path (top, bottom, centroid per column) into the empty columns at its ends.

    Each step takes the run of the next column that touches the path's last run (the nearest
    centroid if several do) and stops at a gap or at a run over two line widths taller than
    the last: a separator tick or another panel's line cap merged with the trace.
    """
    t, b, c = (a.copy() for a in path)
    found = np.flatnonzero(np.isfinite(c))
    if len(found) == 0:
        return t, b, c
    starts = np.searchsorted(cols, np.arange(len(c) + 1))
    for first, step, stop in ((found[0], -1, -1), (found[-1], 1, len(c))):
        for i in range(first + step, stop, step):
            k = np.arange(starts[i], starts[i + 1])
            j = i - step
            k = k[_gap_px(t[j], b[j], top[k], bottom[k]) <= 1]
            if len(k) == 0:
                break
            k = k[np.argmin(np.abs(centroid[k] - c[j]))]
            if bottom[k] - top[k] > b[j] - t[j] + 2 * line_w_px + 2:
                break
            t[i], b[i], c[i] = top[k], bottom[k], centroid[k]
    return t, b, c


def _steep_stretches(col_y: np.ndarray) -> list[np.ndarray]:
    """Columns of each run of adjacent columns over which the path climbs (falls) steeply."""
    cols = np.flatnonzero(np.isfinite(col_y))
    dy = np.diff(col_y[cols])
    steep = (np.diff(cols) == 1) & (np.abs(dy) > ROW_READ_MIN_SLOPE)
    direction = np.where(steep, np.sign(dy), 0)
    edges = np.flatnonzero(np.diff(direction)) + 1
    starts, ends = np.r_[0, edges], np.r_[edges, len(direction)]
    return [cols[a : b + 1] for a, b in zip(starts, ends, strict=True) if b > a and direction[a]]


def refine_steep_px(
    x: np.ndarray, y: np.ndarray, col_y: np.ndarray, ink: np.ndarray, line_w_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Path points (x, y) with each steep stroke re-read row by row.

    A stroke that climbs many pixels per column is poorly timed by column runs (a column holds
    a long piece of it), but every pixel row it crosses holds a short run across it whose two
    half-darkness edges place it to a fraction of a pixel. Strokes are found on ``col_y`` (the
    path's one y per column, :func:`path_values_px`); ``ink`` is the panel's darkness and
    ``line_w_px`` the pen's full width. Near an apex the rising and falling strokes merge in
    one run: the column path says on which side the other stroke lies, and the run's outer
    edge + half the single stroke's width (measured on the panel's lone rows) places this one.
    Half a line width + 1 px below an apex or above a foot is left to the column points, as is
    any row whose reading lies over a pixel from the column path (another object). The column
    points the rows replace are dropped; x stays sorted.
    """
    stretches = _steep_stretches(col_y)
    if not stretches:
        return x, y
    margin = line_w_px / 2 + 1
    rows_l, xe_l, sid_l = [], [], []
    for i, c in enumerate(stretches):
        ys = col_y[c]
        rows = np.arange(np.ceil(ys.min() + margin), np.floor(ys.max() - margin) + 1)
        order = np.argsort(ys)
        rows_l.append(rows)
        xe_l.append(np.interp(rows, ys[order], c[order].astype(np.float64)))
        sid_l.append(np.full(len(rows), i))
    rows, xe, sid = np.concatenate(rows_l), np.concatenate(xe_l), np.concatenate(sid_l)
    reach = int(np.ceil(2 * line_w_px + 2))
    win = 2 * reach + 1
    a = np.round(xe).astype(int) - reach
    inside = (a >= 0) & (a + win <= ink.shape[1]) & (rows >= 0) & (rows < ink.shape[0])
    rows, xe, sid, a = rows[inside].astype(int), xe[inside], sid[inside], a[inside]
    if len(rows) < 2:
        return x, y
    n, idx = len(rows), np.arange(win)
    prof = ink[rows[:, None], a[:, None] + idx].astype(np.float64)
    level = 0.5 * float(np.median(prof.max(axis=1)))
    on = prof > level
    # the run of ink nearest to the column path, and its sub-pixel half-darkness edges
    k = np.where(on, np.abs(idx - (xe - a)[:, None]), np.inf).argmin(axis=1)
    left_off = np.where(~on & (idx < k[:, None]), idx, -1).max(axis=1)
    right_off = np.where(~on & (idx > k[:, None]), idx, win).min(axis=1)
    valid = on[np.arange(n), k] & (left_off >= 0) & (right_off < win)
    s0, e0 = np.clip(left_off + 1, 1, win - 1), np.clip(right_off - 1, 0, win - 2)
    inner, outer = prof[np.arange(n), s0], prof[np.arange(n), s0 - 1]
    xl = a + s0 - (inner - level) / np.maximum(inner - outer, 1e-9)
    inner, outer = prof[np.arange(n), e0], prof[np.arange(n), e0 + 1]
    xr = a + e0 + (inner - level) / np.maximum(inner - outer, 1e-9)
    width = xr - xl
    d_left, d_right = _other_crossings_px(col_y, rows, xe, reach)
    far = 2 * line_w_px + 2
    alone = valid & (d_left > far) & (d_right > far)
    stroke_w = float(np.median(width[alone])) if alone.sum() >= 3 else line_w_px
    near_l, near_r = d_left < stroke_w + 1, d_right < stroke_w + 1
    xc = np.where(near_r, xl + stroke_w / 2, np.where(near_l, xr - stroke_w / 2, 0.5 * (xl + xr)))
    good = valid & ~(near_l & near_r) & (near_l | near_r | (width <= stroke_w + 0.75))
    good &= np.abs(xc - xe) <= ROW_READ_MAX_SHIFT_PX
    rows, xc, sid = rows[good], xc[good], sid[good]
    keep = np.ones(len(x), bool)
    for i, c in enumerate(stretches):
        mine = rows[sid == i]
        if len(mine):
            covered = (y >= mine.min() - 0.5) & (y <= mine.max() + 0.5)
            keep &= ~((x > c[0] - 0.5) & (x < c[-1] + 0.5) & covered)
    xo = np.concatenate([x[keep], xc])
    yo = np.concatenate([y[keep], rows.astype(np.float64)])
    order = np.argsort(xo, kind="stable")
    return xo[order], yo[order]


def _other_crossings_px(
    col_y: np.ndarray, rows: np.ndarray, xe: np.ndarray, reach: int
) -> tuple[np.ndarray, np.ndarray]:
    """Distance (px) from each ``xe`` to the nearest other crossing of the column path with its
    row, to the left and to the right (inf where none lies within ``reach`` columns)."""
    cc = np.floor(xe).astype(int)[:, None] + np.arange(-reach, reach + 1)
    ok = (cc >= 0) & (cc + 1 < len(col_y))
    ya = np.where(ok, col_y[np.clip(cc, 0, len(col_y) - 1)], np.nan)
    yb = np.where(ok, col_y[np.clip(cc + 1, 0, len(col_y) - 1)], np.nan)
    r = rows[:, None].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        crosses = (np.fmin(ya, yb) <= r) & (np.fmax(ya, yb) >= r) & (ya != yb)
        dist = np.where(crosses, cc + (r - ya) / (yb - ya), np.nan) - xe[:, None]
    other = np.abs(dist) > 1e-6
    d_right = np.where(other & (dist > 0), dist, np.inf).min(axis=1)
    d_left = np.where(other & (dist < 0), -dist, np.inf).min(axis=1)
    return d_left, d_right
