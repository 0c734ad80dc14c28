"""Print a 12-lead ECG as a paper-ECG image with its true geometry (the image sidecar).

The page is drawn in its own pixel frame at ``dpi``: a grid of 1 mm / 5 mm squares, a header of
invented patient and device text, calibration pulses, lead labels and the traces at 25 mm/s and
10 mm/mV (5 mm/mV on some pages, mostly those with tall complexes, as auto-gain carts print
them) in a 3×4 layout plus one ("3x4+1": II) or three ("3x4+3": V1, II, V5) 10 s rhythm strips,
or in 6×2 (limb leads 0–5 s left, V1–V6 5–10 s right) or 12×1 (every lead over 10 s, on a taller
roll-paper page so that the 12 rows sit 20 mm apart). Column k of the 3×4 shows 2.5k–2.5(k+1) s.
Traces are not clipped at their panel box, so large complexes overlap the neighbouring rows as on
real printouts. Scan and photo degradations (``kecg.synth.artifacts``) then move the page into
the image; ``page_to_image`` records that map.
Every random choice comes from the ``rng`` passed in, so one rng state gives one byte-exact image.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import cv2
import numpy as np
from scipy.signal import find_peaks

from kecg.io.records import LEADS
from kecg.synth.artifacts import ARTIFACTS, JPEG_QUALITY, apply_artifacts
from kecg.synth.noise import DEVICE_FILTERS_HZ

PAPER_SPEED_MM_S = 25.0
GAIN_MM_MV = 10.0
HALF_GAIN_MM_MV = 5.0
HALF_GAIN_SHARE = (0.04, 0.5)  # pages printed at 5 mm/mV: normal voltages, any lead ≥ 3.5 mV p-p
TALL_PTP_MV = 3.5
DURATION_S = 10.0
COLUMN_S = 2.5
MINOR_MM = 1.0
MAJOR_MM = 5.0
CAL_PULSE_S = 0.2
CAL_REGION_MM = 10.0
CAL_LEAD_IN_MM = 2.0
POLY_TOLERANCE_PX = 0.1
PNG_PARAMS = [
    cv2.IMWRITE_PNG_COMPRESSION, 3, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_FILTERED
]  # fmt: skip

ROWS_3X4: tuple[tuple[str, ...], ...] = (
    ("I", "aVR", "V1", "V4"),
    ("II", "aVL", "V2", "V5"),
    ("III", "aVF", "V3", "V6"),
)
STRIPS: dict[str, tuple[str, ...]] = {"3x4+1": ("II",), "3x4+3": ("V1", "II", "V5")}
ROWS_6X2: tuple[tuple[str, ...], ...] = tuple(zip(LEADS[:6], LEADS[6:], strict=True))
LAYOUTS: tuple[str, ...] = (*STRIPS, "6x2", "12x1")
MIXED_LAYOUTS: dict[str, float] = {"3x4+1": 0.6, "3x4+3": 0.4}  # drawn when none is requested
ROW_PITCH_12X1_MM = 20.0

# grid colour name -> (minor line BGR, major line BGR); "bw" pages are returned in greyscale
GRID_COLORS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]] | None] = {
    "red": ((200, 200, 255), (110, 110, 235)),
    "pink": ((225, 212, 255), (185, 160, 250)),
    "orange": ((190, 222, 255), (90, 160, 245)),
    "green": ((205, 235, 205), (120, 195, 120)),
    "blue": ((250, 225, 205), (225, 165, 120)),
    "grey": ((215, 215, 215), (150, 150, 150)),
    "bw": ((205, 205, 205), (140, 140, 140)),
    "none": None,
}
_GRID_WEIGHTS = (0.26, 0.22, 0.06, 0.10, 0.10, 0.10, 0.10, 0.06)
_TRACE_COLORS = ((15, 15, 15), (0, 0, 0), (110, 35, 10), (90, 20, 20))
_FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_COMPLEX_SMALL,
)
_PAPERS_MM = {"A4": (297.0, 210.0), "letter": (279.4, 215.9)}
_SYLLABLES = (
    "ka", "ro", "len", "mi", "ta", "vor", "sel", "da", "ni", "bru", "fen", "lo", "mar", "tis",
    "qua", "ber", "zo", "el", "an", "dri", "ko", "sa", "vel", "un", "ria", "pet", "gor", "ly",
)  # fmt: skip
_DEVICES = (
    "Kestrel ECG-12",
    "Corvus CardioPrint 3",
    "Meridian EKG 500",
    "Halcyon HX-12",
    "Vireo 1200",
    "Altair Cardio S",
)


def render_ecg(
    signal_mv: np.ndarray,
    fs_hz: float,
    *,
    rng: np.random.Generator,
    layout: str | None = None,
    dpi: int | None = None,
    gain_mm_mv: float | None = None,
    artifacts: str = "clean",
    pulse_at_end: bool = False,
    filter_hz: tuple[float, float] | None = None,
    mains_hz: float | None = None,
) -> tuple[np.ndarray, dict]:
    """Print a 10 s 12-lead ECG (``signal_mv`` (n_samples, 12), ``LEADS`` order) as an image.

    Returns the image (uint8 BGR (H, W, 3), or greyscale (H, W) for black-and-white copies) and
    its sidecar dict per docs/data-formats.md, without ``ecg_id`` and ``image``. ``layout``,
    ``dpi`` and ``gain_mm_mv`` (10 or 5) are drawn from ``rng`` when None. ``pulse_at_end`` prints
    the calibration pulses after the traces, as some carts do, instead of before them (our
    cohort never does: it checks the digitizer on a convention it was not tuned to). The footer
    names the recorder's band-pass ``filter_hz`` (high-pass, low-pass) and mains notch
    ``mains_hz``, those the signal went through (drawn from ``rng`` when None: the footer then
    only looks like one). NaN samples (leads not recorded) are left blank.
    """
    signal_mv = np.asarray(signal_mv, dtype=np.float64)
    if not fs_hz > 0:
        raise ValueError(f"fs_hz must be positive, got {fs_hz}")
    if signal_mv.ndim != 2 or signal_mv.shape[1] != len(LEADS):
        raise ValueError(f"signal_mv must be (n_samples, {len(LEADS)}), got {signal_mv.shape}")
    if signal_mv.shape[0] < round(DURATION_S * fs_hz):
        raise ValueError(
            f"signal_mv holds {signal_mv.shape[0] / fs_hz:.2f} s, the printout needs {DURATION_S} s"
        )
    if artifacts not in ARTIFACTS:
        raise ValueError(f"artifacts must be one of {ARTIFACTS}, got {artifacts!r}")
    if layout is None:
        layout = str(rng.choice(list(MIXED_LAYOUTS), p=list(MIXED_LAYOUTS.values())))
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if dpi is None:
        # 100–300 dpi, weighted to the low end (median 150) like office scans; keeps files small.
        dpi = round(100.0 + 200.0 * rng.random() ** 2)
    if not 50 <= dpi <= 600:
        raise ValueError(f"dpi must be within 50–600, got {dpi}")

    if gain_mm_mv is None:
        tall = bool(np.nanmax(np.ptp(signal_mv, axis=0)) >= TALL_PTP_MV)
        half = rng.random() < HALF_GAIN_SHARE[int(tall)]
        gain_mm_mv = HALF_GAIN_MM_MV if half else GAIN_MM_MV
    if not 1.0 <= gain_mm_mv <= 40.0:
        raise ValueError(f"gain_mm_mv must be within 1–40, got {gain_mm_mv}")

    px_per_mm = dpi / 25.4
    style = _draw_style(rng, px_per_mm)
    style["gain_mm_mv"] = float(gain_mm_mv)
    geometry = _page_geometry(rng, layout, px_per_mm, pulse_at_end)
    page_w_px, page_h_px = geometry["page_size_px"]

    page = np.full((page_h_px, page_w_px, 3), style["paper_level"], np.uint8)
    if style["grid_colors"] is not None:
        _draw_grid(page, geometry["grid_rect_px"], geometry["grid_origin_px"], px_per_mm, style)
    filter_hz, mains_hz = _draw_header(
        page, rng, signal_mv, fs_hz, geometry, style, px_per_mm, filter_hz, mains_hz
    )
    for cal in geometry["calibration"]:
        _draw_calibration(page, cal, px_per_mm, style)
    for panel in geometry["panels"]:
        _draw_trace(page, signal_mv[:, LEADS.index(panel["lead"])], fs_hz, panel, px_per_mm, style)
        _draw_label(page, panel, px_per_mm, style)
    if style["separators"]:
        _draw_separators(page, geometry["panels"], px_per_mm, style)
    if style["grid_name"] == "bw":
        page = cv2.cvtColor(page, cv2.COLOR_BGR2GRAY)

    image, page_to_image, rotation_deg = apply_artifacts(page, artifacts, rng, px_per_mm)
    sidecar = {
        "dpi": int(dpi),
        "px_per_mm": round(px_per_mm, 6),
        "paper_speed_mm_s": PAPER_SPEED_MM_S,
        "gain_mm_mv": float(gain_mm_mv),
        "trace_width_px": int(style["trace_w_px"]),
        "separators": style["separators"],
        "layout": layout,
        "artifacts": artifacts,
        "rotation_deg": round(float(rotation_deg), 6),
        "page_size_px": [int(page_w_px), int(page_h_px)],
        "image_size_px": [int(image.shape[1]), int(image.shape[0])],
        "page_to_image": [[float(v) for v in row] for row in page_to_image],
        "grid": {
            "color": style["grid_name"],
            "minor_mm": MINOR_MM,
            "major_mm": MAJOR_MM,
            "origin_px": [round(float(v), 4) for v in geometry["grid_origin_px"]],
        },
        "panels": geometry["panels"],
        "calibration": geometry["calibration"],
        "filter_hz": [float(filter_hz[0]), float(filter_hz[1])],
        "mains_hz": float(mains_hz),
    }
    return image, sidecar


def save_image(path_without_suffix: Path, image: np.ndarray, artifacts: str) -> Path:
    """Write the image as PNG (clean, lossless) or JPEG (scan/photo, fixed quality per mode).

    Returns the written path (``.png`` or ``.jpg`` appended to the given name).
    """
    path_without_suffix = Path(path_without_suffix)
    if artifacts == "clean":
        path = path_without_suffix.with_name(path_without_suffix.name + ".png")
        ok, buf = cv2.imencode(".png", image, PNG_PARAMS)
    elif artifacts in JPEG_QUALITY:
        path = path_without_suffix.with_name(path_without_suffix.name + ".jpg")
        quality = JPEG_QUALITY[artifacts]
        ok, buf = cv2.imencode(
            ".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality, cv2.IMWRITE_JPEG_OPTIMIZE, 1]
        )
    else:
        raise ValueError(f"artifacts must be one of {ARTIFACTS}, got {artifacts!r}")
    if not ok:
        raise OSError(f"{path}: image encoding failed (shape {image.shape}, dtype {image.dtype})")
    path.write_bytes(buf.tobytes())
    return path


def _draw_style(rng: np.random.Generator, px_per_mm: float) -> dict:
    """Draw the printer's look: grid colour and weights, trace colour and width, fonts."""
    grid_name = str(rng.choice(list(GRID_COLORS), p=_GRID_WEIGHTS))
    colors = GRID_COLORS[grid_name]
    if colors is not None:
        jitter = rng.integers(-12, 13, size=3)
        colors = tuple(tuple(int(v) for v in np.clip(np.add(c, jitter), 0, 255)) for c in colors)
    paper_level = 255 - int(rng.integers(0, 8)) if rng.random() < 0.5 else 255
    minor_w_px = max(1.0, rng.uniform(0.05, 0.14) * px_per_mm)
    major_w_px = max(minor_w_px, rng.uniform(0.12, 0.32) * px_per_mm)
    trace_bgr = (0, 0, 0) if grid_name == "bw" else _TRACE_COLORS[rng.integers(len(_TRACE_COLORS))]
    return {
        "px_per_mm": px_per_mm,
        "grid_name": grid_name,
        "grid_colors": colors,
        "minor_w_px": minor_w_px,
        "major_w_px": major_w_px,
        "paper_level": paper_level,
        "trace_bgr": tuple(int(c) for c in trace_bgr),
        "trace_w_px": max(1, round(rng.uniform(0.2, 0.4) * px_per_mm)),
        "text_bgr": (20, 20, 20) if rng.random() < 0.7 else trace_bgr,
        "font": _FONTS[rng.integers(len(_FONTS))],
        "label_font": _FONTS[rng.integers(len(_FONTS))],
        "text_h_mm": rng.uniform(2.0, 3.0),
        "label_h_mm": rng.uniform(2.5, 3.8),
        "label_up_mm": rng.uniform(4.0, 9.0),
        "separators": bool(rng.random() < 0.5),
    }


