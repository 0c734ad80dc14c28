"""Patients, potassium effects and confounders: from covariates to one beat's Gaussian waves.

Numbers and their sources are listed in ``docs/synthetic-cohort.md``; the potassium effects follow
``../shared/docs/potassium-ecg.md`` (hyperkalaemia staging of Emerg Med J 2002;19:74 and LITFL,
dialysis T-wave and PR changes of AHA abstract 14334, hypokalaemia slopes of the Copenhagen
cohort, PubMed 31629993). Every effect is scaled by the patient's own potassium sensitivity.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from kecg.synth.vcg import DOWER, EDGE_SIGMAS

CONDUCTIONS: tuple[str, ...] = ("normal", "rbbb", "lbbb")

# Wave names of a template; QRS_PARTS are the waves whose envelope defines QRS onset and offset.
QRS_PARTS: frozenset[str] = frozenset({"q", "r", "s", "r_prime", "pvc_r", "pvc_s"})
REPOLARISATION: frozenset[str] = frozenset({"st", "t", "u", "pvc_t"})

# A wave smaller than this (vector magnitude, mV) is "absent" in the fiducials.
PRESENT_MV: float = 0.03


def hyper_load(k_mmol_l: np.ndarray | float) -> np.ndarray:
    """Hyperkalaemic drive: 0 up to 4.3 mmol/L, weak to 5.5 (1.27), then steeper (3.7 at 7)."""
    return np.maximum(np.asarray(k_mmol_l, dtype=float) - 4.3, 0.0) ** 1.3


def hypo_load(k_mmol_l: np.ndarray | float) -> np.ndarray:
    """Hypokalaemic drive in mmol/L below 4.1 (the upper end of the Copenhagen slope range)."""
    return np.maximum(4.1 - np.asarray(k_mmol_l, dtype=float), 0.0)


def sample_patients(rng: np.random.Generator, n: int, sensitivity_sd: float) -> pd.DataFrame:
    """Draw ``n`` patients' traits (a CKD-like population); one row per patient."""
    age = np.clip(rng.normal(62.0, 14.0, n), 22.0, 92.0)
    male = rng.random(n) < 0.58
    conduction = rng.choice(len(CONDUCTIONS), size=n, p=[0.9, 0.05, 0.05])
    young = age < 40.0
    early_repol = rng.random(n) < np.where(young, 0.3, 0.06)
    lvh = rng.random(n) < 0.12
    qrs_ms = np.clip(rng.normal(90.0, 8.0, n), 72.0, 110.0)
    qrs_ms = np.where(conduction > 0, rng.uniform(118.0, 150.0, n), qrs_ms)
    return pd.DataFrame(
        {
            "patient_id": np.arange(n),
            "age_y": np.round(age, 1),
            "sex": np.where(male, "M", "F"),
            "hr_bpm": np.clip(rng.normal(65.0, 11.0, n), 45.0, 112.0),
            "axis_deg": np.clip(rng.normal(50.0, 22.0, n) - 0.3 * (age - 60.0), -30.0, 100.0),
            "t_axis_offset_deg": rng.normal(-5.0, 14.0, n),
            "horizontal_deg": rng.normal(0.0, 10.0, n),
            "qrs_scale": np.exp(rng.normal(0.0, 0.22, n)) * np.where(male, 1.0, 0.85),
            "t_scale": np.exp(rng.normal(0.0, 0.22, n)) * (1.0 - 0.005 * (age - 60.0)),
            "p_scale": np.exp(rng.normal(0.0, 0.25, n)),
            "t_sigma_ms": 40.0 * np.exp(rng.normal(0.0, 0.10, n)),
            "t_rise_ratio": 1.55 * np.exp(rng.normal(0.0, 0.1, n)),
            "pr_ms": np.clip(rng.normal(170.0, 20.0, n) + 0.3 * (age - 60.0), 120.0, 240.0),
            "qrs_ms": qrs_ms,
            "qtc_ms": np.clip(rng.normal(412.0, 16.0, n) + np.where(male, 0.0, 8.0), 370, 470),
            "k_sensitivity": np.exp(rng.normal(0.0, sensitivity_sd, n)),
            "conduction": np.asarray(CONDUCTIONS)[conduction],
            "lvh": lvh,
            "lvh_strain": lvh & (rng.random(n) < 0.4),
            "early_repol": early_repol,
            "pvc_rate": np.where(rng.random(n) < 0.2, rng.uniform(0.03, 0.15, n), 0.0),
        }
    )


