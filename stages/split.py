"""Stage split: train/val/test by patient, once, for every model (``data/processed/split.csv``)."""

import time
from pathlib import Path

import pandas as pd

from kecg.evaluate import split_by_patient
from kecg.params import load_params

OUT = Path("data/processed/split.csv")

t0 = time.perf_counter()
params = load_params()
labels = pd.read_csv("data/interim/labels.csv")
table = split_by_patient(
    labels["ecg_id"], labels["patient_id"], tuple(params["split"]["fractions"]), params["seed"]
)
OUT.parent.mkdir(parents=True, exist_ok=True)
table.to_csv(OUT, index=False)
counts = table.groupby("split")["patient_id"].agg(["size", "nunique"])
summary = ", ".join(f"{s} {r['size']} ECGs/{r['nunique']} patients" for s, r in counts.iterrows())
print(f"split: {summary} in {time.perf_counter() - t0:.1f} s")
