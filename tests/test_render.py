"""Paper-ECG renderer: traces sit where the sidecar geometry says, layouts, determinism."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kecg.io.records import LEADS
from kecg.synth.render import MIXED_LAYOUTS, ROWS_3X4, STRIPS, _draw_grid, render_ecg, save_image

FS_HZ = 500.0


def known_signal() -> np.ndarray:
    """10 s, 12 leads: a slow sinusoid per lead plus sharp 1.2 ms-wide spikes (steep edges)."""
    t_s = np.arange(round(10 * FS_HZ)) / FS_HZ
    out = np.empty((t_s.size, len(LEADS)))
    for j in range(len(LEADS)):
        spikes = sum(np.exp(-0.5 * ((t_s - r) / 0.012) ** 2) for r in np.arange(0.3, 10, 0.85))
        out[:, j] = 0.4 * np.sin(2 * np.pi * (0.7 + 0.1 * j) * t_s + j) + (1.6 - 0.2 * j) * spikes
    return out


def to_image(matrix: list, x_px: np.ndarray, y_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map page points through the sidecar's 3×3 page_to_image homography."""
    pts = np.column_stack((x_px, y_px, np.ones_like(x_px))) @ np.asarray(matrix).T
    return pts[:, 0] / pts[:, 2], pts[:, 1] / pts[:, 2]


def predicted_page_points(sidecar: dict, panel: dict, signal_mv: np.ndarray, x_px: np.ndarray):
    """Page y of the trace at page columns x_px, from the sidecar geometry alone."""
    k = sidecar["px_per_mm"]
    t_s = panel["t_start_s"] + (x_px - panel["x_start_px"]) / (sidecar["paper_speed_mm_s"] * k)
    lead = signal_mv[:, LEADS.index(panel["lead"])]
    v_mv = np.interp(t_s, np.arange(lead.size) / FS_HZ, lead)
    return panel["baseline_y_px"] - v_mv * sidecar["gain_mm_mv"] * k


def darkness(image: np.ndarray) -> np.ndarray:
    """Per-pixel max over channels: traces (black/dark blue) are low, coloured grids stay high."""
    return image if image.ndim == 2 else image.max(axis=2)


def trace_offset_px(dark_column: np.ndarray, y: float) -> tuple[float, float, int]:
    """Distance from y to the nearest dark pixel, offset of that dark run's centre from y, and
    the run's length (a long run means the trace touches a label or another row's trace)."""
    rows = np.flatnonzero(dark_column)
    if rows.size == 0:
        return np.inf, np.inf, 0
    nearest = rows[np.argmin(np.abs(rows - y))]
    top = bottom = nearest
    while top - 1 >= 0 and dark_column[top - 1]:
        top -= 1
    while bottom + 1 < dark_column.size and dark_column[bottom + 1]:
        bottom += 1
    return float(abs(nearest - y)), float((top + bottom) / 2 - y), int(bottom - top + 1)


def column_worst_px(dark: np.ndarray, sidecar: dict, signal_mv: np.ndarray) -> tuple[float, float]:
    """Worst nearest-dark-pixel distance over every panel column, and worst run-centre offset
    where the trace is flat (within ±1 px over ±4 columns) so that a column's dark run, if
    short, is centred on it."""
    worst_near, worst_centre = 0.0, 0.0
    for panel in sidecar["panels"]:
        x_px = np.arange(np.ceil(panel["x_start_px"]) + 1, np.floor(panel["x_end_px"]) - 1)
        y_px = predicted_page_points(sidecar, panel, signal_mv, x_px)
        window = np.lib.stride_tricks.sliding_window_view(np.pad(y_px, 4, mode="edge"), 9)
        flat = np.abs(window - y_px[:, None]).max(axis=1) <= 1.0
        for x, y, is_flat in zip(x_px.astype(int), y_px, flat, strict=True):
            near, centre, length = trace_offset_px(dark[:, x], y)
            worst_near = max(worst_near, near)
            if is_flat and length <= 8:
                worst_centre = max(worst_centre, abs(centre))
    return worst_near, worst_centre


