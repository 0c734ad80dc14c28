"""The synthetic cohort: patients, their ECGs at different K⁺, true fiducials, and the files.

``plan_cohort`` draws every covariate (one row per ECG) from the cohort seed; ``synthesize_ecg``
turns one row into beats, waves and signals with its own random stream
(``SeedSequence(seed, spawn_key=(1, index))``), so an ECG is the same whatever the job count;
``write_cohort`` writes ``signals/``, ``images/``, ``meta/``, ``labels.csv`` and
``fiducials.csv`` as laid out in ``docs/data-formats.md``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr
from tqdm import tqdm

from kecg.io import LEADS, Record, write_record
from kecg.params import n_jobs
from kecg.synth.noise import DEVICE_FILTERS_HZ, device_filter, recording_noise
from kecg.synth.physiology import BeatTemplate, pvc_template, sample_patients, sinus_template
from kecg.synth.vcg import gaussian_waves, independent_to_standard12, vcg_to_independent

FS_HZ: float = 500.0
DURATION_S: float = 10.0
FIDUCIALS: tuple[str, ...] = (
    "p_on", "p_peak", "p_off", "qrs_on", "r", "qrs_off", "t_peak", "t_end", "u_peak",
)  # fmt: skip
K_BIN_EDGES: tuple[float, ...] = (4.0, 5.0, 6.0, 7.0, 8.0)

# Random streams under the cohort seed: the plan, each ECG's signal, each ECG's image.
_PLAN, _SIGNAL, _IMAGE = 0, 1, 2


@dataclass(frozen=True)
class CohortSpec:
    """Population parameters of the cohort (``synth.cohort`` in ``params.yaml``).

    K⁺ is drawn from a piecewise-uniform histogram (``k_edges_mmol_l``, ``k_weights``) through a
    Gaussian copula, so a patient's ECGs are correlated (``k_within_patient_corr``) while the
    marginal distribution is exactly the histogram. The lab value adds lab error and drift over
    the delay between ECG and blood draw (exponential, mean ``draw_delay_mean_h``).
    """

    k_edges_mmol_l: tuple[float, ...] = (2.5, 4.0, 5.0, 6.0, 7.0, 8.0, 9.5)
    k_weights: tuple[float, ...] = (0.045, 0.17, 0.31, 0.22, 0.165, 0.09)
    k_within_patient_corr: float = 0.5
    ecgs_per_patient_weights: tuple[float, ...] = (0.35, 0.35, 0.3)
    sensitivity_sd: float = 0.2
    lab_sd_mmol_l: float = 0.1
    drift_sd_mmol_l_per_sqrt_h: float = 0.08
    draw_delay_mean_h: float = 1.5
    noise: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.k_weights) != len(self.k_edges_mmol_l) - 1:
            raise ValueError("synth.cohort: k_weights needs one weight per K⁺ bin")
        if np.any(np.diff(self.k_edges_mmol_l) <= 0):
            raise ValueError("synth.cohort: k_edges_mmol_l must increase")


def spec_from_params(cohort: dict | None) -> CohortSpec:
    """The ``CohortSpec`` of the ``synth.cohort`` params (YAML lists become tuples)."""
    cohort = cohort or {}
    unknown = set(cohort) - set(CohortSpec.__dataclass_fields__)
    if unknown:
        raise ValueError(f"synth.cohort: unknown keys {sorted(unknown)}")
    return CohortSpec(**{k: tuple(v) if isinstance(v, list) else v for k, v in cohort.items()})


def potassium_quantile(u: np.ndarray, spec: CohortSpec) -> np.ndarray:
    """Inverse CDF of the piecewise-uniform K⁺ histogram of ``spec`` at probabilities ``u``."""
    w = np.asarray(spec.k_weights, dtype=float)
    cdf = np.concatenate([[0.0], np.cumsum(w / w.sum())])
    return np.interp(u, cdf, np.asarray(spec.k_edges_mmol_l, dtype=float))


def plan_cohort(n_patients: int, seed: int, spec: CohortSpec | None = None) -> pd.DataFrame:
    """Every ECG's covariates, one row per ECG (patient traits repeated on each of its rows)."""
    spec = spec or CohortSpec()
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_PLAN,)))
    patients = sample_patients(rng, n_patients, spec.sensitivity_sd)
    counts = 1 + rng.choice(len(spec.ecgs_per_patient_weights), n_patients,
                            p=np.asarray(spec.ecgs_per_patient_weights) /
                            np.sum(spec.ecgs_per_patient_weights))  # fmt: skip
    ecgs = patients.loc[np.repeat(patients.index, counts)].reset_index(drop=True)
    n = len(ecgs)
    k_index = np.concatenate([np.arange(c) for c in counts])
    ids = [f"p{p:04d}_e{k}" for p, k in zip(ecgs["patient_id"], k_index, strict=True)]
    ecgs.insert(0, "ecg_id", ids)

    rho = spec.k_within_patient_corr
    z = np.sqrt(rho) * rng.normal(size=n_patients)[ecgs["patient_id"]]
    z = z + np.sqrt(1.0 - rho) * rng.normal(size=n)
    k_true = potassium_quantile(ndtr(z), spec)
    delay_h = rng.exponential(spec.draw_delay_mean_h, n)
    lab = (
        k_true
        + rng.normal(0.0, spec.lab_sd_mmol_l, n)
        + rng.normal(0.0, 1.0, n) * spec.drift_sd_mmol_l_per_sqrt_h * np.sqrt(delay_h)
    )
    ecgs.insert(2, "potassium_mmol_l", np.round(np.clip(lab, 1.5, 11.0), 2))
    ecgs.insert(3, "k_true_mmol_l", np.round(k_true, 3))
    ecgs.insert(4, "draw_delay_h", np.round(delay_h, 2))
    ecgs["hr_bpm"] = np.clip(ecgs["hr_bpm"] * np.exp(rng.normal(0.0, 0.07, n)), 45.0, 125.0)
    ecgs["rotation_deg"] = rng.normal(0.0, 4.0, n)
    ecgs["t_jitter"] = np.exp(rng.normal(0.0, 0.08, n))
    ecgs["qrs_jitter"] = np.exp(rng.normal(0.0, 0.05, n))
    ecgs["resp_hz"] = rng.uniform(0.2, 0.33, n)
    ecgs["rsa"] = rng.uniform(0.01, 0.05, n) * np.clip(1.5 - ecgs["age_y"] / 100.0, 0.6, 1.3)
    noise = {"wander_mv": 0.08, "emg_mv": 0.012, "mains_mv": 0.015, **spec.noise}
    ecgs["wander_mv"] = noise["wander_mv"] * np.exp(rng.normal(0.0, 0.6, n))
    ecgs["emg_mv"] = noise["emg_mv"] * np.exp(rng.normal(0.0, 0.6, n))
    ecgs["mains_hz"] = np.where(rng.random(n) < 0.5, 50.0, 60.0)
    ecgs["mains_mv"] = noise["mains_mv"] * rng.uniform(0.0, 1.0, n)
    ecgs["pvc_axis_seed"] = rng.integers(0, 2**31, n)
    band = np.asarray(DEVICE_FILTERS_HZ)[rng.integers(len(DEVICE_FILTERS_HZ), size=n)]
    ecgs["highpass_hz"], ecgs["lowpass_hz"] = band[:, 0], band[:, 1]
    return ecgs.round(4)


