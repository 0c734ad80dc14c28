"""Finding the sheet in a photo and flattening it: four paper edges → one homography.

A phone photo shows the page in perspective on a darker background (a desk, a bed sheet), so
rows converge and the time axis stretches across the page; de-rotating alone leaves every
sample misplaced. The page is segmented on a small copy by a marker watershed (image border =
background, image centre = paper), which follows the strong paper edge through soft shadows
where a global threshold splits the sheet. Each edge is then located to a fraction of a pixel
on the full image (strongest inward brightening along the edge's normal at many points, a
robust line fit) and the corners are the edges' intersections. The flattened page keeps the
photo's mean resolution; what perspective leaves of the aspect ratio (a few per cent) is not
fixed here: the digitizer measures the grid pitch along x and y separately.

Scans and clean renders (paper up to the image border, or a bed as light as the paper) are left
as they are: a page is flattened only when a dark background surrounds all four edges.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.ndimage import map_coordinates

from kecg.digitize.grid import channel_extremes, parabolic_offset

PAGE_MIN_AREA_FRAC = 0.2  # a sheet smaller than this share of the photo is not the page
PAGE_MAX_BACKGROUND = 0.75  # background brightness / paper brightness, at most
_SEGMENT_SIDE_PX = 600  # the watershed runs on a copy this large
_INK_CLOSE_PX = 7  # on that copy: wider than any line or character, far narrower than the sheet
_EDGE_SAMPLES = 60  # points per edge for the line fit


def find_page_corners(rgb: np.ndarray) -> np.ndarray | None:
    """Corners (4×2 float, x y: top-left, top-right, bottom-right, bottom-left) of the sheet.

    The corners are where the paper's outer edges meet (pixel centres at integer coordinates),
    so a sheet drawn over pixels 0…w-1 has its corners at -0.5 and w-0.5. None when the image
    shows no sheet on a darker background (a scan, a crop of the page).
    """
    grey = channel_extremes(rgb)[1]  # a coloured background is dark here
    scale = min(1.0, _SEGMENT_SIDE_PX / max(grey.shape))
    small = cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    coarse = _coarse_quad(small)
    if coarse is None or not _on_background(small, coarse):
        return None
    corners = _refine_edges(grey, coarse / scale)
    h, w = grey.shape
    inside = (corners >= 0.5).all() and (corners[:, 0] <= w - 1.5).all()
    return corners if inside and (corners[:, 1] <= h - 1.5).all() else None


def flatten_page(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The sheet of a photo warped to a rectangle, and the 3×3 image → flat homography.

    Returns ``(rgb, None)`` unchanged when :func:`find_page_corners` finds no sheet.
    """
    corners = find_page_corners(rgb)
    if corners is None:
        return rgb, None
    width_px = round(0.5 * (_dist(corners[0], corners[1]) + _dist(corners[3], corners[2])))
    height_px = round(0.5 * (_dist(corners[0], corners[3]) + _dist(corners[1], corners[2])))
    w, h = width_px - 0.5, height_px - 0.5
    target = np.array([(-0.5, -0.5), (w, -0.5), (w, h), (-0.5, h)], np.float32)
    homography = cv2.getPerspectiveTransform(corners.astype(np.float32), target)
    return warp_to_flat(rgb, homography, (width_px, height_px)), homography


def warp_to_flat(image: np.ndarray, homography: np.ndarray, size_px: tuple[int, int]) -> np.ndarray:
    """``image`` resampled through ``homography`` onto a ``size_px`` (width, height) canvas."""
    border = (255,) * (image.shape[2] if image.ndim == 3 else 1)
    return cv2.warpPerspective(
        image, homography, size_px, flags=cv2.INTER_LINEAR, borderValue=border
    )


def _dist(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.hypot(*(b - a)))


