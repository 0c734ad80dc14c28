"""Tests of the synthetic cohort: lead identities, K⁺ effects, K⁺ mix, determinism, truth."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kecg.io import LEADS, read_record
from kecg.params import load_params
from kecg.synth import CohortSpec, plan_cohort, spec_from_params, synthesize_ecg, write_cohort
from kecg.synth.cohort import FS_HZ, K_BIN_EDGES
from kecg.synth.noise import DEVICE_FILTERS_HZ, device_filter
from kecg.synth.oracle import beat_features

SEED = 20261122


def lead(signal_mv: np.ndarray, name: str) -> np.ndarray:
    return signal_mv[:, LEADS.index(name)]


@pytest.fixture(scope="module")
def small_cohort(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cohort")
    write_cohort(out, n_patients=4, seed=7, artifacts="scan", jobs=1)
    return out


def test_limb_lead_identities_hold_on_written_records(small_cohort: Path) -> None:
    # Each lead is rounded to 1 µV on its own, so an identity of three leads is off by ≤ 1.5 µV.
    quantum_mv = 1e-3
    records = sorted((small_cohort / "signals").glob("*.hea"))
    assert len(records) >= 4
    for path in records:
        x = read_record(path).signal_mv
        i, ii = lead(x, "I"), lead(x, "II")
        assert np.abs(lead(x, "III") - (ii - i)).max() <= 1.5 * quantum_mv + 1e-9
        assert np.abs(lead(x, "aVR") + (i + ii) / 2).max() <= 1.0 * quantum_mv + 1e-9
        assert np.abs(lead(x, "aVL") - (i - ii / 2)).max() <= 1.0 * quantum_mv + 1e-9
        assert np.abs(lead(x, "aVF") - (ii - i / 2)).max() <= 1.0 * quantum_mv + 1e-9
        assert x.shape == (5000, 12) and np.isfinite(x).all()


@pytest.fixture(scope="module")
def features_by_k() -> dict[float, pd.DataFrame]:
    """Oracle features of the same 24 patients' first ECG re-synthesized at fixed true K⁺."""
    plan = plan_cohort(40, SEED)
    rows = plan.drop_duplicates("patient_id").head(24)
    out = {}
    for k in (2.7, 4.5, 5.0, 7.0, 7.5):
        feats = []
        for index, row in rows.iterrows():
            ecg = synthesize_ecg({**row.to_dict(), "k_true_mmol_l": k}, SEED, int(index))
            feats.append(beat_features(ecg.clean_mv, ecg.fiducials))
        out[k] = pd.DataFrame(feats)
    return out


def test_t_wave_grows_from_5_to_7(features_by_k: dict[float, pd.DataFrame]) -> None:
    for name in ("t_amp_II", "t_amp_V5"):
        t5 = features_by_k[5.0][name].abs()
        t7 = features_by_k[7.0][name].abs()
        assert t7.mean() > 1.2 * t5.mean()
        assert (t7 > t5).mean() >= 0.8
    assert features_by_k[7.0]["tsa_V5"].mean() > features_by_k[5.0]["tsa_V5"].mean()


def test_qrs_widens_at_or_above_7(features_by_k: dict[float, pd.DataFrame]) -> None:
    normal = features_by_k[4.5]["qrs_ms"]
    high = features_by_k[7.5]["qrs_ms"]
    assert high.mean() >= normal.mean() + 5.0
    assert (high >= normal).all()


def test_u_wave_appears_below_3(features_by_k: dict[float, pd.DataFrame]) -> None:
    for name in ("u_amp_II", "u_amp_V5"):
        normal = features_by_k[4.5][name].abs()
        low = features_by_k[2.7][name].abs()
        assert low.mean() > 0.03 > normal.mean()
    assert features_by_k[2.7]["qt_ms"].mean() > features_by_k[4.5]["qt_ms"].mean()


def test_potassium_distribution_spans_all_bins_skewed_high() -> None:
    plan = plan_cohort(800, SEED)
    k = plan["k_true_mmol_l"].to_numpy()
    share = np.bincount(np.digitize(k, K_BIN_EDGES), minlength=6) / len(k)
    assert (share >= 0.03).all(), share
    assert share.argmax() == 2  # 5–6 mmol/L, a dialysis cohort's commonest bin
    assert share[0] < share[1] < share[2] and share[2] > share[3] > share[4] > share[5]
    assert 5.0 < np.median(k) < 6.0
    assert 2.5 <= k.min() and k.max() <= 9.5
    lab_error = plan["potassium_mmol_l"] - plan["k_true_mmol_l"]
    assert 0.1 < lab_error.std() < 0.3 and abs(lab_error.mean()) < 0.03
    assert plan.groupby("patient_id").size().between(1, 3).all()