def frontal_vector(axis_deg: float, magnitude_mv: float, z_mv: float, horizontal_deg: float):
    """A Dower-frame vector whose frontal-plane projection has the clinical axis ``axis_deg``.

    Lead I ∝ cos(axis) and aVF ∝ sin(axis) as on the hexaxial chart; ``magnitude_mv`` is the
    length of the frontal (X, Y) part, ``z_mv`` the back-to-front part (positive = posterior);
    the result is then turned by ``horizontal_deg`` about the vertical axis.
    """
    a = np.deg2rad(axis_deg)
    # Lead I and aVF as functions of X and Y (Z neglected): rows I, aVF.
    m = np.array([[DOWER[0, 0], DOWER[1, 0]], [DOWER[0, 1] - DOWER[0, 0] / 2, 0.0]])
    m[1, 1] = DOWER[1, 1] - DOWER[1, 0] / 2
    xy = np.linalg.solve(m, [np.cos(a), np.sin(a)])
    xy *= magnitude_mv / np.linalg.norm(xy)
    h = np.deg2rad(horizontal_deg)
    x = xy[0] * np.cos(h) - z_mv * np.sin(h)
    z = xy[0] * np.sin(h) + z_mv * np.cos(h)
    return np.array([x, xy[1], z])


@dataclass
class BeatTemplate:
    """One beat's waves relative to its QRS onset: arrays over waves, times in seconds."""

    names: tuple[str, ...]
    offsets_s: np.ndarray
    sigma_before_s: np.ndarray
    sigma_after_s: np.ndarray
    amplitudes_mv: np.ndarray

    def wave(self, name: str) -> int:
        return self.names.index(name)

    def fiducials_s(self) -> dict[str, float]:
        """The true fiducials relative to QRS onset (NaN when a wave is absent).

        Onsets and ends are where a wave's Gaussian envelope falls to exp(-2.5²/2) = 4.4 % of
        its peak, i.e. 2.5 widths from it; the QRS spans its parts' envelopes; R is the peak of
        the largest QRS part; peaks are the Gaussian centres.
        """
        mag = np.linalg.norm(self.amplitudes_mv, axis=1)
        qrs = [i for i, n in enumerate(self.names) if n in QRS_PARTS]
        start = self.offsets_s - EDGE_SIGMAS * self.sigma_before_s
        end = self.offsets_s + EDGE_SIGMAS * self.sigma_after_s
        out = {
            "qrs_on": float(min(start[i] for i in qrs)),
            "r": float(self.offsets_s[max(qrs, key=lambda i: mag[i])]),
            "qrs_off": float(max(end[i] for i in qrs)),
        }
        nan = float("nan")
        p = self.names.index("p") if "p" in self.names else -1
        present = p >= 0 and mag[p] >= PRESENT_MV
        out["p_on"] = float(start[p]) if present else nan
        out["p_peak"] = float(self.offsets_s[p]) if present else nan
        out["p_off"] = float(end[p]) if present else nan
        t = self.names.index("pvc_t" if "pvc_t" in self.names else "t")
        out["t_peak"] = float(self.offsets_s[t])
        out["t_end"] = float(end[t])
        u = self.names.index("u") if "u" in self.names else -1
        out["u_peak"] = float(self.offsets_s[u]) if u >= 0 and mag[u] >= PRESENT_MV else nan
        return out


