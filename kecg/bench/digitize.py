"""Benchmark of the digitizer on freshly rendered synthetic printouts with known truth.

``python -m kecg.bench digitize [--artifacts clean|scan|photo] [--n 200] [--seed S] [--cohort D]``
renders ``n`` images (or reads ``DIR/images``, ``DIR/signals``, ``DIR/meta``), digitizes each in
one process and prints the median SNR (dB, CinC 2024 definition, over the samples each image
shows) per lead, per layout and per dpi bin, the failure rate with reasons, and images/s on one
core.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from kecg.digitize.core import DigitizeError, digitize_array
from kecg.digitize.load import ImageError, read_image
from kecg.digitize.metrics import record_snr_db, shown_intervals_s
from kecg.io import LEADS, read_record
from kecg.synth import write_cohort

DPI_BINS: tuple[int, ...] = (0, 125, 175, 225, 10_000)


def evaluate_cohort(cohort: Path, n: int) -> tuple[pd.DataFrame, float]:
    """Per-image SNR rows (one column per lead) for the first ``n`` images, and images/s."""
    rows = []
    elapsed_s = 0.0
    for image in sorted((cohort / "images").iterdir())[:n]:
        meta = json.loads((cohort / "meta" / f"{image.stem}.json").read_text())
        row = {"ecg_id": image.stem, "layout": meta["layout"], "dpi": meta["dpi"],
               "grid": meta["grid"]["color"], "reason": ""}  # fmt: skip
        start = time.perf_counter()
        try:
            result = digitize_array(read_image(image), image.stem)
        except (ImageError, DigitizeError) as exc:
            row["reason"] = str(exc)
        elapsed_s += time.perf_counter() - start
        if not row["reason"]:
            true = read_record(cohort / "signals" / image.stem)
            row.update(record_snr_db(true, result.record, shown_intervals_s(meta)))
        rows.append(row)
    return pd.DataFrame(rows).reindex(
        columns=["ecg_id", "layout", "dpi", "grid", "reason", *LEADS]
    ), len(rows) / max(elapsed_s, 1e-9)


def report(table: pd.DataFrame, images_per_s: float) -> None:
    """Print the SNR tables, failure rate and speed."""
    ok = table[table["reason"] == ""]
    snr = ok[list(LEADS)]
    n_failed = len(table) - len(ok)
    print(f"images: {len(table)}, failed: {n_failed} ({n_failed / max(len(table), 1):.1%})")
    for reason, count in table.loc[table["reason"] != "", "reason"].value_counts().items():
        print(f"  {count} × {reason}")
    print(f"median SNR over all leads: {np.nanmedian(snr.to_numpy()):.1f} dB")
    print("median SNR per lead (dB):")
    print(snr.median().round(1).to_frame("snr_db").T.to_string(index=False))
    long = ok.melt(
        id_vars=["layout", "dpi", "grid"], value_vars=list(LEADS), value_name="snr_db"
    ).dropna()
    long["dpi_bin"] = pd.cut(long["dpi"], list(DPI_BINS), right=False)
    for key in ("layout", "dpi_bin", "grid"):
        print(f"median SNR per {key} (dB):")
        print(
            long.groupby(key, observed=True)["snr_db"].agg(["median", "count"]).round(1).to_string()
        )
    print(f"speed: {images_per_s:.2f} images/s on one core (read + digitize)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kecg.bench digitize", description=__doc__)
    parser.add_argument("--artifacts", choices=["clean", "scan", "photo"], default="scan")
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
        if not args.cohort:
            write_cohort(cohort, n_patients=max(1, int(np.ceil(args.n / 1.5))), seed=args.seed,
                         artifacts=args.artifacts, jobs=args.jobs)  # fmt: skip
        table, images_per_s = evaluate_cohort(cohort, args.n)
    report(table, images_per_s)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
