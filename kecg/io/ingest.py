"""Ingest a user's folder of ECG images or records and their lab potassium spreadsheet.

Every file gets one row in the ingest report with its fate (``kept``, ``unlabeled`` or
``rejected``) and the reason, and every label row that cannot be used is reported with the file
and line it came from: nothing the user brought is dropped silently. ``ecg_id`` is the file stem.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, UnidentifiedImageError

from kecg.digitize.load import IMAGE_SUFFIXES
from kecg.io.formats import RECORD_SUFFIXES, load_record

REPORT_COLUMNS: tuple[str, ...] = ("ecg_id", "path", "kind", "fate", "reason")
LABEL_COLUMNS: tuple[str, ...] = ("ecg_id", "patient_id", "potassium_mmol_l")
K_RANGE_MMOL_L: tuple[float, float] = (1.5, 12.0)
SOURCES: tuple[str, ...] = ("synthetic", "images", "records")
WFDB_COMPANIONS: tuple[str, ...] = (".dat", ".atr", ".qrs", ".xyz")

LEAKAGE_WARNING = (
    "labels have no patient_id column: each ECG is treated as its own patient, so ECGs of one "
    "patient may land in both the training and the test split and inflate the metrics (leakage)"
)


@dataclass
class Labels:
    """Usable labels by ``ecg_id`` and the reason each unusable ``ecg_id`` has no label."""

    table: pd.DataFrame  # ecg_id (index), patient_id, potassium_mmol_l
    problems: dict[str, str] = field(default_factory=dict)  # ecg_id -> reason
    lines: dict[str, int] = field(default_factory=dict)  # ecg_id -> first line in the CSV
    has_patient_id: bool = True
    no_id: list[str] = field(default_factory=list)  # reasons for rows without an ecg_id


def read_labels(path: str | Path) -> Labels:
    """Validate the labels CSV; ``ValueError`` naming the file when it cannot be used at all.

    Rows with an empty or non-numeric K⁺, a value outside 1.5–12 mmol/L, or an id repeated with
    a different value become ``problems`` (reason names the file and line); exact repeats
    are merged. Lines are numbered as in a text editor (the header is line 1).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: labels file not found")
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot parse labels CSV: {exc}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    missing = [c for c in ("ecg_id", "potassium_mmol_l") if c not in raw.columns]
    if missing:
        raise ValueError(
            f"{path}: missing column(s) {', '.join(missing)} (has {', '.join(raw.columns)}); "
            "required: ecg_id, potassium_mmol_l; optional: patient_id"
        )
    has_patient = "patient_id" in raw.columns
    problems: dict[str, str] = {}
    no_id: list[str] = []
    lines: dict[str, int] = {}
    good: dict[str, tuple[str, float]] = {}
    for i, row in enumerate(raw.itertuples(index=False)):
        line = i + 2
        ecg_id = str(row.ecg_id).strip()
        text = str(row.potassium_mmol_l).strip()
        where = f"{path} line {line}"
        if not ecg_id:
            no_id.append(f"{where}: empty ecg_id")
            continue
        lines.setdefault(ecg_id, line)
        patient = str(row.patient_id).strip() if has_patient else ""
        value = pd.to_numeric(text, errors="coerce") if text else np.nan
        if not text:
            reason = f"{where}: empty potassium_mmol_l for {ecg_id}"
        elif not np.isfinite(value):
            reason = f"{where}: potassium_mmol_l {text!r} for {ecg_id} is not a number"
        elif not K_RANGE_MMOL_L[0] <= value <= K_RANGE_MMOL_L[1]:
            reason = (
                f"{where}: potassium_mmol_l {value:g} for {ecg_id} is outside "
                f"{K_RANGE_MMOL_L[0]:g}–{K_RANGE_MMOL_L[1]:g} mmol/L"
            )
        else:
            reason = ""
        if reason:
            problems.setdefault(ecg_id, reason)
            continue
        entry = (patient or ecg_id, float(value))
        if ecg_id in good and good[ecg_id] != entry:
            problems[ecg_id] = (
                f"{where}: duplicate ecg_id {ecg_id} with a different value "
                f"({entry[1]:g} here, {good[ecg_id][1]:g} on line {lines[ecg_id]})"
            )
        good.setdefault(ecg_id, entry)
    table = pd.DataFrame(
        [(i, p, k) for i, (p, k) in good.items() if i not in problems], columns=LABEL_COLUMNS
    ).set_index("ecg_id")
    return Labels(table, problems, lines, has_patient, no_id)


