"""Scan and photo degradations of a rendered ECG page, with the exact page-to-image map.

Each mode takes the clean page (uint8, BGR or grey) and returns the degraded image, the 3×3
homography ``page_to_image`` (homogeneous page pixel → image pixel, pixel centres at integer
coordinates as in OpenCV) and the in-plane rotation in degrees (positive = counter-clockwise as
seen in the image, the OpenCV convention). Photometric changes (light, shadow, noise, blur) do
not move anything, so the homography stays exact. All random choices come from ``rng``; pixel
noise uses OpenCV's generator seeded from ``rng`` because drawing millions of normals in numpy
would dominate the cost per image.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

ARTIFACTS: tuple[str, ...] = ("clean", "scan", "photo")
JPEG_QUALITY: dict[str, int] = {"scan": 55, "photo": 60}
_FIELD_CELLS = 48
_UNIT_GAIN = 224  # gain-map value that leaves a pixel unchanged (headroom for grain above it)


def apply_artifacts(
    page: np.ndarray, artifacts: str, rng: np.random.Generator, px_per_mm: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """Degrade ``page`` (drawn at ``px_per_mm``) as ``artifacts`` ("clean", "scan", "photo") says.

    Returns (image, page_to_image 3×3 float64, rotation_deg).
    """
    if artifacts == "clean":
        return page, np.eye(3), 0.0
    if artifacts == "scan":
        return scan(page, rng, px_per_mm)
    if artifacts == "photo":
        return photo(page, rng, px_per_mm)
    raise ValueError(f"artifacts must be one of {ARTIFACTS}, got {artifacts!r}")


def scan(
    page: np.ndarray, rng: np.random.Generator, px_per_mm: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """A flatbed scan: rotation up to ±3° on a slightly larger bed, uneven light, noise, blur."""
    h, w = page.shape[:2]
    angle_deg = rng.uniform(-3.0, 3.0)
    rot = np.vstack((cv2.getRotationMatrix2D((w / 2.0, h / 2.0), angle_deg, 1.0), (0, 0, 1)))
    pad_px = rng.uniform(0.004, 0.02, size=2) * max(h, w)
    matrix, size = _fit_canvas(rot, w, h, pad_px)
    bed = int(rng.integers(225, 256))
    image = cv2.warpAffine(
        page, matrix[:2], size, flags=cv2.INTER_LINEAR, borderValue=(bed, bed, bed)
    )
    image = _photometric(
        image,
        rng,
        light_depth=rng.uniform(0.03, 0.12),
        shadow_depth=0.0,
        noise_sigma=rng.uniform(1.0, 2.5),
        blur_px=rng.uniform(0.12, 0.18) * px_per_mm,
    )
    return image, matrix, float(angle_deg)


def photo(
    page: np.ndarray, rng: np.random.Generator, px_per_mm: float
) -> tuple[np.ndarray, np.ndarray, float]:
    """A phone photo: perspective, rotation, background, shadow, colour cast, noise, blur."""
    h, w = page.shape[:2]
    src = np.array([(0, 0), (w - 1, 0), (w - 1, h - 1), (0, h - 1)], np.float64)
    scale = rng.uniform(0.8, 1.0)
    angle_rad = np.deg2rad(rng.uniform(-5.0, 5.0))
    rot = np.array(
        [[np.cos(angle_rad), np.sin(angle_rad)], [-np.sin(angle_rad), np.cos(angle_rad)]]
    )
    centre = np.array([w / 2.0, h / 2.0])
    jitter = rng.uniform(-0.035, 0.035, size=(4, 2)) * (w, h)
    dst = (src - centre + jitter) @ rot.T * scale + centre
    persp = cv2.getPerspectiveTransform(src.astype(np.float32), dst.astype(np.float32))
    pad_px = rng.uniform(0.02, 0.06, size=2) * max(h, w) * scale
    matrix, size = _fit_canvas(persp, w, h, pad_px)
    table = tuple(int(c) for c in rng.integers(30, 140, size=3))
    image = cv2.warpPerspective(page, matrix, size, flags=cv2.INTER_LINEAR, borderValue=table)
    image = _photometric(
        image,
        rng,
        light_depth=rng.uniform(0.1, 0.3),
        shadow_depth=rng.uniform(0.15, 0.45),
        noise_sigma=rng.uniform(2.0, 5.0),
        blur_px=rng.uniform(0.12, 0.22) * px_per_mm * scale,
    )
    if image.ndim == 3:
        gains = 1.0 - rng.uniform(0.0, 0.12, size=3)
        levels = np.arange(256.0)[:, None] * gains
        lut = np.clip(np.round(levels), 0, 255).astype(np.uint8).reshape(256, 1, 3)
        image = cv2.LUT(image, lut)
    return image, matrix, _rotation_deg(matrix, w, h)


def _fit_canvas(
    matrix: np.ndarray, w: int, h: int, pad_px: np.ndarray
) -> tuple[np.ndarray, tuple[int, int]]:
    """Shift ``matrix`` so the mapped page sits ``pad_px`` (x, y) inside a canvas that holds it."""
    corners = np.array([(0, 0, 1), (w - 1, 0, 1), (w - 1, h - 1, 1), (0, h - 1, 1)], np.float64)
    mapped = corners @ matrix.T
    mapped = mapped[:, :2] / mapped[:, 2:]
    lo, hi = mapped.min(axis=0), mapped.max(axis=0)
    shift = np.array([[1, 0, pad_px[0] - lo[0]], [0, 1, pad_px[1] - lo[1]], [0, 0, 1]])
    size = np.ceil(hi - lo + 2 * pad_px).astype(int) + 1
    return shift @ matrix, (int(size[0]), int(size[1]))


def _rotation_deg(matrix: np.ndarray, w: int, h: int) -> float:
    """In-plane rotation of the page's x axis at the page centre (counter-clockwise positive)."""
    pts = np.array([(w / 2.0, h / 2.0, 1.0), (w / 2.0 + 1.0, h / 2.0, 1.0)]) @ matrix.T
    pts = pts[:, :2] / pts[:, 2:]
    dx, dy = pts[1] - pts[0]
    return float(-np.degrees(np.arctan2(dy, dx)))


