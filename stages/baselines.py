"""Stage baselines: seed two-stage model, thesis DSCRNN, ridge on clinical features; same split."""

import time

import numpy as np
import pandas as pd

from kecg.evaluate import align
from kecg.features import clinical_feature_table
from kecg.models import setup_torch
from kecg.models.baselines import dscrnn, ridge_clinical, seed_two_stage
from kecg.params import load_params

t0 = time.perf_counter()
p = load_params()
b = p["baselines"]
device = setup_torch(p["seed"], p["torch_threads"], p["device"])
data = np.load("data/processed/median_beats.npz")
beats, ids = data["beats"], data["ecg_ids"].astype(str)
leads = [str(lead) for lead in data["leads"]]
split, k = align(
    ids, pd.read_csv("data/processed/split.csv"), pd.read_csv("data/interim/labels.csv")
)
clinical = clinical_feature_table(
    beats, ids, leads, float(data["fs_hz"]), int(data["r_index"]), data["rr_ms"],
    pd.read_csv("data/processed/fiducials.csv"),
)  # fmt: skip
v5 = leads.index("V5")
out = pd.DataFrame({"ecg_id": ids, "split": split, "k_true": k})
times = {}
for name, run in (
    ("ridge_clinical", lambda: ridge_clinical(clinical.to_numpy(), k, split, b["ridge_alphas"])),
    ("seed_two_stage", lambda: seed_two_stage(beats, k, split, b["seed"], p["seed"], device)),
    ("dscrnn", lambda: dscrnn(beats[:, v5], k, split, b["dscrnn"], p["seed"], device)),
):
    t = time.perf_counter()
    out[name] = run()
    times[name] = time.perf_counter() - t
out.to_csv("data/processed/baseline_predictions.csv", index=False, float_format="%.6g")
test = split == "test"
summary = ", ".join(
    f"{n} test MAE {np.mean(np.abs(out[n] - k)[test]):.3f} ({times[n]:.0f} s)" for n in times
)
print(f"baselines: {summary}; total {time.perf_counter() - t0:.1f} s")
