"""Evaluation: the patient-level split, metrics by K⁺ bin and hyperkalaemia, and plot data."""

from kecg.evaluate.metrics import (
    BIN_LABELS,
    HYPER_MMOL_L,
    all_metrics,
    bin_metrics,
    hyper_metrics,
    k_bin,
    regression_metrics,
    youden_threshold,
)
from kecg.evaluate.split import SPLITS, align, split_by_patient

__all__ = [
    "BIN_LABELS",
    "HYPER_MMOL_L",
    "SPLITS",
    "align",
    "all_metrics",
    "bin_metrics",
    "hyper_metrics",
    "k_bin",
    "regression_metrics",
    "split_by_patient",
    "youden_threshold",
]