@dataclass
class SyntheticECG:
    """One synthesized ECG: the clean and the recorded signal (``(n, 12)`` mV) and its beats.

    The recorded signal is what the cart stores and prints: clean + noise, through its filters.
    """

    ecg_id: str
    clean_mv: np.ndarray
    signal_mv: np.ndarray
    fiducials: pd.DataFrame


def _beat_times(row: dict, rng: np.random.Generator) -> tuple[list[float], list[str], list[float]]:
    """QRS onset times, beat types and preceding RR of beats covering the record and its edges."""
    rr_mean_s = 60.0 / row["hr_bpm"]
    phase = rng.uniform(0.0, 2 * np.pi)
    t_s = -rng.uniform(0.6, 1.0) * rr_mean_s - 0.6
    times, types, rrs = [], [], []
    rr_prev_s = rr_mean_s
    pvc_rate = row["pvc_rate"]
    while t_s < DURATION_S + 0.3:
        times.append(t_s)
        rrs.append(rr_prev_s)
        types.append("N")
        rr_s = rr_mean_s * (
            1.0 + row["rsa"] * np.sin(2 * np.pi * row["resp_hz"] * t_s + phase)
            + rng.normal(0.0, 0.015)
        )  # fmt: skip
        if pvc_rate > 0 and types[-1] == "N" and len(times) > 1 and rng.random() < pvc_rate:
            coupling_s = rr_s * rng.uniform(0.55, 0.7)
            times.append(t_s + coupling_s)
            rrs.append(coupling_s)
            types.append("V")
            rr_prev_s = 2.0 * rr_s - coupling_s
            t_s += 2.0 * rr_s
        else:
            rr_prev_s = rr_s
            t_s += rr_s
    return times, types, rrs


