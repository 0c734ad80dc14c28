"""Stage evaluate: test metrics by K⁺ bin and hyperkalaemia, plots, and the side-by-side table."""

import json
import time
from pathlib import Path

import pandas as pd

from kecg.evaluate import all_metrics
from kecg.evaluate.compare import compare_models
from kecg.evaluate.plots import bland_altman_png, confusion_rows, roc_table, write_json
from kecg.predict import interval_coverage

t0 = time.perf_counter()
pred = pd.read_csv("data/processed/predictions.csv")
base = pd.read_csv("data/processed/baseline_predictions.csv")
split = pd.read_csv("data/processed/split.csv")
table = pred.merge(base.drop(columns=["split", "k_true"]), on="ecg_id", how="inner")
test, val = table[table["split"] == "test"], table[table["split"] == "val"]
if min(len(test), len(val)) < 2:
    raise SystemExit(
        f"evaluate: {len(test)} test and {len(val)} validation ECGs with a median beat; need ≥ 2 "
        "each: add labelled ECGs or raise the val/test shares in split.fractions"
    )
metrics = all_metrics(test["k_true"], test["k_pred"], val["k_true"], val["k_pred"])
calibration = json.loads(Path("models/regressor.json").read_text())["calibration"]
metrics["interval_coverage_80"] = interval_coverage(test["k_true"], test["k_pred"], calibration)
metrics["n_test_without_beat"] = int((split["split"] == "test").sum() - len(test))
write_json("metrics/metrics.json", metrics)
oracle_path = Path("metrics/oracle.json")
oracle = json.loads(oracle_path.read_text()) if oracle_path.exists() else None
models = ["k_pred"] + [c for c in base.columns if c not in ("ecg_id", "split", "k_true")]
write_json("metrics/baselines.json", compare_models(table, models, oracle))
write_json("plots/confusion.json", confusion_rows(test["k_true"], test["k_pred"]))
test[["k_true", "k_pred"]].to_csv("plots/predictions.csv", index=False, float_format="%.4g")
roc_table(test["k_true"], test["k_pred"]).to_csv("plots/roc.csv", index=False, float_format="%.4g")
bland_altman_png("plots/bland_altman.png", test["k_true"], test["k_pred"])
print(
    f"evaluate: {len(test)} test ECGs: MAE {metrics['mae']:.3f} mmol/L, "
    f"6-bin accuracy {metrics['bin_accuracy']:.2f}, macro F1 {metrics['macro_f1']:.2f}, "
    f"hyper AUC {metrics['hyper_auc']:.3f} in {time.perf_counter() - t0:.1f} s"
)