@pytest.mark.parametrize(
    ("seed", "dpi", "layout", "gain"),
    [(1, 200, "3x4+1", 10.0), (2, 300, "3x4+3", 10.0), (3, 150, "6x2", 10.0),
     (4, 150, "12x1", 10.0), (5, 200, "3x4+1", 5.0)],
)  # fmt: skip
def test_clean_trace_within_one_pixel_of_sidecar_geometry(
    seed: int, dpi: int, layout: str, gain: float
) -> None:
    signal = known_signal()
    image, sidecar = render_ecg(
        signal, FS_HZ, rng=np.random.default_rng(seed), layout=layout, dpi=dpi, gain_mm_mv=gain
    )
    assert sidecar["page_to_image"] == np.eye(3).tolist() and sidecar["gain_mm_mv"] == gain
    dark = darkness(image) < 120
    worst_near, worst_centre = column_worst_px(dark, sidecar, signal)
    assert worst_near <= 1.0
    assert worst_centre <= 1.0
    # the check can fail: a baseline 1.5 px off is caught
    shifted = json.loads(json.dumps(sidecar))
    for panel in shifted["panels"]:
        panel["baseline_y_px"] += 1.5
    assert column_worst_px(dark, shifted, signal)[1] > 1.0


@pytest.mark.parametrize("gain", [10.0, 5.0])
def test_calibration_pulses_at_sidecar_positions(gain: float) -> None:
    image, sidecar = render_ecg(
        known_signal(), FS_HZ, rng=np.random.default_rng(3), layout="3x4+3", dpi=250,
        gain_mm_mv=gain,
    )  # fmt: skip
    dark = darkness(image) < 120
    k = sidecar["px_per_mm"]
    assert len(sidecar["calibration"]) == 6
    for cal in sidecar["calibration"]:
        assert cal["x_end_px"] - cal["x_start_px"] == pytest.approx(0.2 * 25 * k, abs=1e-3)
        mid_row = round(cal["baseline_y_px"] - gain / 2 * k)
        cols = np.flatnonzero(dark[mid_row, round(cal["x_start_px"] - 5 * k) :]) + round(
            cal["x_start_px"] - 5 * k
        )
        assert np.abs(cols - cal["x_start_px"]).min() <= 1.0
        assert np.abs(cols - cal["x_end_px"]).min() <= 1.0
        top_row = cal["baseline_y_px"] - gain * k
        rows = np.flatnonzero(dark[:, round((cal["x_start_px"] + cal["x_end_px"]) / 2)])
        assert np.abs(rows - top_row).min() <= 1.0


def adaptive_offset_px(grey_line: np.ndarray, y: float, half_px: int = 8) -> tuple[float, ...]:
    """trace_offset_px on a line of a degraded image, dark = below the window's mid-level."""
    lo = max(0, round(y) - half_px)
    window = grey_line[lo : round(y) + half_px + 1].astype(float)
    dark = window <= window.min() + 0.5 * (window.max() - window.min())
    return trace_offset_px(dark, y - lo)


@pytest.mark.parametrize("artifacts", ["scan", "photo"])
def test_degraded_trace_follows_homography(artifacts: str) -> None:
    """Rotation/perspective: the trace lands within 1 px of H·(page point) in every column."""
    signal = known_signal()
    image, sidecar = render_ecg(
        signal, FS_HZ, rng=np.random.default_rng(6), layout="3x4+1", dpi=300, artifacts=artifacts
    )
    assert sidecar["image_size_px"] == [image.shape[1], image.shape[0]]
    if artifacts == "scan":
        assert 0.0 < abs(sidecar["rotation_deg"]) <= 3.0
    grey = darkness(image)
    k = sidecar["px_per_mm"]
    h = sidecar["page_to_image"]
    near, centre = [], []
    for panel in sidecar["panels"]:
        x_px = np.arange(np.ceil(panel["x_start_px"]) + 2, np.floor(panel["x_end_px"]) - 2, 3.0)
        y_px = predicted_page_points(sidecar, panel, signal, x_px)
        u, v = to_image(h, x_px, y_px)
        u2, v2 = to_image(h, x_px + 0.5, predicted_page_points(sidecar, panel, signal, x_px + 0.5))
        slope = (v2 - v) / (u2 - u)
        v_col = v + slope * (np.round(u) - u)  # the trace's y in the integer image column
        flat = np.abs(slope) < 0.2
        for a, b, is_steep, is_flat in zip(u, v_col, np.abs(slope) > 1, flat, strict=True):
            if is_steep:
                continue
            dist, off, length = adaptive_offset_px(grey[:, round(a)], b)
            near.append(dist)
            if is_flat and length <= 8:
                centre.append(abs(off))
    assert len(near) > 1000 and len(centre) > 300
    assert max(near) <= 1.0
    # run centres: a few runs merge with a crossing trace of the next row, hence the percentile
    assert np.percentile(centre, 99) <= 1.0 and np.median(centre) <= 0.5
    # the pulse's rising edge: a vertical line, checked along the image row through its middle
    for cal in sidecar["calibration"]:
        u, v = to_image(
            sidecar["page_to_image"],
            np.array([cal["x_start_px"]]),
            np.array([cal["baseline_y_px"] - 5 * k]),
        )
        assert abs(adaptive_offset_px(grey[round(v[0]), :], u[0])[1]) <= 1.0


