"""One record through the beat chain: R peaks, beat windows, median beat, fiducials."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kecg.beats.cycles import median_beat, remove_baseline, segment_beats
from kecg.beats.delineate import delineate
from kecg.beats.rpeaks import detect_rpeaks
from kecg.io.records import Record, read_record


class BeatError(ValueError):
    """A record that yields no usable median beat; the message is the reason."""


@dataclass
class MedianBeat:
    """The median beat of one record and how it was obtained."""

    beat_mv: np.ndarray  # (n_leads, width) float32, isoelectric-corrected
    leads: tuple[str, ...]
    fs_hz: float
    r_index: int
    quality: float  # mean correlation of the kept beats with the median beat
    n_beats: int  # beats kept
    n_detected: int  # R peaks detected
    rr_ms: float  # median RR interval of the record
    fiducials_ms: dict[str, np.ndarray]  # name -> (n_leads,) ms relative to R, NaN if absent


def select_leads(record: Record, leads: tuple[str, ...]) -> np.ndarray:
    """``(n_samples, len(leads))`` of ``record``; a lead it lacks is an error naming the record."""
    try:
        return np.stack([record.lead(name) for name in leads], axis=1)
    except KeyError as exc:
        raise BeatError(str(exc.args[0])) from None


def record_rpeaks(record: Record, leads: tuple[str, ...]) -> np.ndarray:
    """R-peak sample indices (at ``record.fs_hz``) fused over ``leads``."""
    x = select_leads(record, leads)
    if not np.isfinite(x).any():
        raise BeatError(f"leads {', '.join(leads)} are all NaN")
    return detect_rpeaks(x, record.fs_hz)


def record_median_beat(
    record: Record,
    rpeaks: np.ndarray,
    leads: tuple[str, ...],
    fs_out_hz: float = 500.0,
    pre_s: float = 0.4,
    width: int = 512,
    min_corr: float = 0.8,
    min_beats: int = 3,
    min_coverage: float = 0.9,
    delineation: dict[str, float] | None = None,
) -> MedianBeat:
    """Median beat and fiducials of ``record`` from its R peaks; :class:`BeatError` if unusable.

    A lead finite over less than ``min_coverage`` of the beat window in every kept beat makes
    the record unusable; smaller gaps at the window's ends are held at the nearest value.
    ``delineation`` holds keyword arguments of :func:`kecg.beats.delineate.delineate`.
    """
    rpeaks = np.asarray(rpeaks, dtype=np.int64)
    if rpeaks.size < min_beats:
        raise BeatError(f"{rpeaks.size} R peaks detected, need {min_beats}")
    x = remove_baseline(select_leads(record, leads), record.fs_hz)
    beats = segment_beats(x, rpeaks, record.fs_hz, fs_out_hz, pre_s, width)
    r_index = round(pre_s * fs_out_hz)
    med, kept, corr = median_beat(beats, fs_out_hz, r_index, min_corr)
    if kept.sum() < min_beats:
        raise BeatError(
            f"{int(kept.sum())} of {rpeaks.size} beats match the template (corr ≥ {min_corr}), "
            f"need {min_beats}"
        )
    for j, lead in enumerate(leads):
        finite = np.isfinite(med[j])
        if finite.mean() < min_coverage:
            raise BeatError(f"lead {lead}: median beat covers {finite.mean():.0%} of the window")
        if not finite.all():
            idx = np.arange(width)
            med[j] = np.interp(idx, idx[finite], med[j, finite])
    rr_s = float(np.median(np.diff(rpeaks))) / record.fs_hz if rpeaks.size > 1 else None
    beat, fiducials = delineate(med, fs_out_hz, r_index, rr_s, **(delineation or {}))
    return MedianBeat(
        beat_mv=beat.astype(np.float32),
        leads=leads,
        fs_hz=fs_out_hz,
        r_index=r_index,
        quality=float(np.mean(corr[kept])),
        n_beats=int(kept.sum()),
        n_detected=int(rpeaks.size),
        rr_ms=float("nan") if rr_s is None else 1000.0 * rr_s,
        fiducials_ms=fiducials,
    )


def summarize_record(path: str | Path, leads: tuple[str, ...] | None = None) -> dict[str, Any]:
    """R peaks, median-beat quality and fiducials of the WFDB record at ``path``, as plain data.

    ``leads`` defaults to those of II and V5 that the record has (else its first lead); the
    median beat failing is reported under ``"error"`` next to the R peaks.
    """
    record = read_record(path)
    if not leads:
        leads = tuple(name for name in ("II", "V5") if name in record.leads) or record.leads[:1]
    rpeaks = record_rpeaks(record, leads)
    out: dict[str, Any] = {
        "record": str(path),
        "fs_hz": record.fs_hz,
        "leads": list(leads),
        "rpeaks": rpeaks.tolist(),
    }
    try:
        beat = record_median_beat(record, rpeaks, leads)
    except BeatError as exc:
        out["error"] = str(exc)
        return out
    out.update(
        n_beats=beat.n_beats,
        quality=round(beat.quality, 4),
        rr_ms=round(beat.rr_ms, 1),
        fiducials_ms={
            lead: {
                k: (None if np.isnan(v[j]) else float(v[j])) for k, v in beat.fiducials_ms.items()
            }
            for j, lead in enumerate(leads)
        },
    )
    return out
