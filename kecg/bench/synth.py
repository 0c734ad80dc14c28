"""Benchmark of the synthetic cohort: speed, size on disk, realism against LUDB, oracle difficulty.

``python -m kecg.bench synth [--n-ecgs N] [--dpi D] [--size-patients P] [--ludb DIR]
[--realism-n N] [--skip speed,size,realism,oracle] [--jobs J]`` prints four tables: (a) the time
to write ``N`` ECGs with their ``D``-dpi scan images; (b) the on-disk size of a sample of the
default cohort (``params.yaml`` ``synth.*``) extrapolated to its full size; (c) heart rate, PR,
QRS, QT and relative R and T amplitudes in II and V5 of normokalaemic (4.0–5.0 mmol/L) synthetic
ECGs against the LUDB records, each synthetic median within the LUDB interquartile range; (d) the
oracle's MAE and hyperkalaemia AUC on the pipeline's patient split of the default cohort.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from kecg.evaluate.split import split_by_patient
from kecg.params import load_params, n_jobs
from kecg.synth import plan_cohort, spec_from_params, write_cohort
from kecg.synth.oracle import evaluate_oracle, oracle_features
from kecg.synth.realism import run_realism

PARTS: tuple[str, ...] = ("speed", "size", "realism", "oracle")


def folder_bytes(folder: Path) -> int:
    """Total size in bytes of the files under ``folder``."""
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def bench_speed(n_ecgs: int, dpi: int, seed: int, artifacts: str, jobs: int) -> None:
    """Time writing about ``n_ecgs`` ECGs (whole patients) with ``dpi`` images."""
    mean_ecgs = len(plan_cohort(1000, seed)) / 1000.0
    n_patients = max(1, round(n_ecgs / mean_ecgs))
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        labels = write_cohort(
            tmp, n_patients=n_patients, seed=seed, artifacts=artifacts, dpi=dpi, jobs=jobs
        )
        elapsed_s = time.perf_counter() - start
        size_mb = folder_bytes(Path(tmp)) / 1e6
    n = len(labels)
    print(
        f"(a) speed: {n} ECGs with {dpi} dpi {artifacts} images in {elapsed_s:.1f} s on "
        f"{n_jobs(jobs)} worker(s) of {os.cpu_count()} cores ({n / elapsed_s:.1f} ECG/s, "
        f"{1000 * elapsed_s / n:.1f} s per 1,000; {size_mb / n * 1000:.0f} kB per ECG)"
    )


def bench_size(synth: dict, sample_patients: int, jobs: int) -> None:
    """Write the first ``sample_patients`` of the default cohort and extrapolate its size."""
    spec = spec_from_params(synth.get("cohort"))
    full = plan_cohort(synth["n_patients"], synth["seed"], spec)
    with tempfile.TemporaryDirectory() as tmp:
        labels = write_cohort(
            tmp, n_patients=sample_patients, seed=synth["seed"], artifacts=synth["artifacts"],
            jobs=jobs, spec=spec,
        )  # fmt: skip
        parts = {p: folder_bytes(Path(tmp) / p) for p in ("images", "signals", "meta")}
        total = folder_bytes(Path(tmp))
    per_ecg = pd.Series(parts) / len(labels) / 1e3
    full_mb = total / len(labels) * len(full) / 1e6
    print(
        f"(b) size: {len(labels)} ECGs of the default cohort ({synth['artifacts']}) take "
        f"{total / len(labels) / 1e3:.0f} kB per ECG (images {per_ecg['images']:.0f}, signals "
        f"{per_ecg['signals']:.0f}, meta {per_ecg['meta']:.0f}); the default cohort of "
        f"{synth['n_patients']} patients = {len(full)} ECGs ≈ {full_mb:.0f} MB (target ≤ 600 MB)"
    )


def bench_realism(ludb: Path, n: int, seed: int) -> None:
    """Print the realism table of ``n`` normokalaemic synthetic ECGs against LUDB."""
    table = run_realism(ludb, n_synthetic=n, seed=seed)
    print(f"(c) realism: {n} synthetic ECGs with K⁺ 4.0–5.0 mmol/L vs LUDB ({ludb})")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"    {int(table['within_iqr'].sum())}/{len(table)} synthetic medians within the IQR")


def bench_oracle(params: dict, jobs: int) -> None:
    """Oracle metrics of the default cohort on the pipeline's patient split."""
    synth = params["synth"]
    spec = spec_from_params(synth.get("cohort"))
    plan, features = oracle_features(synth["n_patients"], synth["seed"], spec, jobs)
    split = split_by_patient(
        plan["ecg_id"], plan["patient_id"], tuple(params["split"]["fractions"]), params["seed"]
    )
    m = evaluate_oracle(
        features, plan["potassium_mmol_l"].to_numpy(), split["split"].to_numpy(), params["seed"]
    )
    print(
        f"(d) oracle: MAE {m['mae']:.3f} mmol/L (target 0.35–0.45), RMSE {m['rmse']:.3f}, "
        f"hyperkalaemia AUC {m['hyper_auc']:.3f} (target 0.90–0.95), r {m['pearson_r']:.3f}; "
        f"train+val {m['n_train']}, test {m['n_test']} ECGs"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kecg.bench synth", description=__doc__)
    parser.add_argument("--params", type=Path, default=Path("params.yaml"))
    parser.add_argument("--n-ecgs", type=int, default=1000, help="ECGs in the speed run")
    parser.add_argument("--dpi", type=int, default=200, help="image dpi in the speed run")
    parser.add_argument("--size-patients", type=int, default=100, help="patients in the size run")
    parser.add_argument(
        "--ludb",
        type=Path,
        default=Path(__file__).resolve().parents[3] / "shared" / "data" / "ludb",
    )
    parser.add_argument("--realism-n", type=int, default=100, help="synthetic ECGs compared")
    parser.add_argument("--skip", default="", help=f"comma-separated parts of {PARTS} to skip")
    parser.add_argument("--jobs", type=int, default=None, help="workers (default: params jobs)")
    args = parser.parse_args(argv)
    params = load_params(args.params)
    jobs = params["jobs"] if args.jobs is None else args.jobs
    skip = {s for s in args.skip.split(",") if s}
    if skip - set(PARTS):
        parser.error(f"--skip: unknown parts {sorted(skip - set(PARTS))}, choose from {PARTS}")
    synth = params["synth"]
    if "speed" not in skip:
        bench_speed(args.n_ecgs, args.dpi, synth["seed"], synth["artifacts"], jobs)
    if "size" not in skip:
        bench_size(synth, args.size_patients, jobs)
    if "realism" not in skip:
        bench_realism(args.ludb, args.realism_n, synth["seed"])
    if "oracle" not in skip:
        bench_oracle(params, jobs)
    return 0
