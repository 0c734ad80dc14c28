"""The ``kecg`` command line: one subcommand per pipeline concept.

Each subcommand parses its arguments here and calls one library function, so the same code runs
from the command line, from the DVC stage scripts and from Python.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def _synth(args: argparse.Namespace) -> int:
    from kecg.synth import write_cohort

    write_cohort(
        args.out,
        n_patients=args.n_patients,
        seed=args.seed,
        artifacts=args.artifacts,
        layout=args.layout,
        dpi=args.dpi,
        gain_mm_mv=args.gain,
        pulse_at_end=args.pulse_at_end,
        jobs=args.jobs,
    )
    return 0


def _beats(args: argparse.Namespace) -> int:
    import json

    from kecg.beats.record import summarize_record

    summary = summarize_record(args.record, tuple(args.lead) if args.lead else None)
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"{summary['record']}: {len(summary['rpeaks'])} R peaks at {summary['fs_hz']:g} Hz")
    print("rpeaks:", " ".join(str(p) for p in summary["rpeaks"]))
    if "error" in summary:
        print(f"no median beat: {summary['error']}")
        return 1
    print(f"median beat of {summary['n_beats']} beats, quality {summary['quality']:.3f}, "
          f"RR {summary['rr_ms']:.0f} ms; fiducials in ms from R:")  # fmt: skip
    for lead, fid in summary["fiducials_ms"].items():
        print(
            f"  {lead:4s}",
            "  ".join(f"{k}={'-' if v is None else f'{v:g}'}" for k, v in fid.items()),
        )
    return 0


def _digitize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from kecg.digitize import digitize_files, draw_overlay
    from kecg.digitize.core import LOWPASS_HZ

    paths = [Path(p) for p in args.images]
    lowpass_hz = LOWPASS_HZ if args.lowpass_hz is None else args.lowpass_hz
    qc = digitize_files(paths, [p.stem for p in paths], args.out, jobs=args.jobs, fmt=args.format,
                        lowpass_hz=lowpass_hz)  # fmt: skip
    qc.to_csv(Path(args.out) / "digitize_qc.csv", index=False)
    if args.overlay:
        for path, status in zip(paths, qc["status"], strict=True):
            if status == "ok":
                draw_overlay(path, Path(args.out) / f"{path.stem}_overlay.png")
    n_ok = int((qc["status"] == "ok").sum())
    print(f"digitize: {n_ok}/{len(qc)} images -> {args.out}")
    return 0 if n_ok == len(qc) else 1


def _predict(args: argparse.Namespace) -> int:
    from kecg.predict import ModelArtifactError, load_models, predict_files

    try:
        models = load_models(args.models)
    except ModelArtifactError as exc:
        print(f"predict: {exc}", file=sys.stderr)
        return 2
    out = predict_files(args.inputs, models, jobs=args.jobs, records_fs_hz=args.fs_hz)
    out.to_csv(args.out, index=False, float_format="%.4g")
    n_ok = int((out["status"] == "ok").sum())
    print(f"predict: {n_ok}/{len(out)} inputs predicted -> {args.out}")
    return 0 if n_ok else 1


def _ingest(args: argparse.Namespace) -> int:
    from kecg.io.ingest import ingest, summarize

    try:
        report, labels, warnings = ingest(args.source, args.folder, args.labels, args.fs_hz)
    except ValueError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 1
    for warning in warnings:
        print(f"ingest: warning: {warning}", file=sys.stderr)
    if args.out:
        from pathlib import Path

        Path(args.out).mkdir(parents=True, exist_ok=True)
        report.to_csv(Path(args.out) / "ingest_report.csv", index=False)
        labels.to_csv(Path(args.out) / "labels.csv", index=False)
    print(summarize(report))
    return 0 if (report["fate"] != "rejected").any() else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kecg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="write a synthetic potassium-ECG cohort with ground truth")
    p.add_argument("--n-patients", type=int, default=800)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--artifacts", choices=["clean", "scan", "photo"], default="scan")
    p.add_argument(
        "--layout",
        choices=["3x4+1", "3x4+3", "6x2", "12x1"],
        default=None,
        help="printout layout (default: 60 %% 3x4+1, 40 %% 3x4+3)",
    )
    p.add_argument("--dpi", type=int, default=None, help="image resolution (default: 100-300)")
    p.add_argument(
        "--gain",
        type=float,
        choices=[5.0, 10.0],
        default=None,
        help="mm/mV (default: 10, or 5 on some pages, mostly those with tall complexes)",
    )
    p.add_argument(
        "--pulse-at-end", action="store_true", help="print calibration pulses after the traces"
    )
    p.add_argument("--jobs", type=int, default=0, help="worker processes; 0 = all cores")
    p.set_defaults(func=_synth)

    p = sub.add_parser("beats", help="R peaks and median-beat fiducials of one WFDB record")
    p.add_argument("record", help="WFDB record path (with or without .hea)")
    p.add_argument("--lead", action="append", help="lead to use (repeatable; default II and V5)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=_beats)

    p = sub.add_parser("digitize", help="paper ECG images -> 12-lead 500 Hz records + QC table")
    p.add_argument("images", nargs="+", help="image files (PNG, JPEG, TIFF, BMP)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--format", choices=["wfdb", "csv"], default="wfdb")
    p.add_argument("--overlay", action="store_true", help="also write <id>_overlay.png")
    p.add_argument("--lowpass-hz", type=float, help="smoothing low-pass (default 50; 0 = off)")
    p.add_argument("--jobs", type=int, default=0, help="worker processes; 0 = all cores")
    p.set_defaults(func=_digitize)

    p = sub.add_parser("predict", help="estimate K⁺ for ECG images or records (trained models)")
    p.add_argument(
        "inputs", nargs="+", help="images (PNG, JPEG, TIFF, BMP) or records (.hea, .csv, .npy)"
    )
    p.add_argument("--models", default="models", help="folder with vae.* and regressor.*")
    p.add_argument("--out", default="predictions.csv", help="output CSV")
    p.add_argument("--fs-hz", type=float, default=None, help="sampling rate of .npy/.csv records")
    p.add_argument("--jobs", type=int, default=0, help="worker processes; 0 = all cores")
    p.set_defaults(func=_predict)

    p = sub.add_parser("ingest", help="check a folder of ECGs and a labels CSV before training")
    p.add_argument("folder", help="folder of images or records")
    p.add_argument("--labels", default=None, help="CSV with ecg_id, potassium_mmol_l[, patient_id]")
    p.add_argument("--source", choices=["images", "records"], default="images")
    p.add_argument("--fs-hz", type=float, default=None, help="sampling rate of .npy records")
    p.add_argument("--out", default=None, help="folder for ingest_report.csv and labels.csv")
    p.set_defaults(func=_ingest)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