def sinus_template(ecg: dict, rr_s: float) -> BeatTemplate:
    """The sinus beat of one ECG: patient traits plus this ECG's K⁺ and state, at RR ``rr_s``.

    ``ecg`` holds one row of the cohort plan (patient traits and the per-ECG columns
    ``k_true_mmol_l``, ``rotation_deg``, ``t_jitter``, ``qrs_jitter``).
    """
    k = ecg["k_true_mmol_l"]
    s = ecg["k_sensitivity"]
    hyper = float(hyper_load(k)) * s
    lo = float(hypo_load(k)) * s
    deep = max(3.0 - k, 0.0) * s
    wide = max(k - 6.3, 0.0) ** 1.6 * s
    sine = min(max(k - 8.0, 0.0) * s, 1.5)
    axis = ecg["axis_deg"] + ecg["rotation_deg"]
    horiz = ecg["horizontal_deg"] + ecg["rotation_deg"] / 2
    hr_bpm = 60.0 / rr_s

    # Depolarisation: septal q, main R, terminal S (Dower frame, +Z posterior).
    widening = (1.0 + 0.10 * wide) * (1.0 + 0.25 * sine)
    conduction = ecg["conduction"]
    base_ms = ecg["qrs_ms"] if conduction == "normal" else 92.0
    extra_ms = (ecg["qrs_ms"] - base_ms) * widening
    w = base_ms * widening / 90.0
    qrs_ms = ecg["qrs_ms"] * widening
    r_mv = 1.35 * ecg["qrs_scale"] * ecg["qrs_jitter"] * (1.8 if ecg["lvh"] else 1.0)
    r_vec = frontal_vector(axis, r_mv, 0.3 * r_mv, horiz)
    q_vec = frontal_vector(axis + 150.0, 0.12 * r_mv, -0.14 * r_mv, horiz)
    s_vec = frontal_vector(axis + 170.0, 0.3 * r_mv, 0.32 * r_mv, horiz)
    names = ["q", "r", "s"]
    offs = [24.0 * w, 42.0 * w, 62.0 * w]
    sig_b = [12.0 * w, 10.0 * w, 9.0 * w]
    sig_a = [8.0 * w, 10.0 * w, 11.0 * w]
    amps = [q_vec, r_vec, s_vec]
    if conduction == "rbbb":
        # Late right-ventricular activation: a terminal rightward, anterior R'.
        names.append("r_prime")
        offs.append(65.0 * w + 0.5 * extra_ms)
        sig_b.append(max(extra_ms / 4.0, 8.0))
        sig_a.append(max(extra_ms / 4.0, 8.0))
        amps.append(frontal_vector(axis + 180.0, 0.25 * r_mv, -0.45 * r_mv, horiz))
    elif conduction == "lbbb":
        # No septal q; one broad, notched leftward-posterior R spanning the wide QRS.
        amps[0] = amps[0] * 0.0
        amps[1] = frontal_vector(axis - 15.0, r_mv, 0.75 * r_mv, horiz)
        offs[1] = 42.0 * w + 0.35 * extra_ms
        offs[2] = 65.0 * w + extra_ms
        sig_b[1] = sig_a[1] = 11.0 * w + extra_ms / 5.0
        amps[2] = amps[2] * 0.5

    # Repolarisation: T (asymmetric), optional J/ST shift, U.
    t_mag = (
        0.29
        * ecg["t_scale"]
        * ecg["t_jitter"]
        * (1.45 if ecg["early_repol"] else 1.0)
        * (1.0 - 0.004 * (hr_bpm - 75.0))
    )
    t_axis = axis + ecg["t_axis_offset_deg"]
    if ecg["lvh_strain"] or conduction == "lbbb":
        t_axis += 165.0
    t_normal = frontal_vector(t_axis, t_mag, -0.5 * t_mag, horiz)
    t_gain = (1.0 + 0.2 * hyper) * max(1.0 - 0.17 * lo - 0.35 * deep, -0.25)
    t_vec = t_normal * t_gain
    sigma_down_ms = ecg["t_sigma_ms"] / (1.0 + 0.14 * hyper)
    sigma_up_ms = ecg["t_sigma_ms"] * ecg["t_rise_ratio"] / (1.0 + 0.1 * hyper) * (1 + 0.5 * sine)
    qtc_ms = ecg["qtc_ms"] + 12.8 * lo + 20.0 * deep - 4.0 * hyper
    qt_ms = max(qtc_ms * rr_s ** (1.0 / 3.0), qrs_ms + 2.5 * sigma_down_ms + 40.0)
    t_peak_ms = qt_ms - EDGE_SIGMAS * sigma_down_ms
    names.append("t")
    offs.append(t_peak_ms)
    sig_b.append(sigma_up_ms)
    sig_a.append(sigma_down_ms)
    amps.append(t_vec)

    t_dir = t_normal / max(np.linalg.norm(t_normal), 1e-9)
    st_mv = (0.08 if ecg["early_repol"] else 0.0) - 0.04 * lo - 0.05 * deep
    if st_mv != 0.0:
        names.append("st")
        offs.append(qrs_ms + 35.0)
        sig_b.append(22.0)
        sig_a.append(30.0)
        amps.append(t_dir * st_mv)

    u_ratio = 0.07 + 0.2 * lo + 0.5 * deep
    names.append("u")
    offs.append(qt_ms + 75.0)
    sig_b.append(38.0)
    sig_a.append(48.0)
    amps.append(t_dir * np.linalg.norm(t_normal) * u_ratio)

    # Atrial depolarisation: P (fades and widens in hyperkalaemia).
    p_gain = np.exp(-0.3 * max(k - 6.0, 0.0) ** 1.5 * s) * (1.0 + 0.027 * lo)
    p_mag = 0.14 * ecg["p_scale"] * p_gain
    if p_mag >= PRESENT_MV:
        p_sigma_ms = (19.0 + 1.1 * lo) * (1.0 + 0.12 * max(k - 6.0, 0.0) * s)
        pr_ms = ecg["pr_ms"] + 8.0 * hyper + 4.6 * lo
        names.append("p")
        offs.append(-pr_ms + EDGE_SIGMAS * p_sigma_ms)
        sig_b.append(p_sigma_ms)
        sig_a.append(p_sigma_ms)
        amps.append(frontal_vector(55.0 + 0.3 * (axis - 50.0), p_mag, -0.2 * p_mag, horiz))
    return _template(names, offs, sig_b, sig_a, amps)


