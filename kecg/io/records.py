"""ECG records on disk: WFDB in and out, with the 12 standard leads in a fixed order.

A record in memory is a :class:`Record`: ``signal_mv`` of shape ``(n_samples, n_leads)`` in
millivolts (the wfdb ``p_signal`` convention), the sampling rate ``fs_hz`` and the lead names.
Leads that were not recorded or not printed are NaN, so every record can carry all 12 leads on
one time base.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import wfdb

LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6",
)  # fmt: skip

_CANONICAL = {name.lower(): name for name in LEADS}
_ALIASES = {"mlii": "II", "ml2": "II", "d1": "I", "d2": "II", "d3": "III"}


def normalize_lead_name(name: str) -> str:
    """Map a lead name as sources spell it (``AVR``, ``avr``, ``MLII``, ``v5``) to ``LEADS`` form.

    Names that are not one of the 12 standard leads are returned stripped but otherwise unchanged.
    """
    key = name.strip().lower().replace(" ", "").replace("-", "")
    if key.startswith("lead"):
        key = key[4:]
    return _CANONICAL.get(key, _ALIASES.get(key, name.strip()))


@dataclass
class Record:
    """An ECG record: ``signal_mv`` (n_samples, n_leads) in mV, NaN where a lead is missing."""

    signal_mv: np.ndarray
    fs_hz: float
    leads: tuple[str, ...]
    name: str = ""

    def __post_init__(self) -> None:
        self.signal_mv = np.asarray(self.signal_mv, dtype=np.float64)
        if self.signal_mv.ndim != 2 or self.signal_mv.shape[1] != len(self.leads):
            raise ValueError(
                f"record {self.name!r}: signal shape {self.signal_mv.shape} does not match "
                f"{len(self.leads)} leads"
            )
        if not self.fs_hz > 0:
            raise ValueError(f"record {self.name!r}: sampling rate must be positive")

    @property
    def duration_s(self) -> float:
        return self.signal_mv.shape[0] / self.fs_hz

    def lead(self, name: str) -> np.ndarray:
        """One lead's samples in mV (a view)."""
        try:
            return self.signal_mv[:, self.leads.index(normalize_lead_name(name))]
        except ValueError:
            raise KeyError(
                f"record {self.name!r} has no lead {name!r} (has {self.leads})"
            ) from None

    def standard12(self) -> Record:
        """The same record with exactly the 12 standard leads in ``LEADS`` order (NaN if absent)."""
        out = np.full((self.signal_mv.shape[0], len(LEADS)), np.nan)
        for j, lead in enumerate(self.leads):
            if lead in LEADS:
                out[:, LEADS.index(lead)] = self.signal_mv[:, j]
        return Record(out, self.fs_hz, LEADS, self.name)


def read_record(path: str | Path) -> Record:
    """Read a WFDB record (``path`` with or without ``.hea``); lead names are normalised."""
    path = Path(path)
    base = path.with_suffix("") if path.suffix in {".hea", ".dat"} else path
    if not base.with_suffix(".hea").exists():
        raise FileNotFoundError(f"{base}.hea: no such WFDB header")
    rec = wfdb.rdrecord(str(base))
    leads = tuple(normalize_lead_name(n) for n in rec.sig_name)
    return Record(rec.p_signal, float(rec.fs), leads, base.name)


def write_record(path: str | Path, record: Record, resolution_uv: float = 1.0) -> None:
    """Write ``record`` as a WFDB record (format 16) at ``path`` (no extension).

    Samples are stored as integers of ``resolution_uv`` microvolts, so values round-trip to
    within half that step; NaN samples are stored as WFDB's missing-value code.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gain = 1000.0 / resolution_uv
    digital = np.round(record.signal_mv * gain)
    limit = 2**15 - 1
    if np.nanmax(np.abs(digital), initial=0.0) >= limit:
        raise ValueError(f"{path}: signal exceeds the 16-bit range at {resolution_uv} µV per step")
    d_signal = np.where(np.isnan(digital), -(2**15), digital).astype("<i2")
    # The header wfdb.wrsamp writes, without its per-field bookkeeping (40 ms a record).
    n_samples, n_sig = d_signal.shape
    checksums = d_signal.astype(np.int64).sum(axis=0) % 65536
    dat = f"{path.name}.dat"
    lines = [f"{path.name} {n_sig} {record.fs_hz:g} {n_samples}"]
    lines += [
        f"{dat} 16 {gain}(0)/mV 16 0 {int(d_signal[0, j]) if n_samples else 0} "
        f"{int(checksums[j])} 0 {lead}"
        for j, lead in enumerate(record.leads)
    ]
    (path.parent / f"{path.name}.hea").write_text("\n".join(lines) + "\n", encoding="ascii")
    d_signal.tofile(path.parent / dat)