def layout_rows(layout: str) -> list[list[tuple[str, int, float, float]]]:
    """The panels of each printed row, top to bottom: (lead, column, t_start_s, t_end_s)."""
    if layout in STRIPS:
        grid = [[(lead, col, col * COLUMN_S, (col + 1) * COLUMN_S) for col, lead in enumerate(row)]
                for row in ROWS_3X4]  # fmt: skip
        return grid + [[(lead, 0, 0.0, DURATION_S)] for lead in STRIPS[layout]]
    if layout == "6x2":
        half_s = DURATION_S / 2
        return [
            [(left, 0, 0.0, half_s), (right, 1, half_s, DURATION_S)] for left, right in ROWS_6X2
        ]
    if layout == "12x1":
        return [[(lead, 0, 0.0, DURATION_S)] for lead in LEADS]
    raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")


def _page_geometry(
    rng: np.random.Generator, layout: str, px_per_mm: float, pulse_at_end: bool = False
) -> dict:
    """Place the grid, rows, panels and calibration pulses on a page; returns page-pixel boxes.

    The pulse region (``CAL_REGION_MM``) precedes the traces, or follows them ``pulse_at_end``.

    12×1 keeps the paper's width but is as tall as 12 rows ``ROW_PITCH_12X1_MM`` apart need.
    """
    paper = "A4" if rng.random() < 0.6 else "letter"
    page_w_mm, page_h_mm = _PAPERS_MM[paper]
    rows = layout_rows(layout)
    n_rows = len(rows)
    content_w_mm = CAL_REGION_MM + DURATION_S * PAPER_SPEED_MM_S

    margin_l_mm = float(rng.uniform(3.0, 8.0))
    margin_r_mm = float(rng.uniform(3.0, 8.0))
    free_mm = page_w_mm - margin_l_mm - margin_r_mm - content_w_mm
    content_x0_mm = margin_l_mm + MAJOR_MM * int(rng.integers(0, int(free_mm // MAJOR_MM) + 1))
    header_mm = float(rng.uniform(20.0, 30.0))
    footer_mm = float(rng.uniform(8.0, 12.0))
    if layout == "12x1":
        page_h_mm = float(math.ceil(header_mm + n_rows * ROW_PITCH_12X1_MM + footer_mm))
    grid_h_mm = page_h_mm - header_mm - footer_mm
    row_pitch_mm = MAJOR_MM * math.floor(grid_h_mm / n_rows / MAJOR_MM)
    first_baseline_mm = header_mm + MAJOR_MM * math.ceil(row_pitch_mm / 2 / MAJOR_MM)

    px = px_per_mm
    panels, calibration = [], []
    for row, spans in enumerate(rows):
        baseline_mm = first_baseline_mm + row * row_pitch_mm
        top_mm, bottom_mm = baseline_mm - row_pitch_mm / 2, baseline_mm + row_pitch_mm / 2
        if pulse_at_end:
            cal_x0_mm = content_x0_mm + DURATION_S * PAPER_SPEED_MM_S + 2 * CAL_LEAD_IN_MM
        else:
            cal_x0_mm = content_x0_mm + CAL_LEAD_IN_MM
        trace_x0_mm = content_x0_mm + (0.0 if pulse_at_end else CAL_REGION_MM)
        calibration.append(
            {
                "row": row,
                "x_start_px": round(cal_x0_mm * px, 4),
                "x_end_px": round((cal_x0_mm + CAL_PULSE_S * PAPER_SPEED_MM_S) * px, 4),
                "baseline_y_px": round(baseline_mm * px, 4),
            }
        )
        for lead, col, t0, t1 in spans:
            x0_mm = trace_x0_mm + t0 * PAPER_SPEED_MM_S
            x1_mm = trace_x0_mm + t1 * PAPER_SPEED_MM_S
            panels.append(
                {
                    "lead": lead,
                    "row": row,
                    "col": col,
                    "t_start_s": t0,
                    "t_end_s": t1,
                    "x_start_px": round(x0_mm * px, 4),
                    "x_end_px": round(x1_mm * px, 4),
                    "baseline_y_px": round(baseline_mm * px, 4),
                    "box_px": [round(v * px, 4) for v in (x0_mm, top_mm, x1_mm, bottom_mm)],
                }
            )
    grid_bottom_mm = first_baseline_mm + (n_rows - 0.5) * row_pitch_mm
    grid_rect_mm = (margin_l_mm, header_mm, page_w_mm - margin_r_mm, grid_bottom_mm)
    return {
        "page_size_px": (round(page_w_mm * px), round(page_h_mm * px)),
        "grid_rect_px": tuple(round(v * px) for v in grid_rect_mm),
        "grid_origin_px": (content_x0_mm * px, header_mm * px),
        "header_mm": header_mm,
        "margin_l_mm": margin_l_mm,
        "footer_y_mm": min(page_h_mm - 3.0, grid_bottom_mm + 5.0),
        "panels": panels,
        "calibration": calibration,
    }


def _line_positions_px(
    lo_px: int, hi_px: int, origin_px: float, pitch_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Centres (float px) of the grid lines at ``origin + k·pitch`` in [lo, hi), and their k."""
    k = np.arange(np.ceil((lo_px - origin_px) / pitch_px), np.floor((hi_px - origin_px) / pitch_px))
    return origin_px + k * pitch_px, k.astype(np.int64)


def _coverage(
    centres_px: np.ndarray, width_px: float, lo: int, hi: int
) -> tuple[np.ndarray, np.ndarray]:
    """Pixels in [lo, hi) touched by ``width_px``-wide lines at ``centres_px``, and how much.

    Pixel ``i`` spans [i - 0.5, i + 0.5]; its share of a line is the overlap of that span with
    [c - w/2, c + w/2]. A line is thus printed at its true sub-pixel place, as a printer that
    anti-aliases (or a print that is scanned) shows it, not moved to whole pixels.
    """
    half = width_px / 2.0
    idx = np.floor(centres_px - half + 0.5).astype(np.int64)[:, None] + np.arange(
        int(np.ceil(width_px)) + 2
    )
    c = centres_px[:, None]
    share = np.clip(np.minimum(idx + 0.5, c + half) - np.maximum(idx - 0.5, c - half), 0.0, 1.0)
    keep = (share > 0) & (idx >= lo) & (idx < hi)
    return idx[keep] - lo, share[keep]


def _blend(dst: np.ndarray, bgr: tuple, share: np.ndarray) -> np.ndarray:
    """``dst`` covered by ink of colour ``bgr`` over a fraction ``share`` (broadcast)."""
    return np.round(dst * (1.0 - share) + np.asarray(bgr, np.float64) * share).astype(np.uint8)


def _draw_grid(
    page: np.ndarray,
    rect_px: tuple[int, int, int, int],
    origin_px: tuple[float, float],
    px_per_mm: float,
    style: dict,
) -> None:
    """Draw the 1 mm / 5 mm grid by array slicing (fast, exact pitch, no drift).

    One pixel row with the vertical lines is copied down the grid, then the horizontal lines are
    laid over it, and the major vertical lines are laid again where minor horizontals crossed them.
    """
    x0, y0, x1, y1 = rect_px
    minor_bgr, major_bgr = style["grid_colors"]
    minor_w, major_w = style["minor_w_px"], style["major_w_px"]
    xs, kx = _line_positions_px(x0, x1, origin_px[0], px_per_mm * MINOR_MM)
    ys, ky = _line_positions_px(y0, y1, origin_px[1], px_per_mm * MINOR_MM)
    per_major = round(MAJOR_MM / MINOR_MM)
    cols_minor, a_minor = _coverage(xs[kx % per_major != 0], minor_w, x0, x1)
    cols_major, a_major = _coverage(xs[kx % per_major == 0], major_w, x0, x1)
    row = page[y0, x0:x1].copy()
    row[cols_minor] = _blend(row[cols_minor], minor_bgr, a_minor[:, None])
    row[cols_major] = _blend(row[cols_major], major_bgr, a_major[:, None])
    grid = page[y0:y1, x0:x1]
    grid[:] = row
    rows_minor, b_minor = _coverage(ys[ky % per_major != 0], minor_w, y0, y1)
    grid[rows_minor] = _blend(grid[rows_minor], minor_bgr, b_minor[:, None, None])
    cross = np.ix_(rows_minor, cols_major)
    grid[cross] = _blend(grid[cross], major_bgr, a_major[None, :, None])
    rows_major, b_major = _coverage(ys[ky % per_major == 0], major_w, y0, y1)
    grid[rows_major] = _blend(grid[rows_major], major_bgr, b_major[:, None, None])


def _poly(page: np.ndarray, points_px: np.ndarray, bgr: tuple, width_px: int) -> None:
    """Anti-aliased open polyline through float page points (1/16 px sub-pixel precision).

    Points that lie within ``POLY_TOLERANCE_PX`` of the line through their neighbours are
    dropped first (Douglas-Peucker): the drawn line is the same, at a fraction of the cost.
    """
    pts = np.round(points_px * 16.0).astype(np.int32).reshape(-1, 1, 2)
    pts = cv2.approxPolyDP(pts, POLY_TOLERANCE_PX * 16.0, False)
    cv2.polylines(page, [pts], False, bgr, width_px, cv2.LINE_AA, shift=4)


def _draw_trace(
    page: np.ndarray, lead_mv: np.ndarray, fs_hz: float, panel: dict, px_per_mm: float, style: dict
) -> None:
    """Draw one panel's samples in [t_start, t_end) without clipping at the panel box."""
    i0, i1 = round(panel["t_start_s"] * fs_hz), round(panel["t_end_s"] * fs_hz)
    t_s = np.arange(i0, i1) / fs_hz
    x = panel["x_start_px"] + (t_s - panel["t_start_s"]) * PAPER_SPEED_MM_S * px_per_mm
    y = panel["baseline_y_px"] - lead_mv[i0:i1] * style["gain_mm_mv"] * px_per_mm
    y = np.clip(y, -page.shape[0], 2 * page.shape[0])
    finite = np.isfinite(y)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.view(np.int8), [0]))))
    for a, b in zip(edges[::2], edges[1::2], strict=True):
        if b - a >= 2:
            _poly(page, np.column_stack((x[a:b], y[a:b])), style["trace_bgr"], style["trace_w_px"])


