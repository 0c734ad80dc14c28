"""Benchmark of the beat chain: R peaks on MIT-BIH 100, fiducials and speed on a synthetic cohort.

``python -m kecg.bench.beats [--mitdb DIR/100] [--cohort DIR] [--n-patients N] [--jobs J]``
prints three tables: R-peak sensitivity and positive predictivity per lead of MIT-BIH record 100
(±75 ms, beat annotations of ``100.atr``) for this package's detector against neurokit2's and
wfdb's; the R-peak and median-beat fiducial errors against the generator's truth; and the time
of the ``detect`` and ``median_beat`` steps over the cohort. Without ``--cohort`` a signals-only
cohort is generated in a temporary folder.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import wfdb

from kecg.beats.batch import detect_folder, median_beat_folder
from kecg.beats.delineate import FIDUCIALS
from kecg.beats.rpeaks import detect_rpeaks, match_peaks
from kecg.params import n_jobs

BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")
MATCH_WINDOW_S = 0.075
DEFAULT_MITDB = Path(__file__).resolve().parents[3] / "shared" / "data" / "mitdb" / "100"


def _neurokit(x: np.ndarray, fs_hz: float) -> np.ndarray:
    import neurokit2 as nk

    return np.asarray(
        nk.ecg_peaks(nk.ecg_clean(x, sampling_rate=fs_hz), sampling_rate=fs_hz)[1]["ECG_R_Peaks"]
    )


def _xqrs(x: np.ndarray, fs_hz: float) -> np.ndarray:
    from wfdb import processing

    return np.asarray(processing.xqrs_detect(x, fs_hz, verbose=False))


DETECTORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "kecg": detect_rpeaks,
    "neurokit2": _neurokit,
    "wfdb.xqrs": _xqrs,
}


def score_rpeaks(detected: np.ndarray, reference: np.ndarray, fs_hz: float) -> dict[str, float]:
    """Sensitivity, positive predictivity (%) and median |error| (ms) at the ±75 ms window."""
    det = np.sort(np.asarray(detected, dtype=np.int64))
    ri, di = match_peaks(det, reference, round(MATCH_WINDOW_S * fs_hz))
    err_ms = np.abs(det[di] - reference[ri]) * 1000.0 / fs_hz
    return {
        "se_pct": 100.0 * ri.size / max(reference.size, 1),
        "ppv_pct": 100.0 * di.size / max(det.size, 1),
        "median_err_ms": float(np.median(err_ms)) if err_ms.size else float("nan"),
    }


def bench_mitdb(record_path: str | Path) -> pd.DataFrame:
    """Every detector on each lead of an MIT-BIH record against its ``atr`` beat annotations."""
    rec = wfdb.rdrecord(str(record_path))
    ann = wfdb.rdann(str(record_path), "atr")
    ref = np.asarray(
        [s for s, sym in zip(ann.sample, ann.symbol, strict=True) if sym in BEAT_SYMBOLS]
    )
    rows = []
    for j, lead in enumerate(rec.sig_name):
        for name, fn in DETECTORS.items():
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                det = fn(rec.p_signal[:, j], float(rec.fs))
            elapsed = time.perf_counter() - start
            rows.append(
                {
                    "lead": lead,
                    "detector": name,
                    **score_rpeaks(det, ref, rec.fs),
                    "time_s": elapsed,
                }
            )
    return pd.DataFrame(rows)


def truth_relative_ms(fiducials_csv: str | Path, fs_hz: float = 500.0) -> pd.DataFrame:
    """Per ECG, the median over its normal beats of each true fiducial minus R, in ms."""
    truth = pd.read_csv(fiducials_csv)
    truth = truth[truth["beat_type"] == "N"]
    names = [n.removesuffix("_ms") for n in FIDUCIALS]
    rel = truth[names].sub(truth["r"], axis=0) * 1000.0 / fs_hz
    rel["ecg_id"] = truth["ecg_id"].to_numpy()
    return rel.groupby("ecg_id").median().add_suffix("_ms")


def bench_cohort(
    cohort_dir: str | Path, jobs: int
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float]]:
    """R-peak and fiducial errors against the generator's truth, and the time of both steps."""
    cohort = Path(cohort_dir)
    start = time.perf_counter()
    rpeaks = detect_folder(cohort / "signals", ("II", "V5"), jobs)
    t_detect = time.perf_counter() - start
    beats, rejected = median_beat_folder(cohort / "signals", rpeaks, jobs)
    t_median = time.perf_counter() - start - t_detect
    fs_hz = 500.0
    truth = pd.read_csv(cohort / "fiducials.csv")
    errors, counts = [], [0, 0, 0]
    for ecg_id, group in truth.groupby("ecg_id"):
        ref = group["r"].to_numpy(dtype=np.int64)
        det = np.asarray(rpeaks["records"].get(ecg_id, {}).get("rpeaks", []), dtype=np.int64)
        ri, di = match_peaks(det, ref, round(MATCH_WINDOW_S * fs_hz))
        errors.append(np.abs(det[di] - ref[ri]) * 1000.0 / fs_hz)
        counts = [counts[0] + ri.size, counts[1] + ref.size, counts[2] + det.size]
    err = np.concatenate(errors)
    rpeak_table = pd.DataFrame(
        [{
            "se_pct": 100.0 * counts[0] / counts[1],
            "ppv_pct": 100.0 * err.size / max(counts[2], 1),
            "median_err_ms": float(np.median(err)),
            "p95_err_ms": float(np.percentile(err, 95)),
        }]
    )  # fmt: skip
    rel = truth_relative_ms(cohort / "fiducials.csv", fs_hz)
    est = pd.DataFrame(
        {i: {k: b.fiducials_ms[k][0] for k in FIDUCIALS} for i, b in beats.items()}
    ).T
    both = rel.join(est, lsuffix="_true", how="inner")
    rows = []
    for k in FIDUCIALS:
        diff = (both[k] - both[f"{k}_true"]).dropna()
        found = both[k].notna() & both[f"{k}_true"].notna()
        rows.append({
            "fiducial": k,
            "n": int(found.sum()),
            "median_abs_err_ms": float(diff.abs().median()) if diff.size else float("nan"),
            "median_bias_ms": float(diff.median()) if diff.size else float("nan"),
            "p90_abs_err_ms": float(diff.abs().quantile(0.9)) if diff.size else float("nan"),
            "missed": int((both[k].isna() & both[f"{k}_true"].notna()).sum()),
            "spurious": int((both[k].notna() & both[f"{k}_true"].isna()).sum()),
        })  # fmt: skip
    timing = {
        "records": float(len(rpeaks["records"]) + len(rpeaks["failed"])),
        "rejected": float(len(rejected)),
        "detect_s": t_detect,
        "median_beat_s": t_median,
    }
    return rpeak_table, pd.DataFrame(rows), timing


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kecg.bench.beats", description=__doc__)
    parser.add_argument("--mitdb", default=str(DEFAULT_MITDB), help="MIT-BIH record path")
    parser.add_argument(
        "--cohort", default=None, help="synthetic cohort folder (signals/, fiducials.csv)"
    )
    parser.add_argument("--n-patients", type=int, default=50, help="patients of a generated cohort")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=0, help="worker processes; 0 = all cores")
    args = parser.parse_args(argv)
    jobs = n_jobs(args.jobs)
    pd.set_option("display.width", 140)
    if Path(args.mitdb).with_suffix(".hea").exists():
        print(f"MIT-BIH {args.mitdb} (±75 ms):")
        print(bench_mitdb(args.mitdb).round(2).to_string(index=False))
    else:
        print(f"MIT-BIH record {args.mitdb} not found: skipped")
    with tempfile.TemporaryDirectory() as tmp:
        cohort = args.cohort
        if cohort is None:
            from kecg.synth import write_cohort

            cohort = tmp
            write_cohort(
                cohort, n_patients=args.n_patients, seed=args.seed, images=False, jobs=jobs
            )
        rpeak_table, fid_table, timing = bench_cohort(cohort, jobs)
    print(f"synthetic cohort {args.cohort or f'({args.n_patients} patients, seed {args.seed})'}:")
    print(rpeak_table.round(2).to_string(index=False))
    print(fid_table.round(1).to_string(index=False))
    n = timing["records"]
    print(
        f"speed: {n:.0f} records, {timing['rejected']:.0f} rejected; "
        f"detect {timing['detect_s']:.2f} s, "
        f"median_beat {timing['median_beat_s']:.2f} s on {jobs} processes "
        f"({1000.0 * (timing['detect_s'] + timing['median_beat_s']) / max(n, 1):.1f} ms/record)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