def _image_problem(path: Path) -> str:
    """Why an image file cannot even be opened (header only, no decoding), or ''."""
    if path.stat().st_size == 0:
        return "empty file (0 bytes)"
    try:
        with Image.open(path) as im:
            im.size  # noqa: B018 - reading the header is the check
    except UnidentifiedImageError:
        return "not an image file (unknown format)"
    except (OSError, SyntaxError, ValueError) as exc:
        return f"cannot read image header: {exc}"
    return ""


def _record_problem(path: Path, fs_hz: float | None) -> str:
    """Why a record file cannot be read, or ''."""
    try:
        load_record(path, fs_hz)
    except ValueError as exc:
        return str(exc).removeprefix(f"{path}: ")
    return ""


def list_inputs(folder: str | Path, kind: str) -> list[tuple[Path, str]]:
    """Every file of ``folder`` (recursively, sorted) with '' or why its type is unknown.

    WFDB data and annotation files next to their ``.hea`` are part of that record, not inputs
    of their own; hidden files (``.DS_Store``) are skipped.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"{folder}: input folder not found")
    suffixes = IMAGE_SUFFIXES if kind == "image" else RECORD_SUFFIXES
    out = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if any(part.startswith(".") for part in path.relative_to(folder).parts):
            continue
        suffix = path.suffix.lower()
        if suffix in WFDB_COMPANIONS and path.with_suffix(".hea").exists():
            continue
        if suffix in suffixes:
            out.append((path, ""))
        else:
            out.append((path, f"unknown file type {suffix or '(none)'!r} for {kind}s "
                              f"(expected {', '.join(suffixes)})"))  # fmt: skip
    return out


def ingest(
    source: str,
    folder: str | Path,
    labels_csv: str | Path | None,
    records_fs_hz: float | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The ingest report, the usable labels and the warnings for one data source.

    ``source`` is ``synthetic`` or ``images`` (image files) or ``records`` (WFDB/CSV/NPY).
    Report: one row per file plus one per label whose file is missing (columns
    ``REPORT_COLUMNS``). Labels: ``LABEL_COLUMNS`` for the ``kept`` files only.
    """
    if source not in SOURCES:
        raise ValueError(f"data.source must be one of {', '.join(SOURCES)}, got {source!r}")
    kind = "record" if source == "records" else "image"
    labels = (
        read_labels(labels_csv)
        if labels_csv
        else Labels(pd.DataFrame(columns=LABEL_COLUMNS).set_index("ecg_id"))
    )
    warnings = [] if labels.has_patient_id else [f"{labels_csv}: {LEAKAGE_WARNING}"]
    rows = []
    seen: dict[str, Path] = {}
    for path, problem in list_inputs(folder, kind):
        ecg_id = path.stem
        if not problem and ecg_id in seen:
            problem = f"duplicate ecg_id {ecg_id}: {seen[ecg_id]} has the same file stem"
        if not problem:
            problem = (
                _image_problem(path) if kind == "image" else _record_problem(path, records_fs_hz)
            )
        if problem:
            rows.append((ecg_id, str(path), kind, "rejected", problem))
            continue
        seen[ecg_id] = path
        if ecg_id in labels.table.index:
            rows.append((ecg_id, str(path), kind, "kept", ""))
        else:
            reason = labels.problems.get(
                ecg_id, f"no label in {labels_csv}" if labels_csv else "no labels file"
            )
            rows.append((ecg_id, str(path), kind, "unlabeled", reason))
    for ecg_id in [*labels.table.index, *labels.problems]:
        if ecg_id not in seen:
            line = labels.lines.get(ecg_id)
            where = f"{labels_csv} line {line}" if line else str(labels_csv)
            reason = labels.problems.get(ecg_id, f"{where}: label without a file")
            if ecg_id in labels.problems:
                reason += "; and no file for this ecg_id"
            rows.append((ecg_id, "", kind, "rejected", reason))
    rows += [("", "", kind, "rejected", reason) for reason in labels.no_id]
    report = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    kept = report.loc[report["fate"] == "kept", "ecg_id"]
    table = labels.table.loc[kept].reset_index()[list(LABEL_COLUMNS)]
    return report, table, warnings


def summarize(report: pd.DataFrame) -> str:
    """Kept / unlabeled / rejected counts and the rejection reasons, for the stage's output."""
    counts = report["fate"].value_counts()
    lines = [
        f"ingest: {counts.get('kept', 0)} kept, {counts.get('unlabeled', 0)} unlabeled "
        f"(digitized and predicted, not used for training), {counts.get('rejected', 0)} rejected"
    ]
    for row in report[report["fate"] != "kept"].itertuples():
        lines.append(f"  {row.fate:9s} {row.path or row.ecg_id}: {row.reason}")
    return "\n".join(lines)
