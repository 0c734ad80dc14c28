"""Fusing a page's readings by the limb-lead identities (kecg.digitize.fuse)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kecg.digitize.fuse import fuse_readings, place_readings
from kecg.digitize.layout import layout_plan
from kecg.io import LEADS, read_record

DATA = Path(__file__).parent / "data"
PX_PER_MV, PX_PER_SAMPLE = 80.0, 0.4  # 8 px/mm at 10 mm/mV and 25 mm/s, 500 Hz


def _true_10s(name: str) -> np.ndarray:
    """The first 10 s of a shared record at 500 Hz, (5000, 12) mV."""
    record = read_record(DATA / name).standard12()
    step = round(record.fs_hz / 500.0)
    return record.signal_mv[::step][:5000]


def _page_readings(true_mv: np.ndarray, noise_px: float, seed: int) -> list[tuple[str, np.ndarray]]:
    """A 3×4 + 1 page's readings of ``true_mv``: each panel and the II strip with independent
    reading noise (``noise_px`` rms, smoothed over 3 samples like a column's reading)."""
    rng = np.random.default_rng(seed)
    t_s = np.arange(len(true_mv)) / 500.0
    out = []
    for spec in layout_plan("3x4+1"):
        shown = (t_s >= spec.t_start_s) & (t_s < spec.t_end_s)
        noise = np.convolve(
            rng.normal(0.0, noise_px * np.sqrt(3), len(t_s)), np.ones(3) / 3, "same"
        )
        out.append(
            (
                spec.lead,
                np.where(shown, true_mv[:, LEADS.index(spec.lead)] + noise / PX_PER_MV, np.nan),
            )
        )
    return out


def _rms_px(signal_mv: np.ndarray, true_mv: np.ndarray, lead: str) -> float:
    j = LEADS.index(lead)
    err = (signal_mv[:, j] - true_mv[:, j])[np.isfinite(signal_mv[:, j])]
    return float(np.sqrt(np.mean(err**2)) * PX_PER_MV)


def test_fusing_limb_leads_averages_out_reading_error() -> None:
    """PTB's limb leads obey Einthoven's and Goldberger's identities: with I, II (panel and
    strip) and III read at once, each reading's error shrinks (by 14–35 % here)."""
    true = _true_10s("ptb/s0010_re")
    readings = _page_readings(true, 0.5, seed=1)
    before, after = place_readings(readings), fuse_readings(readings, PX_PER_MV, PX_PER_SAMPLE)
    for lead in ("I", "III", "aVR", "aVL", "aVF"):
        assert _rms_px(after, true, lead) < 0.9 * _rms_px(before, true, lead)
    # the II strip is fused over the first 5 s only, where the other limb leads are shown
    assert _rms_px(after[:2500], true[:2500], "II") < 0.85 * _rms_px(
        before[:2500], true[:2500], "II"
    )
    np.testing.assert_array_equal(after[2500:, LEADS.index("II")], before[2500:, LEADS.index("II")])
    for lead in ("V1", "V2", "V3", "V4", "V6"):  # one reading each: as read
        np.testing.assert_array_equal(after[:, LEADS.index(lead)], before[:, LEADS.index(lead)])


def test_a_reading_far_off_spoils_no_other_lead() -> None:
    """A strip that follows another row's trace for 80 ms (1 mV off) must not pull I and III."""
    true = _true_10s("ptb/s0010_re")
    readings = _page_readings(true, 0.3, seed=2)
    strip = next(mv for lead, mv in readings[::-1] if lead == "II")
    strip[300:340] += 1.0
    after = fuse_readings(readings, PX_PER_MV, PX_PER_SAMPLE)
    for lead in ("I", "III"):
        j = LEADS.index(lead)
        assert np.max(np.abs(after[280:360, j] - true[280:360, j])) * PX_PER_MV < 2.0


def test_leads_that_break_the_identities_are_kept_as_read() -> None:
    """LUDB's limb leads were not derived from two: I + III − II is 40 % of II's RMS. Fusing
    them would print another signal than the page shows, so every reading stays as read."""
    true = _true_10s("ludb/003")
    ii = true[:, LEADS.index("II")]
    identity = true[:, LEADS.index("I")] + true[:, LEADS.index("III")] - ii
    assert np.std(identity) > 0.3 * np.std(ii)
    readings = _page_readings(true, 0.3, seed=3)
    np.testing.assert_array_equal(
        fuse_readings(readings, PX_PER_MV, PX_PER_SAMPLE), place_readings(readings)
    )
