"""Recording noise (baseline wander, muscle (EMG) noise, mains interference) and the recorder's
filters.

Noise is drawn and filtered for the eight independent leads (I, II, V1–V6) before the limb leads
are derived, so the lead identities still hold exactly for the recorded signal.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, iirnotch, sosfilt, sosfiltfilt, tf2sos

_EMG_BAND_HZ = (20.0, 150.0)
_NOTCH_Q = 30.0
# The recorder's band-pass (high-pass, low-pass Hz): what the printout's footer names.
DEVICE_FILTERS_HZ: tuple[tuple[float, float], ...] = (
    (0.05, 150.0), (0.05, 100.0), (0.5, 40.0), (0.15, 40.0), (0.05, 40.0),
)  # fmt: skip


def recording_noise(
    n_samples: int,
    n_leads: int,
    fs_hz: float,
    rng: np.random.Generator,
    *,
    wander_mv: float,
    resp_hz: float,
    emg_mv: float,
    mains_hz: float,
    mains_mv: float,
) -> np.ndarray:
    """Noise ``(n_samples, n_leads)`` in mV for one record.

    Baseline wander is a respiratory sinusoid plus two slow drifts (0.05–0.4 Hz) with a random
    weight per lead (``wander_mv`` is its typical amplitude); EMG is white noise band-passed to
    20–150 Hz with standard deviation ``emg_mv``, stronger in random bursts; mains is a sinusoid
    at ``mains_hz`` of amplitude up to ``mains_mv``, with a random phase and weight per lead.
    """
    t_s = np.arange(n_samples) / fs_hz
    freqs_hz = np.concatenate([[resp_hz], rng.uniform(0.05, 0.4, 2)])
    phases = rng.uniform(0.0, 2 * np.pi, (3, n_leads))
    weights = rng.normal(0.0, 1.0, (3, n_leads)) * np.array([[0.6], [0.5], [0.5]])
    wander = np.sin(2 * np.pi * freqs_hz[None, :, None] * t_s[:, None, None] + phases[None])
    wander = wander_mv * np.einsum("nkl,kl->nl", wander, weights)

    high_hz = min(_EMG_BAND_HZ[1], 0.45 * fs_hz)
    sos = butter(2, [_EMG_BAND_HZ[0], high_hz], btype="bandpass", fs=fs_hz, output="sos")
    white = rng.normal(0.0, 1.0, (n_samples, n_leads))
    emg = sosfilt(sos, white, axis=0)
    emg *= emg_mv / max(float(emg.std()), 1e-12)
    burst_centre = rng.uniform(0.0, t_s[-1] + 1.0 / fs_hz)
    burst = 1.0 + 2.0 * np.exp(-0.5 * ((t_s - burst_centre) / rng.uniform(0.3, 1.5)) ** 2)
    emg *= burst[:, None]

    mains = np.sin(2 * np.pi * mains_hz * t_s[:, None] + rng.uniform(0.0, 2 * np.pi, n_leads))
    mains *= mains_mv * rng.uniform(0.2, 1.0, n_leads)
    return wander + emg + mains


def device_filter(
    signal_mv: np.ndarray, fs_hz: float, *, highpass_hz: float, lowpass_hz: float, notch_hz: float
) -> np.ndarray:
    """The recorder's filters applied to ``signal_mv`` ``(n_samples, n_leads)``: what it stores
    and prints.

    A zero-phase (forward-backward) 2nd-order Butterworth band-pass ``highpass_hz``–
    ``lowpass_hz`` and a mains notch at ``notch_hz`` (Q 30), as the footer of a printout states
    them ("0.5-40 Hz   50 Hz"); zero phase, as modern carts filter, keeps the ST segment level.
    The record is padded by its mirror image (mean-preserving, unlike the odd reflection whose
    jump in level would start a slow high-pass transient that tilts every trace).
    """
    high_hz = min(lowpass_hz, 0.45 * fs_hz)
    band = butter(2, [highpass_hz, high_hz], btype="bandpass", fs=fs_hz, output="sos")
    notch = tf2sos(*iirnotch(notch_hz, _NOTCH_Q, fs=fs_hz))
    sos = np.concatenate([band, notch])
    return sosfiltfilt(sos, signal_mv, axis=0, padtype="even", padlen=signal_mv.shape[0] - 1)
