"""The seed's 9 statistical features of a median beat, averaged over its leads.

Mean, standard deviation, skewness, (excess) kurtosis, max, min, peak-to-peak, RMS and
zero-crossing rate (fraction of consecutive samples changing sign). The seed lists them per lead
yet feeds a 9-dimensional vector to its regressor; averaging over the leads reconciles the two.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

STATISTICAL_FEATURES = (
    "mean_mv",
    "std_mv",
    "skewness",
    "kurtosis",
    "max_mv",
    "min_mv",
    "ptp_mv",
    "rms_mv",
    "zcr",
)


def statistical_features(beats_mv: np.ndarray) -> np.ndarray:
    """``(n, n_leads, width)`` beats → ``(n, 9)`` :data:`STATISTICAL_FEATURES`."""
    x = np.asarray(beats_mv, dtype=np.float64)
    if x.ndim != 3:
        raise ValueError(f"beats must be (n, n_leads, width), got shape {x.shape}")
    sign = np.signbit(x)
    per_lead = np.stack(
        [
            x.mean(-1),
            x.std(-1),
            stats.skew(x, axis=-1),
            stats.kurtosis(x, axis=-1),
            x.max(-1),
            x.min(-1),
            np.ptp(x, axis=-1),
            np.sqrt(np.mean(x**2, axis=-1)),
            np.mean(sign[..., 1:] != sign[..., :-1], axis=-1),
        ],
        axis=-1,
    )
    return per_lead.mean(axis=1)


def statistical_feature_table(beats_mv: np.ndarray, ecg_ids: Sequence[str]) -> pd.DataFrame:
    """:data:`STATISTICAL_FEATURES` for every beat, indexed by ``ecg_ids``."""
    return pd.DataFrame(
        statistical_features(beats_mv), columns=list(STATISTICAL_FEATURES), index=list(ecg_ids)
    )