@pytest.mark.parametrize("layout", sorted(STRIPS))
def test_layout_panels_and_time_spans(layout: str) -> None:
    _, sidecar = render_ecg(
        known_signal(), FS_HZ, rng=np.random.default_rng(5), layout=layout, dpi=100
    )
    panels = sidecar["panels"]
    grid = [p for p in panels if p["row"] < 3]
    strips = [p for p in panels if p["row"] >= 3]
    assert sorted(p["lead"] for p in grid) == sorted(LEADS)
    for p in grid:
        assert p["lead"] == ROWS_3X4[p["row"]][p["col"]]
        assert (p["t_start_s"], p["t_end_s"]) == (2.5 * p["col"], 2.5 * (p["col"] + 1))
        assert p["x_end_px"] - p["x_start_px"] == pytest.approx(62.5 * sidecar["px_per_mm"])
    assert [p["lead"] for p in strips] == list(STRIPS[layout])
    for p in strips:
        assert (p["t_start_s"], p["t_end_s"]) == (0.0, 10.0)
        assert p["x_end_px"] - p["x_start_px"] == pytest.approx(250 * sidecar["px_per_mm"])
    columns = {p["col"]: p["x_start_px"] for p in grid}
    assert all(columns[c + 1] > columns[c] for c in range(3))
    rows = sorted({p["baseline_y_px"] for p in panels})
    assert len(rows) == 3 + len(STRIPS[layout])
    w, h = sidecar["page_size_px"]
    for p in panels:
        x0, y0, x1, y1 = p["box_px"]
        assert 0 <= x0 < x1 <= w and 0 <= y0 < p["baseline_y_px"] < y1 <= h
    assert json.loads(json.dumps(sidecar)) == sidecar


@pytest.mark.parametrize(("layout", "n_cols"), [("6x2", 2), ("12x1", 1)])
def test_6x2_and_12x1_panels(layout: str, n_cols: int) -> None:
    _, sidecar = render_ecg(
        known_signal(), FS_HZ, rng=np.random.default_rng(6), layout=layout, dpi=100
    )
    panels = sidecar["panels"]
    assert sidecar["layout"] == layout and sidecar["gain_mm_mv"] == 10.0
    assert sorted(p["lead"] for p in panels) == sorted(LEADS)
    span_s = 10.0 / n_cols
    for p in panels:
        assert p["row"] == LEADS.index(p["lead"]) % (12 // n_cols)
        assert p["col"] == LEADS.index(p["lead"]) // (12 // n_cols)
        assert (p["t_start_s"], p["t_end_s"]) == (span_s * p["col"], span_s * (p["col"] + 1))
        assert p["x_end_px"] - p["x_start_px"] == pytest.approx(25 * span_s * sidecar["px_per_mm"])
    baselines = sorted({p["baseline_y_px"] for p in panels})
    assert len(baselines) == 12 // n_cols == len(sidecar["calibration"])
    pitch_mm = np.diff(baselines) / sidecar["px_per_mm"]
    assert np.allclose(pitch_mm, pitch_mm[0]) and pitch_mm[0] >= 20.0 - 1e-6
    w, h = sidecar["page_size_px"]
    assert h < 1.1 * w  # landscape enough not to read as a page turned by 90°
    for p in panels:
        x0, y0, x1, y1 = p["box_px"]
        assert 0 <= x0 < x1 <= w and 0 <= y0 < p["baseline_y_px"] < y1 <= h


def test_same_seed_same_bytes_and_random_choices(tmp_path) -> None:
    signal = known_signal()
    paths = []
    for name in ("a", "b"):
        image, sidecar = render_ecg(signal, FS_HZ, rng=np.random.default_rng(7), artifacts="scan")
        paths.append(save_image(tmp_path / name, image, "scan"))
    assert paths[0].suffix == ".jpg"
    assert paths[0].read_bytes() == paths[1].read_bytes()
    assert 100 <= sidecar["dpi"] <= 300 and sidecar["layout"] in MIXED_LAYOUTS
    other, _ = render_ecg(signal, FS_HZ, rng=np.random.default_rng(8), artifacts="scan")
    assert other.shape != image.shape or not np.array_equal(other, image)
    png = save_image(tmp_path / "c", image, "clean")
    assert png.suffix == ".png" and png.stat().st_size > 0


def test_bad_input_is_refused() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="12"):
        render_ecg(np.zeros((5000, 3)), FS_HZ, rng=rng)
    with pytest.raises(ValueError, match=r"needs 10\.0 s"):
        render_ecg(np.zeros((1000, 12)), FS_HZ, rng=rng)
    with pytest.raises(ValueError, match="layout"):
        render_ecg(known_signal(), FS_HZ, rng=rng, layout="2x6")


