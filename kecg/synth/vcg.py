"""Vectorcardiographic wave model: Gaussian waves in X, Y, Z projected to the 12 leads.

A heart beat is a sum of waves; each wave is a 3-D vector amplitude (mV, in the Frank X, Y, Z
frame: X to the left, Y to the feet, Z to the back, the convention of the Dower matrix) times an
asymmetric Gaussian in time (one width before the peak, one after). The vectorcardiogram is
projected to the eight independent leads I, II, V1–V6 with the Dower matrix (Dower et al. 1988,
J Electrocardiol 21 Suppl:S182; the inverse Dower matrix of Edenbrandt & Pahlm 1988 is the
reverse map), and the four remaining limb leads follow from I and II by Einthoven's and
Goldberger's identities, so every record is exactly lead-consistent in floating point.
"""

from __future__ import annotations

import numpy as np

INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")

# Rows: X, Y, Z; columns: INDEPENDENT_LEADS (Dower 1988 coefficients).
DOWER: np.ndarray = np.array(
    [
        [0.632, 0.235, -0.515, 0.044, 0.882, 1.213, 1.125, 0.831],
        [-0.235, 1.066, 0.157, 0.164, 0.098, 0.127, 0.127, 0.076],
        [0.059, -0.132, -0.917, -1.387, -1.277, -0.601, -0.086, 0.230],
    ]
)

# Where a Gaussian wave starts and ends, in widths from its peak (exp(-2.5**2/2) = 4.4 %).
EDGE_SIGMAS: float = 2.5


def gaussian_waves(
    t_s: np.ndarray,
    centers_s: np.ndarray,
    sigma_before_s: np.ndarray,
    sigma_after_s: np.ndarray,
    amplitudes_mv: np.ndarray,
) -> np.ndarray:
    """The vectorcardiogram ``(len(t_s), 3)`` in mV of a sum of asymmetric Gaussian waves.

    Wave ``k`` is ``amplitudes_mv[k] * exp(-((t - c) / sigma)**2 / 2)`` with ``sigma`` equal to
    ``sigma_before_s[k]`` for ``t < c`` and ``sigma_after_s[k]`` after it. Waves are evaluated
    only within 6 widths of their peak (beyond, they are below 1.5e-8 of their height).
    """
    n = t_s.shape[0]
    out = np.zeros((n, 3))
    if centers_s.size == 0:
        return out
    dt_s = float(t_s[1] - t_s[0])
    reach = int(np.ceil(6.0 * max(sigma_before_s.max(), sigma_after_s.max()) / dt_s)) + 1
    offsets = np.arange(-reach, reach + 1)
    centre_idx = np.round((centers_s - t_s[0]) / dt_s).astype(np.int64)
    idx = centre_idx[:, None] + offsets[None, :]
    valid = (idx >= 0) & (idx < n)
    idx_c = np.clip(idx, 0, n - 1)
    tau = t_s[idx_c] - centers_s[:, None]
    sigma = np.where(tau < 0, sigma_before_s[:, None], sigma_after_s[:, None])
    g = np.exp(-0.5 * (tau / sigma) ** 2) * valid
    flat_idx = idx_c.ravel()
    for axis in range(3):
        weights = (g * amplitudes_mv[:, axis : axis + 1]).ravel()
        out[:, axis] = np.bincount(flat_idx, weights=weights, minlength=n)
    return out


def vcg_to_independent(vcg_mv: np.ndarray) -> np.ndarray:
    """Project a vectorcardiogram ``(n, 3)`` to the eight independent leads ``(n, 8)``."""
    return vcg_mv @ DOWER


def independent_to_standard12(independent_mv: np.ndarray) -> np.ndarray:
    """Complete ``(n, 8)`` leads I, II, V1–V6 to the 12 standard leads in ``kecg.io.LEADS`` order.

    III = II − I, aVR = −(I + II)/2, aVL = I − II/2, aVF = II − I/2, computed exactly so.
    """
    lead_i = independent_mv[:, 0]
    lead_ii = independent_mv[:, 1]
    limb = np.stack(
        [
            lead_i,
            lead_ii,
            lead_ii - lead_i,
            -(lead_i + lead_ii) / 2,
            lead_i - lead_ii / 2,
            lead_ii - lead_i / 2,
        ],
        axis=1,
    )
    return np.concatenate([limb, independent_mv[:, 2:]], axis=1)
