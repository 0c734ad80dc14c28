"""Batch digitization and lead extraction: many files in parallel, one QC row per file.

Every file is read, digitized and written inside its own worker call, so only ``jobs`` images
are in memory at a time, and any failure becomes a QC row with its reason instead of stopping
the batch.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
from scipy.signal import resample_poly
from tqdm import tqdm

from kecg.digitize.core import LOWPASS_HZ, DigitizeError, digitize_array
from kecg.digitize.grid import rotate
from kecg.digitize.load import ImageError, read_image
from kecg.digitize.page import warp_to_flat
from kecg.io import LEADS, Record, load_record, normalize_lead_name, read_record, write_record
from kecg.params import n_jobs

QC_COLUMNS: tuple[str, ...] = (
    "ecg_id", "status", "layout", "px_per_mm", "rotation_deg", "reason", "crossing_leads",
    *(f"snr_est_db_{lead}" for lead in LEADS),
)  # fmt: skip
LEAD_COLOURS_BGR: tuple[tuple[int, int, int], ...] = (
    (255, 0, 0), (0, 160, 0), (200, 0, 200), (0, 140, 255), (160, 160, 0), (0, 0, 255),
)  # fmt: skip


def digitize_file(
    path: str | Path,
    ecg_id: str,
    out_dir: str | Path,
    fmt: str = "wfdb",
    max_megapixels: float = 100.0,
    lowpass_hz: float | None = LOWPASS_HZ,
) -> dict:
    """Digitize one image and write ``out_dir/<ecg_id>`` (WFDB or CSV); returns its QC row.

    Never raises for a bad file: the row's ``status`` is ``failed`` and ``reason`` says why.
    """
    try:
        rgb = read_image(path, max_megapixels=max_megapixels)
        result = digitize_array(rgb, ecg_id, lowpass_hz=lowpass_hz)
    except (ImageError, DigitizeError) as exc:
        return _failed(ecg_id, str(exc))
    except Exception as exc:  # one odd image must never stop the batch
        return _failed(ecg_id, f"digitizer error: {type(exc).__name__}: {exc}")
    out = Path(out_dir) / ecg_id
    if fmt == "csv":
        out.parent.mkdir(parents=True, exist_ok=True)
        t_s = np.arange(result.record.signal_mv.shape[0]) / result.record.fs_hz
        frame = pd.DataFrame(result.record.signal_mv, columns=list(result.record.leads))
        frame.insert(0, "t_s", t_s)
        frame.to_csv(out.with_suffix(".csv"), index=False, float_format="%.4f")
    else:
        write_record(out, result.record)
    return {"ecg_id": ecg_id, **result.qc}


def _failed(ecg_id: str, reason: str) -> dict:
    return {"ecg_id": ecg_id, "status": "failed", "reason": reason}


def _digitize_task(args: tuple) -> dict:
    return digitize_file(*args)


def digitize_files(
    paths: Sequence[str | Path],
    ecg_ids: Sequence[str],
    out_dir: str | Path,
    *,
    jobs: int = 0,
    fmt: str = "wfdb",
    max_megapixels: float = 100.0,
    lowpass_hz: float | None = LOWPASS_HZ,
    progress: bool = True,
) -> pd.DataFrame:
    """Digitize every image over ``jobs`` processes (0 = all cores); the QC table, input order.

    Failures are reported on stderr with the file name and reason and kept in the table.
    """
    tasks = [
        (str(p), e, str(out_dir), fmt, max_megapixels, lowpass_hz)
        for p, e in zip(paths, ecg_ids, strict=True)
    ]
    workers = min(n_jobs(jobs), max(1, len(tasks)))
    bar = tqdm(total=len(tasks), desc="digitize", unit="img", disable=not progress)
    rows = []
    if workers == 1:
        results = map(_digitize_task, tasks)
    else:
        # one process per core: OpenCV's own threads would only contend with the other workers
        pool = ProcessPoolExecutor(workers, initializer=cv2.setNumThreads, initargs=(1,))
        results = pool.map(_digitize_task, tasks, chunksize=1)
    for task, row in zip(tasks, results, strict=True):
        if row["status"] != "ok":
            tqdm.write(f"digitize: {task[0]}: {row['reason']}", file=sys.stderr)
        rows.append(row)
        bar.update()
    bar.close()
    if workers > 1:
        pool.shutdown()
    return pd.DataFrame(rows).reindex(columns=[*QC_COLUMNS, *_extra_columns(rows)])


def _extra_columns(rows: list[dict]) -> list[str]:
    seen: dict[str, None] = {}
    for row in rows:
        seen.update(dict.fromkeys(k for k in row if k not in QC_COLUMNS))
    return list(seen)


def draw_overlay(path: str | Path, out_png: str | Path) -> None:
    """Write the page as digitized (flattened, de-rotated) with every panel drawn and labelled."""
    rgb = read_image(path)
    result = digitize_array(rgb, Path(path).stem)
    if result.flattening is not None:
        rgb = warp_to_flat(rgb, *result.flattening)
    page = rotate(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), result.rotation_deg, border=255)
    for i, p in enumerate(result.panels):
        ok = np.isfinite(p.y_px)
        if ok.sum() < 2:
            continue
        colour = LEAD_COLOURS_BGR[i % len(LEAD_COLOURS_BGR)]
        pts = np.stack([p.x_px[ok], p.y_px[ok]], axis=1).round().astype(np.int32)
        cv2.polylines(page, [pts], False, colour, 2, cv2.LINE_AA)
        x0, y0 = int(pts[0, 0]), int(p.baseline_y_px - 3 * result.px_per_mm_x)
        cv2.putText(page, p.lead, (x0, y0), cv2.FONT_HERSHEY_SIMPLEX, 0.8, colour, 2, cv2.LINE_AA)
    Path(out_png).parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_png), page)


def load_source_record(path: str | Path, kind: str, fs_hz: float | None = None) -> Record:
    """A digitized record (``kind == image``: WFDB) or a user's record file (WFDB, CSV, NPY).

    ``fs_hz`` is the rate of record files that do not carry one (NPY, CSV without time).
    """
    return read_record(path) if kind == "image" else load_record(path, fs_hz=fs_hz)


def select_leads(record: Record, leads: Sequence[str], fs_hz: float = 500.0) -> Record:
    """The named leads of ``record`` on one time base at ``fs_hz`` (NaN where a lead is absent).

    A digitized record already holds each lead's longest printed span (its rhythm strip when
    there is one, see :mod:`kecg.digitize.core`). Other rates are resampled polyphase; NaN
    stretches stay NaN.
    """
    names = [normalize_lead_name(n) for n in record.leads]
    missing = np.full(record.signal_mv.shape[0], np.nan)
    signal = np.stack(
        [record.signal_mv[:, names.index(lead)] if lead in names else missing
         for lead in (normalize_lead_name(n) for n in leads)],
        axis=1,
    )  # fmt: skip
    if abs(record.fs_hz - fs_hz) > 1e-9:
        signal = _resample(signal, record.fs_hz, fs_hz)
    return Record(signal, fs_hz, tuple(leads), record.name)


def _resample(signal_mv: np.ndarray, fs_in_hz: float, fs_out_hz: float) -> np.ndarray:
    """Polyphase resampling per column; missing samples are filled for filtering, then re-masked."""
    up, down = _ratio(fs_out_hz, fs_in_hz)
    n_out = round(signal_mv.shape[0] * fs_out_hz / fs_in_hz)
    out = np.full((n_out, signal_mv.shape[1]), np.nan)
    t_in = np.arange(signal_mv.shape[0])
    t_out = np.arange(n_out) * fs_in_hz / fs_out_hz
    for j in range(signal_mv.shape[1]):
        x = signal_mv[:, j]
        ok = np.isfinite(x)
        if ok.sum() < 2:
            continue
        filled = np.interp(t_in, t_in[ok], x[ok])
        y = resample_poly(filled, up, down)[:n_out]
        mask = np.interp(t_out, t_in, ok.astype(float)) > 0.5
        out[: len(y), j] = np.where(mask[: len(y)], y, np.nan)
    return out


def _ratio(fs_out_hz: float, fs_in_hz: float) -> tuple[int, int]:
    frac = Fraction(fs_out_hz / fs_in_hz).limit_denominator(1000)
    return frac.numerator, frac.denominator


def _extract_task(args: tuple) -> dict:
    ecg_id, source, kind, out_dir, leads, fs_hz, records_fs_hz = args
    try:
        record = load_source_record(source, kind, records_fs_hz)
        out = select_leads(record, leads, fs_hz)
        write_record(Path(out_dir) / ecg_id, Record(out.signal_mv, out.fs_hz, out.leads, ecg_id))
    except (OSError, ValueError, KeyError) as exc:
        return {"ecg_id": ecg_id, "kind": kind, "status": "failed", "reason": f"{source}: {exc}"}
    n_ok = int(np.isfinite(out.signal_mv).all(axis=1).sum())
    return {"ecg_id": ecg_id, "kind": kind, "status": "ok", "reason": "",
            "common_span_s": n_ok / fs_hz}  # fmt: skip


def extract_leads(
    sources: Sequence[tuple[str, str | Path, str]],
    out_dir: str | Path,
    leads: Sequence[str],
    *,
    fs_hz: float = 500.0,
    records_fs_hz: float | None = None,
    jobs: int = 0,
    progress: bool = True,
) -> pd.DataFrame:
    """Write ``out_dir/<ecg_id>`` with ``leads`` at ``fs_hz`` for every (ecg_id, path, kind).

    ``kind`` is ``image`` (path: the digitized WFDB record) or ``record`` (a record file read
    with :func:`kecg.io.load_record`, at ``records_fs_hz`` when the file carries no rate).
    Returns one row per record: ``ecg_id, kind, status, reason, common_span_s``.
    """
    tasks = [
        (e, str(p), k, str(out_dir), tuple(leads), fs_hz, records_fs_hz) for e, p, k in sources
    ]
    workers = min(n_jobs(jobs), max(1, len(tasks)))
    rows = []
    with ProcessPoolExecutor(workers) as pool:
        for row in tqdm(pool.map(_extract_task, tasks, chunksize=4), total=len(tasks),
                        desc="extract_leads", unit="rec", disable=not progress):  # fmt: skip
            if row["status"] != "ok":
                tqdm.write(f"extract_leads: {row['reason']}", file=sys.stderr)
            rows.append(row)
    return pd.DataFrame(rows, columns=["ecg_id", "kind", "status", "reason", "common_span_s"])