@pytest.mark.parametrize("artifacts", ["scan", "photo"])
def test_rotation_deg_is_the_homography_rotation(artifacts: str) -> None:
    _, sidecar = render_ecg(
        known_signal(), FS_HZ, rng=np.random.default_rng(9), dpi=100, artifacts=artifacts
    )
    w, h = sidecar["page_size_px"]
    u, v = to_image(sidecar["page_to_image"], np.array([w / 2, w / 2 + 100]), np.array([h / 2] * 2))
    # counter-clockwise as seen in the image (y down) is a negative image-y step
    angle_deg = -np.degrees(np.arctan2(v[1] - v[0], u[1] - u[0]))
    assert sidecar["rotation_deg"] == pytest.approx(angle_deg, abs=0.05)
    assert 0.05 < abs(angle_deg) < 12.0


def test_missing_lead_is_left_blank() -> None:
    signal = known_signal()
    signal[:, LEADS.index("V3")] = np.nan
    image, sidecar = render_ecg(
        signal, FS_HZ, rng=np.random.default_rng(10), layout="3x4+1", dpi=200
    )
    dark = darkness(image) < 120
    k = sidecar["px_per_mm"]
    for panel in sidecar["panels"]:
        x0 = round(panel["x_start_px"] + 1 * k)  # past the column separator tick
        x1 = round(panel["x_end_px"] - 1 * k)
        y0, y1 = round(panel["baseline_y_px"] - 3 * k), round(panel["baseline_y_px"] + 3 * k)
        n_dark = dark[y0:y1, x0:x1].sum()
        assert (n_dark == 0) if panel["lead"] == "V3" else (n_dark > 100)


@pytest.mark.parametrize("width_px", [1.0, 1.6, 2.0, 3.3])
def test_grid_lines_are_printed_at_their_sub_pixel_mm_positions(width_px: float) -> None:
    """Each line's ink centroid is at its true place origin + k·pitch, and its ink its width.

    Lines once moved to whole pixels, so the grid's phase disagreed with the anti-aliased trace
    by up to half a pixel (2 ms at 250 dpi), as on pages whose renderer snaps its grid.
    """
    origin_px, pitch_px = 3.3, 7.37
    page = np.full((40, 400, 3), 255, np.uint8)
    style = {"grid_colors": ((0, 0, 0), (0, 0, 0)), "minor_w_px": width_px, "major_w_px": width_px}
    _draw_grid(page, (0, 0, 400, 40), (origin_px, 0.0), pitch_px, style)
    ink = 1.0 - page[18, :, 0] / 255.0  # a row between horizontal lines
    true_px = origin_px + np.arange(1, 53) * pitch_px
    x = np.floor(true_px)[:, None].astype(int) + np.arange(-3, 5)
    error_px = (ink[x] * x).sum(axis=1) / ink[x].sum(axis=1) - true_px
    assert np.abs(error_px).max() < 0.2  # area sampling of a fractional width, at worst
    assert abs(error_px.mean()) < 0.01
    assert ink[x].sum(axis=1) == pytest.approx(width_px, abs=0.02)
