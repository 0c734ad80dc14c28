"""Handcrafted features measured on synthetic Gaussian beats with known geometry."""

import numpy as np
import pandas as pd
import pytest

from kecg.features import (
    CLINICAL_FEATURES,
    STATISTICAL_FEATURES,
    clinical_feature_table,
    clinical_features,
    feature_table,
    statistical_features,
)

FS_HZ, R_INDEX, WIDTH = 500.0, 200, 512
T_MS = (np.arange(WIDTH) - R_INDEX) * 1000.0 / FS_HZ


def gauss(amp_mv: float, at_ms: float, sd_ms: float) -> np.ndarray:
    return amp_mv * np.exp(-0.5 * ((T_MS - at_ms) / sd_ms) ** 2)


def beat(t_amp: float = 0.4, t_sd: float = 40.0, offset: float = 0.1) -> np.ndarray:
    return offset + gauss(1.5, 0, 8) + gauss(t_amp, 250, t_sd) + gauss(0.12, -160, 20)


def named(values: np.ndarray) -> dict[str, float]:
    return dict(zip(CLINICAL_FEATURES, values, strict=True))


FID = {
    "p_on_ms": -200.0,
    "p_peak_ms": -160.0,
    "qrs_on_ms": -40.0,
    "qrs_off_ms": 40.0,
    "t_peak_ms": 250.0,
    "t_end_ms": 370.0,
}


def test_clinical_features_match_gaussian_geometry():
    f = named(clinical_features(beat(), beat(), FID, FID, FS_HZ, R_INDEX, 1000.0))
    assert f["t_amp_mv"] == pytest.approx(0.4, abs=2e-3)
    assert f["t_width_ms"] == pytest.approx(2 * np.sqrt(2 * np.log(2)) * 40, abs=1.0)
    max_slope = 0.4 / 0.040 * np.exp(-0.5)  # steepest point of a Gaussian, mV/s
    assert f["t_downslope_mv_s"] == pytest.approx(max_slope, rel=0.01)
    assert f["tsa_per_s"] == pytest.approx(max_slope / 0.4, rel=0.01)
    assert f["qrs_ms"] == 80.0
    assert f["pr_ms"] == 160.0
    assert f["p_amp_mv"] == pytest.approx(0.12, abs=2e-3)
    assert f["qtc_ms"] == pytest.approx(410.0)  # RR 1 s: QTc = QT
    assert f["t_r_ratio"] == pytest.approx(0.4 / 1.5, rel=0.01)


def test_taller_narrower_t_gives_larger_tsa():
    wide = clinical_features(beat(0.3, 60), beat(0.3, 60), FID, FID, FS_HZ, R_INDEX, 1000.0)
    peaked = clinical_features(beat(0.8, 30), beat(0.8, 30), FID, FID, FS_HZ, R_INDEX, 1000.0)
    i = CLINICAL_FEATURES.index("tsa_per_s")
    assert peaked[i] == pytest.approx(2 * wide[i], rel=0.02)  # TS/A = e^-0.5 / σ


def test_inverted_t_has_positive_downslope():
    f = clinical_features(beat(-0.3), beat(-0.3), FID, FID, FS_HZ, R_INDEX, 1000.0)
    assert f[0] == pytest.approx(-0.3, abs=2e-3)
    assert f[2] == pytest.approx(0.3 / 0.040 * np.exp(-0.5), rel=0.01)


def test_missing_fiducials_give_nan_not_zero():
    fid = {k: v for k, v in FID.items() if k not in ("t_peak_ms", "p_on_ms")}
    f = named(clinical_features(beat(), beat(), fid, fid, FS_HZ, R_INDEX, 512.0))
    for name in ("t_amp_mv", "t_width_ms", "t_downslope_mv_s", "tsa_per_s", "pr_ms", "t_r_ratio"):
        assert np.isnan(f[name]), name
    assert f["qrs_ms"] == 80.0
    assert f["qtc_ms"] == pytest.approx(410.0 / 0.8)  # Fridericia, RR 512 ms


def test_table_reads_fiducials_csv_layout():
    beats = np.stack([np.stack([beat(), beat(a)]) for a in (0.2, 0.6)]).astype(np.float32)
    rows = [{"ecg_id": e, "lead": lead, **FID} for e in ("a", "b") for lead in ("II", "V5")]
    rows[3]["t_peak_ms"] = np.nan  # b, V5
    rr = np.array([1000.0, np.nan])
    table = clinical_feature_table(
        beats, ["a", "b"], ["II", "V5"], FS_HZ, R_INDEX, rr, pd.DataFrame(rows)
    )
    assert table.loc["a", "t_amp_mv"] == pytest.approx(0.2, abs=3e-3)
    assert np.isnan(table.loc["b", "t_amp_mv"]) and np.isnan(table.loc["b", "qtc_ms"])
    with pytest.raises(ValueError, match="II and V5"):
        clinical_feature_table(
            beats, ["a", "b"], ["I", "V5"], FS_HZ, R_INDEX, rr, pd.DataFrame(rows)
        )


def test_statistical_features_of_a_sine():
    n, periods, a = 512, 4, 2.0
    x = a * np.sin(2 * np.pi * periods * (np.arange(n) + 0.5) / n)
    values = statistical_features(np.stack([x, x])[None])[0]
    f = dict(zip(STATISTICAL_FEATURES, values, strict=True))
    assert f["mean_mv"] == pytest.approx(0.0, abs=1e-9)
    assert f["std_mv"] == pytest.approx(a / np.sqrt(2), rel=1e-6)
    assert f["rms_mv"] == pytest.approx(a / np.sqrt(2), rel=1e-6)
    assert f["ptp_mv"] == pytest.approx(2 * a, rel=1e-3)
    assert f["skewness"] == pytest.approx(0.0, abs=1e-9)
    assert f["kurtosis"] == pytest.approx(-1.5, abs=1e-3)
    assert f["zcr"] == pytest.approx((2 * periods - 1) / (n - 1))


def test_unknown_feature_set_is_an_error():
    with pytest.raises(ValueError, match=r"features\.set"):
        feature_table("morphology", np.zeros((1, 2, 8)), ["a"], ["II", "V5"], FS_HZ, 2, None, None)
