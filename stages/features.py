"""Stage features: VAE latent means + the 9 handcrafted features per ECG (``features.csv``)."""

import time

import numpy as np
import pandas as pd

from kecg.features import feature_table
from kecg.models import encode, load_vae, setup_torch
from kecg.params import load_params

t0 = time.perf_counter()
p = load_params()
setup_torch(p["seed"], p["torch_threads"], "cpu")
data = np.load("data/processed/median_beats.npz")
beats, ids = data["beats"], data["ecg_ids"].astype(str)
model, manifest = load_vae("models/vae")
mu = encode(model, manifest, beats)
latents = pd.DataFrame(mu, index=ids, columns=[f"z{i:02d}" for i in range(mu.shape[1])])
handcrafted = feature_table(
    p["features"]["set"],
    beats,
    ids,
    [str(lead) for lead in data["leads"]],
    float(data["fs_hz"]),
    int(data["r_index"]),
    data["rr_ms"],
    pd.read_csv("data/processed/fiducials.csv"),
)
table = pd.concat([latents, handcrafted], axis=1).rename_axis("ecg_id")
table.to_csv("data/processed/features.csv", float_format="%.6g")
nan = handcrafted.isna().sum()
missing = ", ".join(f"{c} {n}" for c, n in nan[nan > 0].items()) or "none"
print(
    f"features: {len(table)} ECGs × ({mu.shape[1]} latents + 9 {p['features']['set']}); "
    f"NaN (imputed later with training medians): {missing}; in {time.perf_counter() - t0:.1f} s"
)