def pvc_template(ecg: dict, focus: np.ndarray, rr_s: float) -> BeatTemplate:
    """A premature ventricular beat: wide bizarre QRS along ``focus`` (unit vector), T opposite."""
    r_mv = 1.9 * ecg["qrs_scale"]
    qt_ms = ecg["qtc_ms"] * rr_s ** (1.0 / 3.0) + 40.0
    t_sigma_ms = 50.0
    names = ["pvc_r", "pvc_s", "pvc_t"]
    offs = [62.0, 112.0, qt_ms - EDGE_SIGMAS * t_sigma_ms]
    sig_b = [25.0, 22.0, 75.0]
    sig_a = [28.0, 20.0, t_sigma_ms]
    other = np.cross(focus, [0.0, 1.0, 0.0])
    other /= max(np.linalg.norm(other), 1e-9)
    amps = [focus * r_mv, -0.35 * r_mv * (0.6 * focus + 0.8 * other), -0.28 * r_mv * focus]
    return _template(names, offs, sig_b, sig_a, amps)


def _template(names, offs, sig_b, sig_a, amps) -> BeatTemplate:
    """Pack millisecond lists into a template (zero waves dropped), QRS onset at offset 0."""
    amps = np.asarray(amps, dtype=float)
    keep = np.flatnonzero(np.linalg.norm(amps, axis=1) > 0)
    names = tuple(names[i] for i in keep)
    offsets_s = np.asarray(offs, dtype=float)[keep] / 1000.0
    sigma_before_s = np.asarray(sig_b, dtype=float)[keep] / 1000.0
    sigma_after_s = np.asarray(sig_a, dtype=float)[keep] / 1000.0
    qrs = [i for i, n in enumerate(names) if n in QRS_PARTS]
    onset = min(offsets_s[i] - EDGE_SIGMAS * sigma_before_s[i] for i in qrs)
    return BeatTemplate(names, offsets_s - onset, sigma_before_s, sigma_after_s, amps[keep])
