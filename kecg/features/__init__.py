"""Handcrafted features of median beats: the 9 clinical K⁺ features or the seed's 9 statistics."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from kecg.features.handcrafted import CLINICAL_FEATURES, clinical_feature_table, clinical_features
from kecg.features.statistical import (
    STATISTICAL_FEATURES,
    statistical_feature_table,
    statistical_features,
)

FEATURE_SETS = ("clinical", "statistical")


def feature_table(
    feature_set: str,
    beats_mv: np.ndarray,
    ecg_ids: Sequence[str],
    leads: Sequence[str],
    fs_hz: float,
    r_index: int,
    rr_ms: np.ndarray,
    fiducials: pd.DataFrame,
) -> pd.DataFrame:
    """The 9 features of ``feature_set`` (``clinical`` | ``statistical``) for every beat."""
    if feature_set == "clinical":
        return clinical_feature_table(beats_mv, ecg_ids, leads, fs_hz, r_index, rr_ms, fiducials)
    if feature_set == "statistical":
        return statistical_feature_table(beats_mv, ecg_ids)
    raise ValueError(f"features.set must be one of {FEATURE_SETS}, got {feature_set!r}")


__all__ = [
    "CLINICAL_FEATURES",
    "FEATURE_SETS",
    "STATISTICAL_FEATURES",
    "clinical_feature_table",
    "clinical_features",
    "feature_table",
    "statistical_feature_table",
    "statistical_features",
]