def _draw_calibration(page: np.ndarray, cal: dict, px_per_mm: float, style: dict) -> None:
    """A 1 mV, 200 ms calibration pulse on the row baseline, with short flat lead-in/out."""
    x_a, x_b, y = cal["x_start_px"], cal["x_end_px"], cal["baseline_y_px"]
    lead_px = CAL_LEAD_IN_MM * px_per_mm
    top = y - style["gain_mm_mv"] * px_per_mm
    pts = np.array(
        [(x_a - lead_px, y), (x_a, y), (x_a, top), (x_b, top), (x_b, y), (x_b + lead_px, y)]
    )
    _poly(page, pts, style["trace_bgr"], style["trace_w_px"])


@functools.cache
def _font_cap_px(font: int) -> int:
    """Height in px of a capital letter at font scale 1 (to size text in mm)."""
    return cv2.getTextSize("H", font, 1.0, 1)[0][1]


def _put_text(
    page: np.ndarray, text: str, x_px: float, y_px: float, h_mm: float, font: int, style: dict
) -> None:
    """Write ``text`` with its baseline-left corner at (x, y) and capitals ``h_mm`` high."""
    h_px = h_mm * style["px_per_mm"]
    scale = h_px / _font_cap_px(font)
    thickness = max(1, round(h_px / 11))
    org = (round(x_px), round(y_px))
    cv2.putText(page, text, org, font, scale, style["text_bgr"], thickness, cv2.LINE_AA)


