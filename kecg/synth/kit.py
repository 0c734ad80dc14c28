"""A second page renderer, written apart from :mod:`kecg.synth.render`: 12-lead pages drawn with
matplotlib the way ecg-image-kit draws them (the generator of the PhysioNet / CinC 2024 images).

It judges the digitizer on conventions it was not built around: a grid over the whole sheet
whose major and minor lines are equally thin and differ in colour only (brown, pink, navy, green,
red or grey; Agg snaps them to whole pixels), a near-black 0.75 pt trace, a calibration pulse
only at the start of each row with no lead-out (its 1.5× pen falls straight into the first
panel), lead names 7 mm under the baseline, four rows packed into the lower part of a US-letter
page and the 10 s lead II strip at the bottom above "25mm/s  10mm/mV". The sidecar has the
fields the bench reads; pixel coordinates are pixel-centre based, as everywhere in kecg.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import matplotlib
import numpy as np

from kecg.io import LEADS, Record, write_record

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.ticker import MultipleLocator

PAGE_IN = (11.0, 8.5)
ROWS = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6"))
PULSE_S = 0.2
GRID_COLOURS = {  # (major, minor) RGB in [0, 1]: ecg-image-kit's standard pairs and grey
    "brown": ((0.427, 0.196, 0.184), (0.588, 0.420, 0.396)),
    "pink": ((1.0, 0.796, 0.866), (0.996, 0.929, 0.973)),
    "navy": ((0.0, 0.0, 0.4), (0.0, 0.0, 0.7)),
    "green": ((0.0, 0.3, 0.0), (0.0, 0.8, 0.3)),
    "red": ((1.0, 0.0, 0.0), (0.996, 0.875, 0.859)),
    "grey": ((0.4, 0.4, 0.4), (0.75, 0.75, 0.75)),
}


def render_kit_page(
    signal_mv: np.ndarray,
    fs_hz: float,
    dpi: int,
    grid: str,
    trace_grey: float = 0.1,
    line_pt: float = 0.75,
) -> tuple[np.ndarray, dict]:
    """Draw the first 10 s of a 12-lead ``signal_mv`` (samples × ``LEADS``) at 25 mm/s, 10 mm/mV.

    Returns the RGB ``uint8`` image and its sidecar (px/mm, panels with their time spans, x
    start and baseline in px). ``trace_grey`` is the pen's grey level (0 = black).
    """
    n = round(10.0 * fs_hz)
    if signal_mv.shape[0] < n or signal_mv.shape[1] != len(LEADS):
        raise ValueError(f"need ≥ 10 s of the 12 standard leads, got {signal_mv.shape}")
    width_in, height_in = PAGE_IN
    x_max_s, y_max_mv = width_in * 25.4 / 25.0, height_in * 25.4 / 10.0
    fig = plt.figure(figsize=PAGE_IN, dpi=dpi)
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, x_max_s)
    ax.set_ylim(0.0, y_max_mv)
    major, minor = GRID_COLOURS[grid]
    for axis, minor_step in ((ax.xaxis, 0.04), (ax.yaxis, 0.1)):
        axis.set_major_locator(MultipleLocator(5 * minor_step))
        axis.set_minor_locator(MultipleLocator(minor_step))
    ax.grid(which="minor", linewidth=0.5, color=minor)
    ax.grid(which="major", linewidth=0.5, color=major)
    ax.tick_params(which="both", length=0, labelbottom=False, labelleft=False)
    for spine in ax.spines.values():
        spine.set_visible(False)
    pen = (trace_grey,) * 3
    row_mv = y_max_mv / (len(ROWS) + 3)
    x_gap_s = np.floor((x_max_s - 10.0) / 2 / 0.2) * 0.2
    x0_s = x_gap_s + PULSE_S
    step_s = 1.0 / fs_hz
    pulse = np.r_[0.0, 0.0, np.ones(round(PULSE_S * fs_hz)), 0.0, 0.0]
    n_col = round(2.5 * fs_hz)
    rows = [(lead, c, r) for r, leads in enumerate(ROWS) for c, lead in enumerate(leads)]
    baselines = [row_mv * (len(ROWS) + 0.5 - r) for r in range(len(ROWS))] + [row_mv / 2 + 0.3]
    for base in baselines:
        ax.plot(x_gap_s + np.arange(len(pulse)) * step_s, pulse + base, lw=1.5 * line_pt, c=pen)
    to_px = ax.transData.transform
    h_px = fig.canvas.get_width_height()[1]  # whole pixels: 8.5 in × an odd dpi is cut down
    panels = []
    for lead, c, r in [*rows, ("II", 0, len(ROWS))]:
        strip = r == len(ROWS)
        i0, i1 = (0, n) if strip else (c * n_col, (c + 1) * n_col)
        x_s = x0_s + 2.5 * c + np.arange(i1 - i0) * step_s
        ax.plot(x_s, signal_mv[i0:i1, LEADS.index(lead)] + baselines[r], lw=line_pt, c=pen)
        label_xy = (x_gap_s, baselines[r] - 0.8) if strip else (x_s[0], baselines[r] - 0.7)
        ax.text(*label_xy, lead, fontsize=11)
        (xa, ya), (xb, _) = to_px([(x_s[0], baselines[r]), (x_s[0] + (i1 - i0) / fs_hz, 0.0)])
        panels.append({"lead": lead, "row": r, "col": c, "t_start_s": i0 / fs_hz,
                       "t_end_s": i1 / fs_hz, "x_start_px": float(xa - 0.5),
                       "x_end_px": float(xb - 0.5), "baseline_y_px": float(h_px - ya - 0.5),
                       "strip": strip})  # fmt: skip
    ax.text(2.0, 0.5, "25mm/s", fontsize=11)
    ax.text(4.0, 0.5, "10mm/mV", fontsize=11)
    fig.canvas.draw()
    rgb = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    sidecar = {
        "dpi": dpi,
        "px_per_mm": dpi / 25.4,
        "paper_speed_mm_s": 25.0,
        "gain_mm_mv": 10.0,
        "layout": "3x4+1",
        "artifacts": "kit",
        "page_to_image": np.eye(3).tolist(),
        "grid": {"color": grid},
        "panels": panels,
    }
    return rgb, sidecar


def write_kit_cohort(
    records: list[tuple[str, Record]], out: str | Path, seed: int, dpi_range: tuple = (100, 300)
) -> None:
    """Render each (name, record) as a kit page into ``out``/images, signals and meta.

    The dpi, grid colour and pen grey are drawn per page from ``seed``, as ecg-image-kit draws
    them per image.
    """
    out = Path(out)
    for sub in ("images", "signals", "meta"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for name, record in records:
        record = record.standard12()
        dpi = int(rng.integers(dpi_range[0], dpi_range[1] + 1))
        grid = str(rng.choice(list(GRID_COLOURS)))
        rgb, sidecar = render_kit_page(
            record.signal_mv, record.fs_hz, dpi, grid, trace_grey=float(rng.uniform(0.0, 0.2))
        )
        cv2.imwrite(str(out / "images" / f"{name}.png"), rgb[..., ::-1])
        write_record(out / "signals" / name, record)
        sidecar |= {"ecg_id": name, "image": f"images/{name}.png"}
        (out / "meta" / f"{name}.json").write_text(json.dumps(sidecar, indent=1))