def synthesize_ecg(row: dict, seed: int, index: int) -> SyntheticECG:
    """Synthesize the ECG of plan row ``row`` (``index`` in the plan) under the cohort ``seed``."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_SIGNAL, index)))
    n = round(FS_HZ * DURATION_S)
    t_s = np.arange(n) / FS_HZ
    times, types, rrs = _beat_times(row, rng)
    focus = np.random.default_rng(int(row["pvc_axis_seed"])).normal(size=3)
    focus /= np.linalg.norm(focus)
    resp_phase = rng.uniform(0.0, 2 * np.pi)

    centers, sig_b, sig_a, amps, beats = [], [], [], [], []
    for beat, (q0_s, kind, rr_s) in enumerate(zip(times, types, rrs, strict=True)):
        tpl: BeatTemplate = (
            sinus_template(row, rr_s) if kind == "N" else pvc_template(row, focus, rr_s)
        )
        resp = np.sin(2 * np.pi * row["resp_hz"] * q0_s + resp_phase)
        gain = np.where([nm == "t" for nm in tpl.names], 1.0 + 0.03 * resp, 1.0 + 0.06 * resp)
        centers.append(q0_s + tpl.offsets_s)
        sig_b.append(tpl.sigma_before_s)
        sig_a.append(tpl.sigma_after_s)
        amps.append(tpl.amplitudes_mv * gain[:, None])
        fid = {k: q0_s + v for k, v in tpl.fiducials_s().items()}
        fid.update(beat_index=beat, beat_type=kind)
        beats.append(fid)

    vcg = gaussian_waves(
        t_s, np.concatenate(centers), np.concatenate(sig_b), np.concatenate(sig_a),
        np.concatenate(amps),
    )  # fmt: skip
    clean8 = vcg_to_independent(vcg)
    noise8 = recording_noise(
        n, clean8.shape[1], FS_HZ, rng,
        wander_mv=row["wander_mv"], resp_hz=row["resp_hz"], emg_mv=row["emg_mv"],
        mains_hz=row["mains_hz"], mains_mv=row["mains_mv"],
    )  # fmt: skip
    recorded8 = device_filter(
        clean8 + noise8, FS_HZ,
        highpass_hz=row["highpass_hz"], lowpass_hz=row["lowpass_hz"], notch_hz=row["mains_hz"],
    )  # fmt: skip
    return SyntheticECG(
        ecg_id=row["ecg_id"],
        clean_mv=independent_to_standard12(clean8),
        signal_mv=independent_to_standard12(recorded8),
        fiducials=_fiducial_table(row["ecg_id"], beats, n),
    )


def _fiducial_table(ecg_id: str, beats: list[dict], n_samples: int) -> pd.DataFrame:
    """Beats whose R lies in the record, fiducials in samples (missing when absent or outside)."""
    table = pd.DataFrame(beats)
    r = np.round(table["r"].to_numpy() * FS_HZ)
    table = table[(r >= 0) & (r < n_samples)].reset_index(drop=True)
    out = pd.DataFrame({"ecg_id": ecg_id, "beat": np.arange(len(table)),
                        "beat_type": table["beat_type"]})  # fmt: skip
    for name in FIDUCIALS:
        s = np.round(table[name].to_numpy(dtype=float) * FS_HZ)
        s[(s < 0) | (s >= n_samples)] = np.nan
        out[name] = pd.array(s, dtype="Int64")
    return out


def _write_one(task: tuple) -> tuple[pd.DataFrame, int]:
    """Worker: synthesize one ECG, write its signal (and image); return its fiducials."""
    row, seed, index, out, images, artifacts, layout, dpi, gain_mm_mv, pulse_at_end = task
    ecg = synthesize_ecg(row, seed, index)
    write_record(out / "signals" / ecg.ecg_id, Record(ecg.signal_mv, FS_HZ, LEADS, ecg.ecg_id))
    if images:
        from kecg.synth.render import render_ecg, save_image

        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_IMAGE, index)))
        image, sidecar = render_ecg(
            ecg.signal_mv,
            FS_HZ,
            rng=rng,
            layout=layout,
            dpi=dpi,
            gain_mm_mv=gain_mm_mv,
            artifacts=artifacts,
            pulse_at_end=pulse_at_end,
            filter_hz=(row["highpass_hz"], row["lowpass_hz"]),
            mains_hz=row["mains_hz"],
        )
        path = save_image(out / "images" / ecg.ecg_id, image, artifacts)
        meta = {"ecg_id": ecg.ecg_id, "image": f"images/{path.name}", **sidecar}
        (out / "meta" / f"{ecg.ecg_id}.json").write_text(json.dumps(meta, indent=1) + "\n")
    return ecg.fiducials, int((ecg.fiducials["beat_type"] == "V").sum())


LABEL_COLUMNS: tuple[str, ...] = (
    "ecg_id", "patient_id", "potassium_mmol_l", "k_true_mmol_l", "draw_delay_h", "age_y", "sex",
    "hr_bpm", "axis_deg", "qrs_scale", "t_scale", "p_scale", "k_sensitivity", "pr_ms", "qrs_ms",
    "qtc_ms", "conduction", "lvh", "lvh_strain", "early_repol", "pvc_rate", "n_pvc",
    "wander_mv", "emg_mv", "mains_hz", "mains_mv", "highpass_hz", "lowpass_hz",
)  # fmt: skip


def write_cohort(
    out: str | Path,
    *,
    n_patients: int = 800,
    seed: int = 0,
    artifacts: str = "scan",
    layout: str | None = None,
    dpi: int | None = None,
    gain_mm_mv: float | None = None,
    pulse_at_end: bool = False,
    jobs: int = 0,
    images: bool = True,
    spec: CohortSpec | None = None,
) -> pd.DataFrame:
    """Write a cohort of ``n_patients`` to ``out`` and return its labels table.

    ``images=False`` writes signals, labels and fiducials only (a signals-only cohort for
    ``data.source: records``). ``artifacts``, ``layout``, ``dpi``, ``gain_mm_mv`` and
    ``pulse_at_end`` are passed to :func:`~kecg.synth.render.render_ecg`. Outputs are
    byte-identical for a given seed and any ``jobs``.
    """
    start = time.perf_counter()
    out = Path(out)
    for sub in ("signals", "images", "meta") if images else ("signals",):
        (out / sub).mkdir(parents=True, exist_ok=True)
    plan = plan_cohort(n_patients, seed, spec)
    rows = plan.to_dict("records")
    look = (artifacts, layout, dpi, gain_mm_mv, pulse_at_end)
    tasks = [(row, seed, i, out, images, *look) for i, row in enumerate(rows)]
    workers = min(n_jobs(jobs), len(tasks))
    progress = dict(total=len(tasks), desc="synthesize", unit="ecg", leave=False)
    if workers > 1:
        with Pool(workers) as pool:
            chunk = max(1, len(tasks) // (workers * 8))
            results = list(tqdm(pool.imap(_write_one, tasks, chunksize=chunk), **progress))
    else:
        results = [_write_one(t) for t in tqdm(tasks, **progress)]

    fiducials = pd.concat([r[0] for r in results], ignore_index=True)
    fiducials.to_csv(out / "fiducials.csv", index=False)
    plan["n_pvc"] = [r[1] for r in results]
    labels = plan.loc[:, list(LABEL_COLUMNS)]
    labels.to_csv(out / "labels.csv", index=False, float_format="%.4g")
    counts = np.bincount(np.digitize(labels["k_true_mmol_l"], K_BIN_EDGES), minlength=6)
    print(
        f"synthesize: {len(labels)} ECGs of {n_patients} patients -> {out} "
        f"({'signals+images' if images else 'signals only'}, K⁺ bins {counts.tolist()}, "
        f"{time.perf_counter() - start:.1f} s)"
    )
    return labels