def _draw_label(page: np.ndarray, panel: dict, px_per_mm: float, style: dict) -> None:
    """Lead name above the start of the panel's trace."""
    x = panel["x_start_px"] + 1.0 * px_per_mm
    y = panel["baseline_y_px"] - style["label_up_mm"] * px_per_mm
    _put_text(page, panel["lead"], x, y, style["label_h_mm"], style["label_font"], style)


def _draw_separators(page: np.ndarray, panels: list[dict], px_per_mm: float, style: dict) -> None:
    """Short vertical ticks at the column boundaries, as many printers mark them."""
    for panel in panels:
        if panel["col"] > 0:
            x, y = panel["x_start_px"], panel["baseline_y_px"]
            pts = np.array([(x, y - 2.5 * px_per_mm), (x, y + 2.5 * px_per_mm)])
            _poly(page, pts, style["trace_bgr"], style["trace_w_px"])


def _heart_rate_bpm(signal_mv: np.ndarray, fs_hz: float) -> int | None:
    """Rough ventricular rate from the R-peaks of the leads' summed slope (for the header)."""
    n = round(DURATION_S * fs_hz)
    slope = np.nansum(np.abs(np.diff(signal_mv[:n], axis=0)), axis=1)
    if not np.any(slope > 0):
        return None
    peaks, _ = find_peaks(slope, height=0.4 * slope.max(), distance=max(1, round(0.25 * fs_hz)))
    if len(peaks) < 2:
        return None
    return round(60.0 * fs_hz / np.median(np.diff(peaks)))


