"""Side-by-side test metrics of several models on the same split, with the gap to the oracle."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from kecg.evaluate.metrics import all_metrics

SUMMARY_KEYS = (
    "mae",
    "rmse",
    "r2",
    "pearson_r",
    "bin_accuracy",
    "macro_f1",
    "weighted_f1",
    "hyper_auc",
    "hyper_sensitivity",
    "hyper_specificity",
)
DEFAULT_MODEL = "kecg"


def compare_models(
    table: pd.DataFrame, columns: Sequence[str], oracle: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Summary metrics per prediction column of ``table`` (``split``, ``k_true`` + predictions).

    The column ``k_pred`` (the default pipeline) is reported as ``kecg``. ``oracle`` is the synth
    stage's ``metrics/oracle.json``; its summary keys are copied and ``gap_to_oracle`` is
    ``kecg − oracle`` for each key both report.
    """
    test, val = table[table["split"] == "test"], table[table["split"] == "val"]
    out: dict[str, Any] = {}
    for col in columns:
        m = all_metrics(test["k_true"], test[col], val["k_true"], val[col])
        out[DEFAULT_MODEL if col == "k_pred" else col] = {k: m[k] for k in SUMMARY_KEYS}
    if oracle is not None:
        found = {k: float(oracle[k]) for k in SUMMARY_KEYS if k in oracle}
        out["oracle"] = found
        if DEFAULT_MODEL in out:
            out["gap_to_oracle"] = {k: out[DEFAULT_MODEL][k] - v for k, v in found.items()}
    return out