def _photometric(
    image: np.ndarray,
    rng: np.random.Generator,
    light_depth: float,
    shadow_depth: float,
    noise_sigma: float,
    blur_px: float,
) -> np.ndarray:
    """Uneven light (and a soft shadow) with sensor grain as one gain map, then optical blur.

    The gain acts on all channels alike, so it multiplies the (H, W·C) view of the image: one
    full-size single-channel pass for light and noise together.
    """
    h, w = image.shape[:2]
    flat = image.reshape(h, -1)
    gain = _gain_map(h, w, rng, light_depth, shadow_depth, noise_sigma)
    gain = cv2.resize(gain, (flat.shape[1], h), interpolation=cv2.INTER_NEAREST)
    flat = cv2.multiply(flat, gain, scale=1.0 / _UNIT_GAIN)
    k = 2 * math.ceil(2.0 * blur_px) + 1  # ±2σ: a third cheaper than OpenCV's ±3σ default
    return cv2.GaussianBlur(flat.reshape(image.shape), (k, k), blur_px)


def _gain_map(
    h: int,
    w: int,
    rng: np.random.Generator,
    depth: float,
    shadow_depth: float,
    noise_sigma: float,
) -> np.ndarray:
    """Multiplicative gain at half resolution (uint8, ``_UNIT_GAIN`` = unchanged).

    Smooth light (a gradient, blotches, a soft-edged shadow) built on a coarse grid, plus grey
    sensor grain in 2×2 px cells drawn with OpenCV's generator seeded from ``rng`` (millions of
    numpy normals per image would cost more than drawing the whole page).
    """
    gh = max(2, round(_FIELD_CELLS * h / max(h, w)))
    gw = max(2, round(_FIELD_CELLS * w / max(h, w)))
    yy, xx = np.mgrid[0:gh, 0:gw] / (_FIELD_CELLS - 1.0)
    gx, gy = rng.uniform(-1.0, 1.0, size=2)
    field = 1.0 - depth * (0.5 + 0.5 * (gx * (xx - 0.5) + gy * (yy - 0.5)))
    blotches = cv2.GaussianBlur(rng.uniform(-1.0, 1.0, size=(gh, gw)), (0, 0), _FIELD_CELLS / 8)
    field -= 0.5 * depth * blotches / (np.abs(blotches).max() + 1e-9)
    if shadow_depth > 0:
        theta = rng.uniform(0.0, 2 * np.pi)
        offset = rng.uniform(-0.3, 0.3)
        dist = (xx - 0.5) * np.cos(theta) + (yy - 0.5) * np.sin(theta) - offset
        field *= 1.0 - shadow_depth / (1.0 + np.exp(-dist / rng.uniform(0.01, 0.06)))
    half = ((w + 1) // 2, (h + 1) // 2)
    gain = cv2.resize((field * _UNIT_GAIN).astype(np.float32), half, interpolation=cv2.INTER_LINEAR)
    grain = np.empty_like(gain)
    cv2.setRNGSeed(int(rng.integers(2**31 - 1)))
    cv2.randn(grain, 0.0, noise_sigma * _UNIT_GAIN / 255.0)
    return np.clip(np.round(gain + grain), 0, 255).astype(np.uint8)
