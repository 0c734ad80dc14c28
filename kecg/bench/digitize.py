"""Benchmark of the digitizer on freshly rendered synthetic printouts with known truth.

``python -m kecg.bench digitize [--artifacts clean|scan|photo] [--layout L] [--gain 5|10|20]
[--pulse-at-end] [--renderer kecg|kit [--records DIR]] [--n 200] [--seed S] [--cohort D]``
renders ``n`` images (all in layout ``L``, else the cohort's 3x4+1 / 3x4+3 mix; all at ``--gain``
mm/mV, else the cohort's 10 / 5 mm/mV mix; pulses after the traces with ``--pulse-at-end``;
with ``--renderer kit``, clean pages drawn in ecg-image-kit's conventions by
:mod:`kecg.synth.kit`, of synthetic ECGs or of the 12-lead WFDB records in ``--records``) or
reads ``DIR/images``, ``DIR/signals``, ``DIR/meta``, digitizes each in one process and prints
the median SNR (dB, CinC 2024 definition, over the samples each image shows) per lead, per
layout and per dpi bin next to the SNR of an ideal digitizer of the same images
(:func:`ideal_record`), the failure rate with reasons, how often the layout and the gain were
recognised, and the speed on one core.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from kecg.digitize.core import DigitizeError, digitize_array
from kecg.digitize.load import ImageError, read_image
from kecg.digitize.metrics import record_snr_db, shown_intervals_s
from kecg.io import LEADS, Record, read_record
from kecg.synth import write_cohort
from kecg.synth.kit import write_kit_cohort
from kecg.synth.render import LAYOUTS

DPI_BINS: tuple[int, ...] = (0, 125, 175, 225, 10_000)
POOR_LEAD_DB = 10.0  # a lead read this badly is of little use: does the QC's estimate say so?


def ideal_record(true: Record, sidecar: dict) -> Record:
    """What a perfect digitizer could read from the image: the bound our SNR is compared with.

    Each printed panel is sampled at the image's pixel-column centres, each value is rounded to
    the nearest pixel row (from the sidecar's px/mm and baseline) and linearly interpolated back
    to the record's samples; a 10 s strip overrides its lead's short panel, as the digitizer does.
    """
    scale = float(np.sqrt(abs(np.linalg.det(np.asarray(sidecar["page_to_image"])[:2, :2]))))
    px_per_mm = sidecar["px_per_mm"] * scale
    px_per_s = sidecar["paper_speed_mm_s"] * px_per_mm
    px_per_mv = sidecar["gain_mm_mv"] * px_per_mm
    true12 = true.standard12()
    t_s = np.arange(true12.signal_mv.shape[0]) / true.fs_hz
    out = np.full_like(true12.signal_mv, np.nan)
    panels = sorted(sidecar["panels"], key=lambda p: p["t_end_s"] - p["t_start_s"])
    for panel in panels:
        j = LEADS.index(panel["lead"])
        t0_s, t1_s = panel["t_start_s"], panel["t_end_s"]
        x0_px, y0_px = panel["x_start_px"] * scale, panel["baseline_y_px"] * scale
        cols_px = np.arange(np.ceil(x0_px), x0_px + (t1_s - t0_s) * px_per_s)
        col_t_s = t0_s + (cols_px - x0_px) / px_per_s
        y_px = np.round(y0_px - np.interp(col_t_s, t_s, true12.signal_mv[:, j]) * px_per_mv)
        inside = (t_s >= t0_s) & (t_s < t1_s)
        out[inside, j] = (y0_px - np.interp(t_s[inside], col_t_s, y_px)) / px_per_mv
    return Record(out, true.fs_hz, LEADS)


def evaluate_cohort(cohort: Path, n: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-image SNR rows (one column per lead) for the first ``n`` images: ours and ideal.

    Our rows also hold each image's CPU seconds (read + digitize, this process only, with
    OpenCV on one thread as in a ``digitize`` worker).
    """
    cv2.setNumThreads(1)
    rows, ideal_rows = [], []
    for image in sorted((cohort / "images").iterdir())[:n]:
        meta = json.loads((cohort / "meta" / f"{image.stem}.json").read_text())
        row = {"ecg_id": image.stem, "layout": meta["layout"], "dpi": meta["dpi"],
               "grid": meta["grid"]["color"], "gain": meta["gain_mm_mv"], "reason": ""}  # fmt: skip
        start_s = time.process_time()
        try:
            result = digitize_array(read_image(image), image.stem)
            row["layout_found"] = result.qc["layout"]
            row["gain_found"] = result.qc["gain_mm_mv"]
        except (ImageError, DigitizeError) as exc:
            row["reason"] = str(exc)
        row["cpu_s"] = time.process_time() - start_s
        true = read_record(cohort / "signals" / image.stem)
        shown = shown_intervals_s(meta)
        if not row["reason"]:
            row.update(record_snr_db(true, result.record, shown))
            row.update({f"est_{lead}": result.qc[f"snr_est_db_{lead}"] for lead in shown})
        rows.append(row)
        ideal = {key: row[key] for key in ("ecg_id", "layout", "dpi", "grid", "reason")}
        ideal_rows.append(ideal | record_snr_db(true, ideal_record(true, meta), shown))
    columns = ["ecg_id", "layout", "dpi", "grid", "reason", *LEADS]
    extra = ["gain", "layout_found", "gain_found", "cpu_s", *(f"est_{lead}" for lead in LEADS)]
    ours = pd.DataFrame(rows).reindex(columns=[*columns, *extra])
    return ours, pd.DataFrame(ideal_rows).reindex(columns=columns)


def _long(table: pd.DataFrame, name: str) -> pd.DataFrame:
    """One row per (image, lead) SNR value, with the image's layout, dpi bin and grid colour."""
    long = table.melt(
        id_vars=["ecg_id", "layout", "dpi", "grid"], value_vars=list(LEADS), value_name=name
    ).dropna()
    long["dpi_bin"] = pd.cut(long["dpi"], list(DPI_BINS), right=False)
    return long.set_index(["ecg_id", "variable"])


def report(table: pd.DataFrame, ideal: pd.DataFrame) -> None:
    """Print the SNR tables (ours and ideal, over the images we digitized), failures and speed."""
    ok = table[table["reason"] == ""]
    snr = ok[list(LEADS)]
    n_failed = len(table) - len(ok)
    print(f"images: {len(table)}, failed: {n_failed} ({n_failed / max(len(table), 1):.1%})")
    for reason, count in table.loc[table["reason"] != "", "reason"].value_counts().items():
        print(f"  {count} × {reason}")
    ideal_ok = ideal[table["reason"] == ""]
    n_right = int((ok["layout_found"] == ok["layout"]).sum())
    print(f"layout recognised: {n_right} of {len(ok)} digitized images")
    for gain, group in ok.groupby("gain"):
        n_gain = int((group["gain_found"] == gain).sum())
        print(f"gain {gain:g} mm/mV recognised: {n_gain} of {len(group)} digitized images")
    print(
        f"median SNR over all leads: {np.nanmedian(snr.to_numpy()):.1f} dB "
        f"(ideal digitizer of the same images: {np.nanmedian(ideal_ok[list(LEADS)]):.1f} dB)"
    )
    print("median SNR per lead (dB):")
    per_lead = pd.DataFrame({"ours": snr.median(), "ideal": ideal_ok[list(LEADS)].median()})
    print(per_lead.T.round(1).to_string())
    long = _long(ok, "ours").join(_long(ideal_ok, "ideal")["ideal"])
    for key in ("layout", "dpi_bin", "grid"):
        print(f"median SNR per {key} (dB):")
        stats = long.groupby(key, observed=True).agg(
            ours=("ours", "median"), ideal=("ideal", "median"), count=("ours", "count")
        )
        print(stats.round(1).to_string())
    _report_estimate(ok)
    cpu_s = table["cpu_s"]
    per_bin = cpu_s.groupby(pd.cut(table["dpi"], list(DPI_BINS), right=False), observed=True)
    print("CPU s per image (read + digitize, one process) per dpi bin:")
    print(per_bin.agg(["mean", "count"]).round(3).to_string())
    print(f"speed: {len(table) / max(cpu_s.sum(), 1e-9):.2f} images per CPU second")


def _report_estimate(ok: pd.DataFrame) -> None:
    """How well the QC's expected SNR per lead (no truth needed) tracks the true SNR."""
    true_db = ok[list(LEADS)].to_numpy().ravel()
    est_db = ok[[f"est_{lead}" for lead in LEADS]].to_numpy(np.float64).ravel()
    both = np.isfinite(true_db) & np.isfinite(est_db)
    if both.sum() < 3:
        return
    true_db, est_db = true_db[both], est_db[both]
    rho = pd.Series(true_db).corr(pd.Series(est_db), method="spearman")
    poor = true_db < POOR_LEAD_DB
    print(
        f"QC expected SNR (snr_est_db_*) vs true: Spearman {rho:.2f}, median |error| "
        f"{np.median(np.abs(est_db - true_db)):.1f} dB; leads under {POOR_LEAD_DB:g} dB: "
        f"{int(poor.sum())}, of which expected under {POOR_LEAD_DB:g} dB: "
        f"{int((poor & (est_db < POOR_LEAD_DB)).sum())} (false alarms: "
        f"{int((~poor & (est_db < POOR_LEAD_DB)).sum())} of {int((~poor).sum())})"
    )


def _write_kit_pages(out: Path, records: str | None, n: int, seed: int, jobs: int) -> None:
    """Kit pages of the first ``n`` WFDB records in ``records``, else of synthetic ECGs."""
    if records is None:
        source = out / "source"
        write_cohort(source, n_patients=max(1, int(np.ceil(n / 1.5))), seed=seed,
                     artifacts="clean", jobs=jobs)  # fmt: skip
        paths = sorted((source / "signals").glob("*.hea"))[:n]
    else:
        paths = sorted(Path(records).glob("*.hea"))[:n]
        if not paths:
            raise SystemExit(f"{records}: no WFDB records (*.hea)")
    write_kit_cohort([(p.stem, read_record(p.with_suffix(""))) for p in paths], out, seed)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kecg.bench digitize", description=__doc__)
    parser.add_argument("--artifacts", choices=["clean", "scan", "photo"], default="scan")
    parser.add_argument(
        "--layout", choices=list(LAYOUTS), default=None, help="render every image in this layout"
    )
    parser.add_argument(
        "--gain", type=float, default=None, help="render every image at this mm/mV (5, 10 or 20)"
    )
    parser.add_argument(
        "--pulse-at-end", action="store_true", help="print calibration pulses after the traces"
    )
    parser.add_argument(
        "--renderer",
        choices=["kecg", "kit"],
        default="kecg",
        help="kit: clean matplotlib pages in ecg-image-kit's conventions (a renderer we did not "
        "build the digitizer around)",
    )
    parser.add_argument(
        "--records", default=None, help="with --renderer kit: a folder of 12-lead WFDB records"
    )
    parser.add_argument("--n", type=int, default=200, help="images to digitize")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument(
        "--cohort", default=None, help="existing cohort folder instead of rendering"
    )
    parser.add_argument(
        "--jobs", type=int, default=0, help="processes for rendering; 0 = all cores"
    )
    args = parser.parse_args(argv)
    pd.set_option("display.width", 160)
    with tempfile.TemporaryDirectory() as tmp:
        cohort = Path(args.cohort) if args.cohort else Path(tmp)
        if args.renderer == "kit":
            _write_kit_pages(cohort, args.records, args.n, args.seed, args.jobs)
        elif not args.cohort:
            write_cohort(cohort, n_patients=max(1, int(np.ceil(args.n / 1.5))), seed=args.seed,
                         artifacts=args.artifacts, layout=args.layout, gain_mm_mv=args.gain,
                         pulse_at_end=args.pulse_at_end, jobs=args.jobs)  # fmt: skip
        table, ideal = evaluate_cohort(cohort, args.n)
    report(table, ideal)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
