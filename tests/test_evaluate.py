"""Metrics on hand-computed examples, the patient split and the side-by-side table."""

import numpy as np
import pandas as pd
import pytest

from kecg.evaluate import (
    align,
    all_metrics,
    bin_metrics,
    hyper_metrics,
    k_bin,
    regression_metrics,
    split_by_patient,
    youden_threshold,
)
from kecg.evaluate.compare import compare_models
from kecg.evaluate.plots import confusion_rows, roc_table


def test_regression_metrics_by_hand():
    m = regression_metrics([4, 5, 6, 7], [4.5, 5, 5, 8])
    assert m["mae"] == pytest.approx(0.625)
    assert m["rmse"] == pytest.approx(0.75)
    assert m["r2"] == pytest.approx(1 - 2.25 / 5.0)
    assert m["pearson_r"] == pytest.approx(np.corrcoef([4, 5, 6, 7], [4.5, 5, 5, 8])[0, 1])


def test_seed_bins_are_left_closed():
    assert k_bin([3.99, 4.0, 5.5, 7.99, 8.0, 9.5]).tolist() == [0, 1, 2, 4, 5, 5]


def test_bin_metrics_by_hand():
    # bins: true 4-5, 4-5, 5-6, 6-7 ; predicted 4-5, 5-6, 5-6, 6-7
    m = bin_metrics([4.2, 4.8, 5.5, 6.5], [4.4, 5.2, 5.9, 6.1])
    assert m["bin_accuracy"] == 0.75
    assert m["per_bin"]["4-5"] == {"precision": 1.0, "recall": 0.5, "f1": 2 / 3, "support": 2}
    assert m["per_bin"]["5-6"]["precision"] == 0.5 and m["per_bin"]["5-6"]["recall"] == 1.0
    assert m["per_bin"]["<4"]["support"] == 0
    assert m["macro_f1"] == pytest.approx((2 / 3 + 2 / 3 + 1.0) / 6)
    assert m["weighted_f1"] == pytest.approx((2 * 2 / 3 + 2 / 3 + 1.0) / 4)


def test_hyperkalaemia_threshold_from_validation():
    val_true, val_pred = [4.0, 5.0, 6.0, 7.0], [4.1, 4.9, 5.3, 6.0]
    thr = youden_threshold(val_true, val_pred)
    assert thr == pytest.approx(5.3)
    m = hyper_metrics([4.5, 5.0, 5.6, 6.5, 7.0], [4.6, 5.4, 5.2, 6.0, 6.9], thr)
    assert m["hyper_auc"] == pytest.approx(5 / 6)  # one discordant pair of 6
    assert m["hyper_sensitivity"] == pytest.approx(2 / 3)
    assert m["hyper_specificity"] == 0.5  # 5.4 ≥ 5.3 flags one of two normals
    with pytest.raises(ValueError, match="both"):
        youden_threshold([6, 7], [6, 7])


def test_all_metrics_rejects_nan():
    with pytest.raises(ValueError, match="finite"):
        all_metrics([4, np.nan], [4, 5], [4, 6], [4, 6])


def test_split_by_patient_never_shares_a_patient():
    patients = [f"p{i // 3}" for i in range(300)]
    ecgs = [f"e{i}" for i in range(300)]
    a = split_by_patient(ecgs, patients, (0.7, 0.15, 0.15), seed=1)
    assert (a.groupby("patient_id")["split"].nunique() == 1).all()
    assert a.drop_duplicates("patient_id")["split"].value_counts().to_dict() == {
        "train": 70,
        "val": 15,
        "test": 15,
    }
    assert a.equals(split_by_patient(ecgs, patients, (0.7, 0.15, 0.15), seed=1))
    assert not a.equals(split_by_patient(ecgs, patients, (0.7, 0.15, 0.15), seed=2))


def test_align_marks_unlabeled_and_names_missing_ecgs():
    split = pd.DataFrame({"ecg_id": ["a", "b"], "split": ["train", "test"]})
    labels = pd.DataFrame({"ecg_id": ["b", "a", "c"], "potassium_mmol_l": [6.0, 4.0, 5.0]})
    s, k = align(["b", "x", "a"], split, labels)
    assert s.tolist() == ["test", "unlabeled", "train"]
    assert k[0] == 6.0 and np.isnan(k[1]) and k[2] == 4.0
    with pytest.raises(ValueError, match=r"split\.csv.*'c'"):
        align(["c"], split, labels)


def test_compare_models_reports_gap_to_oracle():
    rng = np.random.default_rng(0)
    k = rng.uniform(3.5, 8.0, 200)
    table = pd.DataFrame(
        {
            "split": np.repeat(["val", "test"], 100),
            "k_true": k,
            "k_pred": k + rng.normal(0, 0.3, 200),
            "ridge_clinical": k + rng.normal(0, 0.8, 200),
        }
    )
    out = compare_models(table, ["k_pred", "ridge_clinical"], {"mae": 0.2, "hyper_auc": 0.99})
    assert out["kecg"]["mae"] < out["ridge_clinical"]["mae"]
    assert out["gap_to_oracle"]["mae"] == pytest.approx(out["kecg"]["mae"] - 0.2)
    assert set(out["gap_to_oracle"]) == {"mae", "hyper_auc"}


def test_plot_tables():
    rows = confusion_rows([3.0, 6.5], [4.5, 6.2])
    assert rows == [{"actual": "<4", "predicted": "4-5"}, {"actual": "6-7", "predicted": "6-7"}]
    roc = roc_table([4.0, 6.0, 7.0], [4.0, 6.5, 6.0])
    assert roc["tpr"].iloc[-1] == 1.0 and roc["fpr"].iloc[0] == 0.0