def test_same_seed_gives_identical_bytes_for_any_job_count(tmp_path: Path) -> None:
    for jobs in (1, 2):
        write_cohort(tmp_path / f"jobs{jobs}", n_patients=3, seed=11, artifacts="scan", jobs=jobs)
    files = sorted(p.relative_to(tmp_path / "jobs1") for p in (tmp_path / "jobs1").rglob("*"))
    files = [f for f in files if (tmp_path / "jobs1" / f).is_file()]
    other = sorted(p.relative_to(tmp_path / "jobs2") for p in (tmp_path / "jobs2").rglob("*"))
    assert files == [f for f in other if (tmp_path / "jobs2" / f).is_file()]
    assert any(f.suffix == ".jpg" for f in files) and any(f.suffix == ".dat" for f in files)
    for f in files:
        assert (tmp_path / "jobs1" / f).read_bytes() == (tmp_path / "jobs2" / f).read_bytes(), f


def test_fiducials_match_the_signal(small_cohort: Path) -> None:
    labels = pd.read_csv(small_cohort / "labels.csv")
    written = pd.read_csv(small_cohort / "fiducials.csv")
    plan = plan_cohort(4, 7)
    assert list(plan["ecg_id"]) == list(labels["ecg_id"])
    order = ["p_on", "p_peak", "p_off", "qrs_on", "r", "qrs_off", "t_peak", "t_end"]
    for index, row in enumerate(plan.to_dict("records")):
        ecg = synthesize_ecg(row, 7, index)
        mine = written[written["ecg_id"] == row["ecg_id"]].reset_index(drop=True)
        assert len(mine) == len(ecg.fiducials)
        pd.testing.assert_frame_equal(mine, ecg.fiducials, check_dtype=False)
        energy = np.sum(ecg.clean_mv**2, axis=1)
        for beat in mine[mine["beat_type"] == "N"].to_dict("records"):
            present = [beat[c] for c in order if not pd.isna(beat[c])]
            assert present == sorted(present)
            if not any(pd.isna(beat[c]) for c in ("qrs_on", "r", "qrs_off")):
                q_on, q_off, r = int(beat["qrs_on"]), int(beat["qrs_off"]), int(beat["r"])
                peak = q_on + int(np.argmax(energy[q_on : q_off + 1]))
                assert abs(peak - r) <= 0.012 * FS_HZ  # the largest QRS deflection is at R
                assert energy[q_on] < 0.05 * energy[r] and energy[q_off] < 0.05 * energy[r]
            t_peak, t_end = beat["t_peak"], beat["t_end"]
            if not pd.isna(t_end) and not pd.isna(t_peak):
                t_energy = energy[int(t_peak)]
                assert energy[int(t_end)] < 0.25 * t_energy


def test_params_cohort_section_is_the_default_spec() -> None:
    params = load_params(Path(__file__).parents[1] / "params.yaml")
    assert spec_from_params(params["synth"]["cohort"]) == CohortSpec()
    with pytest.raises(ValueError, match="unknown keys"):
        spec_from_params({"k_weight": [1.0]})


def test_recorded_signal_went_through_the_filters_its_footer_names() -> None:
    """The cart's band-pass and notch: what the printout says is what the trace shows."""
    t_s = np.arange(5000) / FS_HZ
    for high_pass_hz, low_pass_hz in DEVICE_FILTERS_HZ:
        for mains_hz in (50.0, 60.0):
            tones = np.sin(
                2 * np.pi * np.array([10.0, mains_hz, 2 * low_pass_hz])[None] * t_s[:, None]
            )
            out = device_filter(tones, FS_HZ, highpass_hz=high_pass_hz, lowpass_hz=low_pass_hz,
                                notch_hz=mains_hz)[1000:-1000]  # fmt: skip
            gain = np.sqrt(np.mean(out**2, axis=0) / np.mean(tones[1000:-1000] ** 2, axis=0))
            assert gain[0] > 0.95 and gain[1] < 0.05
            assert gain[2] < 0.1 or 2 * low_pass_hz >= 0.45 * FS_HZ
    plan = plan_cohort(12, SEED)
    assert set(zip(plan["highpass_hz"], plan["lowpass_hz"], strict=True)) <= set(DEVICE_FILTERS_HZ)
    for index, row in enumerate(plan.head(8).to_dict("records")):
        ecg = synthesize_ecg(row, SEED, index)
        # zero phase: every complex stays where the clean signal has it
        j = LEADS.index("V3")
        lag = np.argmax(np.correlate(ecg.clean_mv[:, j], ecg.signal_mv[:, j], "full")) - 4999
        assert lag == 0
        i, ii = lead(ecg.signal_mv, "I"), lead(ecg.signal_mv, "II")
        assert np.allclose(lead(ecg.signal_mv, "III"), ii - i, atol=1e-9)
    # a steady beat train stays level: no high-pass transient from the record's ends (the odd
    # reflection's jump in level started one, and every trace of a page sloped by 0.4 mV)
    beats = np.exp(-0.5 * ((t_s % 1.0 - 0.5) / 0.02) ** 2)[:, None]
    level = device_filter(beats, FS_HZ, highpass_hz=0.05, lowpass_hz=40.0, notch_hz=50.0)
    assert np.ptp(level.reshape(10, 500).mean(axis=1)) < 0.01  # 0.03 with the odd reflection