def _invented_name(rng: np.random.Generator) -> str:
    """A made-up name from random syllables (never a real patient)."""

    def word() -> str:
        return "".join(rng.choice(_SYLLABLES, size=rng.integers(2, 4))).capitalize()

    return f"{word().upper()}, {word()}"


def _draw_header(
    page: np.ndarray,
    rng: np.random.Generator,
    signal_mv: np.ndarray,
    fs_hz: float,
    geometry: dict,
    style: dict,
    px_per_mm: float,
    filter_hz: tuple[float, float] | None,
    mains_hz: float | None,
) -> tuple[tuple[float, float], float]:
    """Header (invented patient, date, device, measurements) and the footer scale line.

    Returns the footer's filters (``filter_hz``, ``mains_hz``; drawn here when None).
    """
    rate = _heart_rate_bpm(signal_mv, fs_hz)
    rate_text = f"Vent rate {rate} bpm" if rate is not None else "Vent rate --- bpm"
    pr, qrs = int(rng.integers(120, 220)), int(rng.integers(76, 120))
    qt = int(rng.integers(340, 460))
    qtc = round(qt / np.sqrt(60.0 / rate)) if rate else qt
    year, month, day = (
        int(rng.integers(2012, 2026)),
        int(rng.integers(1, 13)),
        int(rng.integers(1, 29)),
    )
    hour, minute = int(rng.integers(0, 24)), int(rng.integers(0, 60))
    device = _DEVICES[rng.integers(len(_DEVICES))]
    if filter_hz is None:
        filter_hz = DEVICE_FILTERS_HZ[rng.integers(len(DEVICE_FILTERS_HZ))]
    if mains_hz is None:
        mains_hz = 50.0 if rng.random() < 0.5 else 60.0
    lines = [
        f"{_invented_name(rng)}   ID: {rng.integers(10**7, 10**8)}   "
        f"{year}-{month:02d}-{day:02d} {hour:02d}:{minute:02d}",
        f"{rng.integers(18, 95)} yr   {'Male' if rng.random() < 0.5 else 'Female'}   {rate_text}   "
        f"PR {pr} ms   QRS {qrs} ms   QT/QTc {qt}/{qtc} ms",
        f"P-R-T axes {rng.integers(-30, 90)} {rng.integers(-60, 110)} {rng.integers(-30, 90)}   "
        f"Unconfirmed report",
    ]
    h_mm = style["text_h_mm"]
    x = (geometry["margin_l_mm"] + 2.0) * px_per_mm
    line_mm = min(1.8 * h_mm, (geometry["header_mm"] - 4.0) / len(lines))
    for i, text in enumerate(lines):
        y = (2.0 + h_mm + i * line_mm) * px_per_mm
        _put_text(page, text, x, y, h_mm, style["font"], style)
    footer = (
        f"25 mm/s   {style['gain_mm_mv']:g} mm/mV   {filter_hz[0]:g}-{filter_hz[1]:g} Hz   "
        f"{mains_hz:g} Hz   {device}"
    )
    _put_text(page, footer, x, geometry["footer_y_mm"] * px_per_mm, h_mm, style["font"], style)
    return filter_hz, mains_hz