def _coarse_quad(small: np.ndarray) -> np.ndarray | None:
    """Four corners of the watershed's paper region on the ``small`` copy of the image, or
    None if not a quad."""
    # a closing wipes the ink (grid, traces, text) off the paper: otherwise the grid's border and
    # the trace rows wall the centre's flood in, and the background's floods the margins
    closed = cv2.morphologyEx(small, cv2.MORPH_CLOSE, np.ones((_INK_CLOSE_PX,) * 2, np.uint8))
    closed = cv2.GaussianBlur(closed, (5, 5), 0)
    sh, sw = closed.shape
    markers = np.zeros((sh, sw), np.int32)
    markers[:3], markers[-3:], markers[:, :3], markers[:, -3:] = 1, 1, 1, 1
    markers[int(0.4 * sh) : int(0.6 * sh), int(0.4 * sw) : int(0.6 * sw)] = 2
    paper = cv2.watershed(cv2.cvtColor(closed, cv2.COLOR_GRAY2BGR), markers) == 2
    contours, _ = cv2.findContours(paper.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return None
    hull = cv2.convexHull(max(contours, key=cv2.contourArea))
    if cv2.contourArea(hull) < PAGE_MIN_AREA_FRAC * sh * sw:
        return None
    quad = cv2.approxPolyDP(hull, 0.02 * cv2.arcLength(hull, True), True)
    if len(quad) != 4:
        return None
    q = quad[:, 0, :].astype(np.float64)
    centre = q.mean(axis=0)
    q = q[np.argsort(np.arctan2(q[:, 1] - centre[1], q[:, 0] - centre[0]))]  # clockwise on screen
    return np.roll(q, -int(np.argmin(q.sum(axis=1))), axis=0)  # top-left first


def _on_background(grey: np.ndarray, quad: np.ndarray) -> bool:
    """True when a band just outside every edge is clearly darker than one just inside it."""
    h, w = grey.shape
    mask = np.zeros((h, w), np.uint8)
    cv2.fillConvexPoly(mask, np.round(quad).astype(np.int32), 1)
    band = max(3, round(0.01 * max(h, w)))
    kernel = np.ones((2 * band + 1, 2 * band + 1), np.uint8)
    outside = cv2.dilate(mask, kernel).astype(bool) & ~mask.astype(bool)
    inside = mask.astype(bool) & ~cv2.erode(mask, kernel).astype(bool)
    if outside.sum() < 0.5 * inside.sum():  # the sheet runs off the photo
        return False
    return float(np.median(grey[outside])) <= PAGE_MAX_BACKGROUND * float(np.median(grey[inside]))


def _refine_edges(grey: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Sub-pixel corners: each edge refit to where the image brightens most steeply inwards."""
    g = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.0)
    reach_px = max(8.0, 0.01 * max(grey.shape))
    steps = np.arange(-reach_px, reach_px + 1e-9, 0.5)
    centre = quad.mean(axis=0)
    lines = []
    for a, b in zip(quad, np.roll(quad, -1, axis=0), strict=True):
        along = (b - a) / _dist(a, b)
        inward = np.array([-along[1], along[0]])
        inward *= np.sign(np.dot(centre - a, inward))
        pts = a + np.linspace(0.08, 0.92, _EDGE_SAMPLES)[:, None] * (b - a)
        xy = pts[:, None, :] + steps[None, :, None] * inward
        profile = map_coordinates(g, [xy[..., 1], xy[..., 0]], order=1, mode="nearest")
        slope = np.gradient(profile, axis=1)
        k = np.clip(np.argmax(slope, axis=1), 1, len(steps) - 2)
        i = np.arange(len(k))
        offset = parabolic_offset(slope[i, k - 1], slope[i, k], slope[i, k + 1])
        edge = pts + (steps[k] + 0.5 * offset)[:, None] * inward  # steps are 0.5 px
        lines.append(_robust_line(edge))
    corners = [_intersect(lines[i - 1], lines[i]) for i in range(4)]
    return np.array(corners)


def _robust_line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(point, unit direction) of a total-least-squares line, refit without far outliers.

    Outliers are edge points caught by something else (a shadow's edge, a dark trace near
    the paper's edge); up to two rounds drop points over three median deviations away.
    """
    for _ in range(2):
        mean = points.mean(axis=0)
        direction = np.linalg.svd(points - mean)[2][0]
        off = np.abs((points - mean) @ np.array([-direction[1], direction[0]]))
        keep = off <= max(0.5, 3.0 * float(np.median(off)))
        if keep.all() or keep.sum() < 5:
            return mean, direction
        points = points[keep]
    mean = points.mean(axis=0)
    return mean, np.linalg.svd(points - mean)[2][0]


def _intersect(l1: tuple[np.ndarray, np.ndarray], l2: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    (p1, d1), (p2, d2) = l1, l2
    t = np.linalg.solve(np.array([d1, -d2]).T, p2 - p1)
    return p1 + t[0] * d1
