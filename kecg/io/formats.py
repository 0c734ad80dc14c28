"""Digital ECG records in the formats users bring: WFDB, CSV (one column per lead) and NPY.

Every reader returns a :class:`~kecg.io.records.Record` with normalised lead names, and refuses
a file it cannot read with a ``ValueError`` that names the file and the reason.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from kecg.io.records import LEADS, Record, normalize_lead_name, read_record

RECORD_SUFFIXES: tuple[str, ...] = (".hea", ".csv", ".npy")
TIME_COLUMNS: tuple[str, ...] = ("t_s", "time_s", "time", "t", "seconds", "sec", "s")


def load_record(path: str | Path, fs_hz: float | None = None) -> Record:
    """Read a WFDB (``.hea``), CSV or NPY record; ``ValueError`` naming the file when unusable.

    CSV: one column per lead, header = lead names (``AVR``, ``avr`` → ``aVR``), plus an optional
    time column in seconds (``t_s``, ``time`` …) giving the rate when ``fs_hz`` is None.
    NPY: ``(n_samples, 12)`` in ``LEADS`` order, in mV; ``fs_hz`` is required. WFDB carries its
    own rate; a different ``fs_hz`` is an error rather than a silent override.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise ValueError(f"{path}: empty file (0 bytes)")
    if suffix == ".hea":
        record = _load_wfdb(path, fs_hz)
    elif suffix == ".csv":
        record = _load_csv(path, fs_hz)
    elif suffix == ".npy":
        record = _load_npy(path, fs_hz)
    else:
        raise ValueError(
            f"{path}: unknown record type {suffix!r} (expected {', '.join(RECORD_SUFFIXES)})"
        )
    if record.signal_mv.shape[0] < 2:
        raise ValueError(f"{path}: fewer than 2 samples")
    if not np.isfinite(record.signal_mv).any():
        raise ValueError(f"{path}: every sample is NaN")
    return record


def _load_wfdb(path: Path, fs_hz: float | None) -> Record:
    try:
        record = read_record(path)
    except Exception as exc:  # wfdb raises many types for a corrupt header or data file
        raise ValueError(f"{path}: cannot read WFDB record: {exc}") from None
    if fs_hz is not None and not np.isclose(fs_hz, record.fs_hz):
        raise ValueError(f"{path}: header says {record.fs_hz:g} Hz but {fs_hz:g} Hz was declared")
    return record


def _load_csv(path: Path, fs_hz: float | None) -> Record:
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{path}: cannot parse CSV: {exc}") from None
    time_cols = [c for c in frame.columns if str(c).strip().lower() in TIME_COLUMNS]
    lead_cols = [c for c in frame.columns if c not in time_cols]
    leads = tuple(normalize_lead_name(str(c)) for c in lead_cols)
    unknown = [c for c, lead in zip(lead_cols, leads, strict=True) if lead not in LEADS]
    if unknown:
        raise ValueError(
            f"{path}: columns {unknown} are not lead names (expected {', '.join(LEADS)} "
            f"and optionally a time column {TIME_COLUMNS[0]!r})"
        )
    if not leads:
        raise ValueError(f"{path}: no lead columns")
    if len(set(leads)) != len(leads):
        raise ValueError(f"{path}: a lead appears twice among columns {list(lead_cols)}")
    values = frame[lead_cols].apply(pd.to_numeric, errors="coerce")
    bad = values.isna() & frame[lead_cols].notna()
    if bad.any().any():
        row, col = np.argwhere(bad.to_numpy())[0]
        raise ValueError(
            f"{path}: line {row + 2}, column {lead_cols[col]!r}: "
            f"{frame[lead_cols].iat[row, col]!r} is not a number"
        )
    if fs_hz is None:
        if not time_cols:
            raise ValueError(f"{path}: no time column and no sampling rate declared (fs_hz)")
        t_s = pd.to_numeric(frame[time_cols[0]], errors="coerce").to_numpy(dtype=float)
        dt_s = np.diff(t_s)
        if t_s.size < 2 or not np.isfinite(dt_s).all() or (dt_s <= 0).any():
            raise ValueError(f"{path}: time column {time_cols[0]!r} is not strictly increasing")
        if np.ptp(dt_s) > 0.01 * np.median(dt_s):
            raise ValueError(f"{path}: time column {time_cols[0]!r} is not evenly spaced")
        fs_hz = 1.0 / float(np.median(dt_s))
    return Record(values.to_numpy(dtype=float), float(fs_hz), leads, path.stem)


def _load_npy(path: Path, fs_hz: float | None) -> Record:
    if fs_hz is None:
        raise ValueError(f"{path}: NPY records need a declared sampling rate (data.records_fs_hz)")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise ValueError(f"{path}: cannot read NPY array: {exc}") from None
    if array.ndim != 2 or array.shape[1] != len(LEADS):
        raise ValueError(
            f"{path}: NPY array shaped {array.shape}, expected (n_samples, 12) in LEADS order"
        )
    if not np.issubdtype(array.dtype, np.number):
        raise ValueError(f"{path}: NPY array of {array.dtype}, expected numbers")
    return Record(array.astype(float), float(fs_hz), LEADS, path.stem)
