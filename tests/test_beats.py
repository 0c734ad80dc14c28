"""Beats: R peaks, median beats and fiducials against the synthetic ground truth and MIT-BIH."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wfdb
from scipy.signal import resample_poly

from kecg.beats.batch import detect_folder, median_beat_folder, write_median_beats
from kecg.beats.cycles import median_beat, remove_baseline, segment_beats
from kecg.beats.delineate import FIDUCIALS
from kecg.beats.record import BeatError, record_median_beat, record_rpeaks
from kecg.beats.rpeaks import detect_rpeaks, match_peaks
from kecg.bench.beats import BEAT_SYMBOLS, score_rpeaks, truth_relative_ms
from kecg.io.records import Record, read_record

LEADS = ("II", "V5")
FS_HZ = 500.0
MITDB = Path(__file__).resolve().parent / "data" / "mitdb" / "100"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kecg.synth import write_cohort

    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, n_patients=8, seed=7, images=False, jobs=1)
    return out


@pytest.fixture(scope="module")
def truth(cohort: Path) -> pd.DataFrame:
    return pd.read_csv(cohort / "fiducials.csv")


def _record(cohort: Path, ecg_id: str) -> Record:
    return read_record(cohort / "signals" / ecg_id)


def test_rpeaks_match_synthetic_truth(cohort: Path, truth: pd.DataFrame) -> None:
    errors_ms, n_ref, n_det = [], 0, 0
    for ecg_id, group in truth.groupby("ecg_id"):
        det = record_rpeaks(_record(cohort, ecg_id), LEADS)
        ref = group["r"].to_numpy()
        ri, di = match_peaks(det, ref, round(0.075 * FS_HZ))
        errors_ms.append(np.abs(det[di] - ref[ri]) * 1000 / FS_HZ)
        n_ref, n_det = n_ref + ref.size, n_det + det.size
    err = np.concatenate(errors_ms)
    assert err.size / n_ref >= 0.98
    assert err.size / n_det >= 0.98
    assert np.median(err) <= 4.0


def test_fiducials_match_synthetic_truth(cohort: Path, truth: pd.DataFrame) -> None:
    rpeaks = detect_folder(cohort / "signals", LEADS, jobs=1)
    beats, rejected = median_beat_folder(cohort / "signals", rpeaks, jobs=1)
    assert not rejected
    rel = truth_relative_ms(cohort / "fiducials.csv")
    for name in ("qrs_on_ms", "qrs_off_ms", "t_end_ms"):
        est = pd.Series({i: b.fiducials_ms[name][0] for i, b in beats.items()})
        err = (est - rel[name].reindex(est.index)).abs()
        assert err.notna().all()
        assert err.median() <= 10.0, name
        assert err.quantile(0.9) <= 20.0, name


def test_ectopic_beats_are_rejected(cohort: Path, truth: pd.DataFrame) -> None:
    with_pvc = truth.groupby("ecg_id")["beat_type"].apply(lambda s: (s == "V").any())
    assert with_pvc.any()
    for ecg_id in with_pvc[with_pvc].index:
        group = truth[truth["ecg_id"] == ecg_id]
        record = _record(cohort, ecg_id)
        x = remove_baseline(np.stack([record.lead(n) for n in LEADS], 1), FS_HZ)
        beats = segment_beats(x, group["r"], FS_HZ)
        _, kept, _ = median_beat(beats, FS_HZ, 200)
        is_pvc = (group["beat_type"] == "V").to_numpy()
        assert not kept[is_pvc].any(), ecg_id
        assert kept[~is_pvc].mean() >= 0.8, ecg_id


def test_multilead_fusion_fills_a_short_v5_panel(cohort: Path, truth: pd.DataFrame) -> None:
    ecg_id = truth["ecg_id"].iloc[0]
    full = _record(cohort, ecg_id)
    x = np.stack([full.lead(n) for n in LEADS], 1)
    cut = x.copy()
    outside = np.ones(len(x), dtype=bool)
    outside[round(5.0 * FS_HZ) : round(7.5 * FS_HZ)] = False
    cut[outside, 1] = np.nan
    panel = Record(cut, FS_HZ, LEADS, ecg_id)
    got_r, ref_r = record_rpeaks(panel, LEADS), record_rpeaks(full, LEADS)
    # Every beat is found; R may sit on II instead of V5 outside the panel (≤ 1 sample apart).
    assert got_r.shape == ref_r.shape
    assert np.abs(got_r - ref_r).max() <= 1
    ref = record_median_beat(full, ref_r, LEADS)
    got = record_median_beat(panel, got_r, LEADS)
    # The panel's median of ~3 beats vs the record's ~10: same shape up to beat-to-beat noise.
    assert np.sqrt(np.mean((got.beat_mv[1] - ref.beat_mv[1]) ** 2)) < 0.03
    assert abs(got.fiducials_ms["qrs_on_ms"][0] - ref.fiducials_ms["qrs_on_ms"][0]) <= 4.0


def test_inverted_noisy_wandering_and_resampled(cohort: Path, truth: pd.DataFrame) -> None:
    ecg_id = truth["ecg_id"].iloc[1]
    ref = truth.loc[truth["ecg_id"] == ecg_id, "r"].to_numpy()
    x = _record(cohort, ecg_id).lead("II")
    t_s = np.arange(x.size) / FS_HZ
    rng = np.random.default_rng(0)
    hard = -x + 0.6 * np.sin(2 * np.pi * 0.3 * t_s) + rng.normal(0.0, 0.05, x.size)
    score = score_rpeaks(detect_rpeaks(hard, FS_HZ), ref, FS_HZ)
    assert score["se_pct"] == 100.0 and score["ppv_pct"] == 100.0
    assert score["median_err_ms"] <= 4.0
    x360 = resample_poly(x, 18, 25)
    score = score_rpeaks(detect_rpeaks(x360, 360.0), np.round(ref * 0.72).astype(int), 360.0)
    assert score["se_pct"] == 100.0 and score["median_err_ms"] <= 3.0


def test_small_sharp_qrs_beside_broad_p_and_t_waves() -> None:
    """A 0.35 mV QRS between a 0.2 mV P and a broad 0.4 mV T (their envelopes rival the QRS's):
    the R peaks, not the P waves (which once blocked the QRS by the refractory period)."""
    t_s = np.arange(5000) / FS_HZ
    r_s = np.arange(0.5, 10.0, 1.2)

    def waves(at_s: np.ndarray, mv: float, sd_s: float) -> np.ndarray:
        return mv * np.exp(-0.5 * ((t_s[:, None] - at_s) / sd_s) ** 2).sum(axis=1)

    x = (
        waves(r_s, 0.35, 0.008)
        - waves(r_s + 0.025, 0.08, 0.008)
        + waves(r_s + 0.30, 0.4, 0.06)
        + waves(r_s - 0.2, 0.2, 0.025)
        + np.random.default_rng(1).normal(0.0, 0.01, t_s.size)
    )
    score = score_rpeaks(detect_rpeaks(x, FS_HZ), np.round(r_s * FS_HZ).astype(int), FS_HZ)
    assert score["se_pct"] == 100.0 and score["ppv_pct"] == 100.0
    assert score["median_err_ms"] <= 2.0


def test_resampled_record_gives_the_same_median_beat(cohort: Path, truth: pd.DataFrame) -> None:
    ecg_id = truth["ecg_id"].iloc[2]
    full = _record(cohort, ecg_id)
    low = Record(resample_poly(full.signal_mv, 18, 25, axis=0), 360.0, full.leads, ecg_id)
    a = record_median_beat(full, record_rpeaks(full, LEADS), LEADS)
    b = record_median_beat(low, record_rpeaks(low, LEADS), LEADS)
    assert b.beat_mv.shape == a.beat_mv.shape == (2, 512)
    assert np.corrcoef(a.beat_mv.ravel(), b.beat_mv.ravel())[0, 1] > 0.99
    for name in ("qrs_on_ms", "qrs_off_ms", "t_end_ms"):
        assert abs(a.fiducials_ms[name][0] - b.fiducials_ms[name][0]) <= 6.0, name


def test_outputs_follow_the_contract(cohort: Path, tmp_path: Path) -> None:
    rpeaks = detect_folder(cohort / "signals", LEADS, jobs=2)
    bad = tmp_path / "records"
    bad.mkdir()
    for p in sorted((cohort / "signals").glob("*"))[:4]:
        (bad / p.name).write_bytes(p.read_bytes())
    (bad / "broken.hea").write_text("broken 12 500 nonsense\n")
    small = detect_folder(bad, LEADS, jobs=1)
    assert "broken" in small["failed"] and "broken" in small["failed"]["broken"]
    beats, rejected = median_beat_folder(bad, small, jobs=1)
    assert len(beats) == 2 and list(rejected) == ["broken"]
    write_median_beats(tmp_path, beats, rejected)
    with np.load(tmp_path / "median_beats.npz") as npz:
        assert npz["beats"].shape == (2, 2, 512) and npz["beats"].dtype == np.float32
        assert list(npz["leads"]) == list(LEADS) and int(npz["r_index"]) == 200
        assert float(npz["fs_hz"]) == 500.0 and npz["n_beats"].min() >= 3
        assert np.isfinite(npz["beats"]).all()
    fid = pd.read_csv(tmp_path / "fiducials.csv")
    assert list(fid.columns) == ["ecg_id", "lead", *FIDUCIALS] and len(fid) == 4
    assert (fid["qrs_on_ms"] < 0).all() and (fid["t_end_ms"] > fid["qrs_off_ms"]).all()
    assert pd.read_csv(tmp_path / "beats_rejected.csv")["ecg_id"].tolist() == ["broken"]
    assert len(rpeaks["records"]) == len(list((cohort / "signals").glob("*.hea")))


def test_unusable_records_raise_with_a_reason() -> None:
    flat = Record(np.full((5000, 2), np.nan), FS_HZ, LEADS, "empty")
    with pytest.raises(BeatError, match="all NaN"):
        record_rpeaks(flat, LEADS)
    with pytest.raises(BeatError, match="no lead"):
        record_rpeaks(Record(np.zeros((5000, 1)), FS_HZ, ("I",), "one"), LEADS)
    with pytest.raises(BeatError, match="R peaks"):
        record_median_beat(Record(np.zeros((5000, 2)), FS_HZ, LEADS, "z"), np.array([100]), LEADS)


@pytest.mark.parametrize("lead", [0, 1])
def test_mitdb_100_each_lead(lead: int) -> None:
    rec = wfdb.rdrecord(str(MITDB))
    ann = wfdb.rdann(str(MITDB), "atr")
    ref = np.asarray([s for s, y in zip(ann.sample, ann.symbol, strict=True) if y in BEAT_SYMBOLS])
    score = score_rpeaks(detect_rpeaks(rec.p_signal[:, lead], rec.fs), ref, rec.fs)
    assert score["se_pct"] >= 99.5 and score["ppv_pct"] >= 99.5
