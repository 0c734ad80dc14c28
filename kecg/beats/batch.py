"""Folders of records through the beat chain in parallel, and the files the stages write.

``rpeaks.json`` (stage ``detect``)::

    {"leads": ["II", "V5"],
     "records": {"<ecg_id>": {"fs_hz": 500.0, "rpeaks": [sample, ...]}},
     "failed": {"<ecg_id>": "reason"}}

R peaks are sample indices at the record's own ``fs_hz``. The ``median_beat`` outputs follow
``docs/data-formats.md``: ``median_beats.npz``, ``fiducials.csv`` and ``beats_rejected.csv``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from kecg.beats.delineate import FIDUCIALS
from kecg.beats.record import MedianBeat, record_median_beat, record_rpeaks
from kecg.io.records import read_record


def list_records(records_dir: str | Path) -> list[Path]:
    """WFDB record paths (no extension) in ``records_dir``, sorted by name."""
    folder = Path(records_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such records folder")
    return [p.with_suffix("") for p in sorted(folder.glob("*.hea"))]


def _parallel_map(fn: Callable[[Any], Any], items: list[Any], jobs: int, desc: str) -> list[Any]:
    """``[fn(x) for x in items]`` over ``jobs`` processes, in order, with a progress bar."""
    if jobs <= 1 or len(items) < 2:
        return [fn(x) for x in tqdm(items, desc=desc, leave=False)]
    chunk = max(1, len(items) // (8 * jobs))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        return list(
            tqdm(pool.map(fn, items, chunksize=chunk), total=len(items), desc=desc, leave=False)
        )


def _detect_one(path: Path, leads: tuple[str, ...]) -> tuple[str, float, list[int] | None, str]:
    try:
        record = read_record(path)
        rpeaks = record_rpeaks(record, leads)
    except Exception as exc:  # a bad record is reported, never fatal to the batch
        return path.name, 0.0, None, f"{path}: {exc}"
    return path.name, record.fs_hz, rpeaks.tolist(), ""


def detect_folder(records_dir: str | Path, leads: Iterable[str], jobs: int = 1) -> dict[str, Any]:
    """R peaks of every record in ``records_dir`` (the ``rpeaks.json`` layout above)."""
    leads = tuple(leads)
    paths = list_records(records_dir)
    results = _parallel_map(partial(_detect_one, leads=leads), paths, jobs, "detect")
    out: dict[str, Any] = {"leads": list(leads), "records": {}, "failed": {}}
    for ecg_id, fs_hz, rpeaks, reason in results:
        if rpeaks is None:
            out["failed"][ecg_id] = reason
        else:
            out["records"][ecg_id] = {"fs_hz": fs_hz, "rpeaks": rpeaks}
    return out


def _median_one(
    item: tuple[Path, list[int]], leads: tuple[str, ...], options: dict[str, Any]
) -> MedianBeat | str:
    path, rpeaks = item
    try:
        return record_median_beat(read_record(path), np.asarray(rpeaks), leads, **options)
    except Exception as exc:  # a bad record is reported, never fatal to the batch
        return f"{path}: {exc}"


def median_beat_folder(
    records_dir: str | Path, rpeaks: dict[str, Any], jobs: int = 1, **options: Any
) -> tuple[dict[str, MedianBeat], dict[str, str]]:
    """Median beats of the records listed in ``rpeaks`` (the ``detect`` output).

    ``options`` go to :func:`kecg.beats.record.record_median_beat`. Returns the median beats
    and the rejected records with their reasons (detection failures included), keyed by id.
    """
    leads = tuple(rpeaks["leads"])
    folder = Path(records_dir)
    ids = sorted(rpeaks["records"])
    items = [(folder / ecg_id, rpeaks["records"][ecg_id]["rpeaks"]) for ecg_id in ids]
    fn = partial(_median_one, leads=leads, options=options)
    results = _parallel_map(fn, items, jobs, "median_beat")
    beats = {i: r for i, r in zip(ids, results, strict=True) if isinstance(r, MedianBeat)}
    rejected = dict(rpeaks["failed"])
    rejected.update({i: r for i, r in zip(ids, results, strict=True) if isinstance(r, str)})
    return beats, dict(sorted(rejected.items()))


def write_median_beats(
    out_dir: str | Path, beats: dict[str, MedianBeat], rejected: dict[str, str]
) -> None:
    """Write ``median_beats.npz``, ``fiducials.csv`` and ``beats_rejected.csv`` to ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ids = sorted(beats)
    first = beats[ids[0]] if ids else None
    leads = first.leads if first else ()
    width = first.beat_mv.shape[1] if first else 0
    np.savez_compressed(
        out / "median_beats.npz",
        beats=np.stack([beats[i].beat_mv for i in ids]).astype(np.float32)
        if ids
        else np.zeros((0, len(leads), width), np.float32),
        ecg_ids=np.asarray(ids, dtype=str),
        leads=np.asarray(leads, dtype=str),
        fs_hz=np.float64(first.fs_hz if first else 0.0),
        r_index=np.int64(first.r_index if first else 0),
        quality=np.asarray([beats[i].quality for i in ids], dtype=np.float32),
        n_beats=np.asarray([beats[i].n_beats for i in ids], dtype=np.int64),
        rr_ms=np.asarray([beats[i].rr_ms for i in ids], dtype=np.float32),
    )
    rows = [
        {"ecg_id": i, "lead": lead, **{k: beats[i].fiducials_ms[k][j] for k in FIDUCIALS}}
        for i in ids
        for j, lead in enumerate(beats[i].leads)
    ]
    pd.DataFrame(rows, columns=["ecg_id", "lead", *FIDUCIALS]).to_csv(
        out / "fiducials.csv", index=False, float_format="%.1f"
    )
    pd.DataFrame(list(rejected.items()), columns=["ecg_id", "reason"]).to_csv(
        out / "beats_rejected.csv", index=False
    )


def read_rpeaks(path: str | Path) -> dict[str, Any]:
    """The ``detect`` output file."""
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def write_rpeaks(path: str | Path, rpeaks: dict[str, Any]) -> None:
    """Write the ``detect`` output file."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(rpeaks, fh, separators=(",", ":"))
