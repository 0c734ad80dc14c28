"""kecg.io: lead names and the WFDB round trip."""

from pathlib import Path

import numpy as np
import pytest
import wfdb

from kecg.io import LEADS, Record, normalize_lead_name, read_record, write_record

SHARED = Path(__file__).resolve().parent / "data"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("AVR", "aVR"), ("avl", "aVL"), ("aVF", "aVF"), ("v5", "V5"), ("MLII", "II"), ("i", "I"),
     ("III", "III"), ("Lead II", "II"), ("vx", "vx")],
)  # fmt: skip
def test_normalize_lead_name(raw: str, expected: str) -> None:
    assert normalize_lead_name(raw) == expected


def test_wfdb_round_trip_keeps_microvolts_and_nan(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    signal = rng.normal(0, 1.0, size=(5000, 12))
    signal[:1250, 10] = np.nan
    write_record(tmp_path / "r1", Record(signal, 500.0, LEADS, "r1"))
    back = read_record(tmp_path / "r1.hea")
    assert back.fs_hz == 500.0 and back.leads == LEADS and back.name == "r1"
    assert np.array_equal(np.isnan(back.signal_mv), np.isnan(signal))
    assert np.nanmax(np.abs(back.signal_mv - signal)) <= 0.0005 + 1e-9


@pytest.mark.parametrize("fs_hz", [500.0, 360.0, 257.5])
def test_written_files_are_byte_identical_to_wfdb_wrsamp(tmp_path: Path, fs_hz: float) -> None:
    rng = np.random.default_rng(1)
    signal = rng.normal(0, 2.0, size=(1200, 3))
    signal[100:200, 1] = np.nan
    write_record(tmp_path / "ours", Record(signal, fs_hz, ("I", "II", "V5"), "ours"))
    (tmp_path / "ref").mkdir()
    digital = np.where(np.isnan(signal), -32768, np.round(signal * 1000.0)).astype(np.int16)
    wfdb.wrsamp(
        "ours", fs=fs_hz, units=["mV"] * 3, sig_name=["I", "II", "V5"], d_signal=digital,
        fmt=["16"] * 3, adc_gain=[1000.0] * 3, baseline=[0] * 3, write_dir=str(tmp_path / "ref"),
    )  # fmt: skip
    for suffix in (".hea", ".dat"):
        ours = (tmp_path / f"ours{suffix}").read_bytes()
        assert ours == (tmp_path / "ref" / f"ours{suffix}").read_bytes(), suffix


def test_write_refuses_out_of_range(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="16-bit"):
        write_record(tmp_path / "big", Record(np.full((10, 1), 40.0), 500.0, ("II",)))


def test_standard12_orders_and_fills() -> None:
    rec = Record(np.ones((4, 2)) * [1.0, 2.0], 250.0, ("V5", "II"))
    std = rec.standard12()
    assert std.leads == LEADS
    assert np.all(std.lead("II") == 2.0) and np.all(std.lead("v5") == 1.0)
    assert np.isnan(std.lead("I")).all()
    with pytest.raises(KeyError, match="no lead"):
        rec.lead("V1")


def test_reads_real_record_and_normalises_lowercase_names() -> None:
    rec = read_record(SHARED / "ptb" / "s0010_re")
    assert rec.fs_hz == 1000.0
    assert {"aVR", "V6", "I"} <= set(rec.leads)
    limb = rec.standard12()
    # Einthoven's law holds in a real recording to within quantisation.
    resid = limb.lead("III") - (limb.lead("II") - limb.lead("I"))
    assert np.max(np.abs(resid)) < 0.01
