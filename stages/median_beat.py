"""Stage median_beat: median beats, fiducials and rejections (``data/processed/``), a K⁺ plot."""

import json
import time
from pathlib import Path

import numpy as np

from kecg.beats.batch import median_beat_folder, read_rpeaks, write_median_beats
from kecg.beats.plots import plot_median_beats_by_k
from kecg.params import load_params, n_jobs

OUT = Path("data/processed")
PLOT = Path("plots/median_beats_by_k.png")
METRICS = Path("metrics/beats.json")

t0 = time.perf_counter()
params = load_params()
cfg = params["beats"]
beats, rejected = median_beat_folder(
    cfg["records_dir"],
    read_rpeaks("data/interim/rpeaks.json"),
    n_jobs(params["jobs"]),
    fs_out_hz=cfg["fs_hz"],
    pre_s=cfg["pre_r_s"],
    width=params["width"],
    min_corr=cfg["min_corr"],
    min_beats=cfg["min_beats"],
    min_coverage=cfg["min_coverage"],
    delineation=cfg["delineation"],
)
write_median_beats(OUT, beats, rejected)
with np.load(OUT / "median_beats.npz") as npz:
    plot_median_beats_by_k(
        npz["beats"], npz["ecg_ids"], tuple(npz["leads"]), float(npz["fs_hz"]),
        int(npz["r_index"]), cfg["labels"], PLOT,
    )  # fmt: skip
    quality = npz["quality"]
    n_beats = npz["n_beats"]
summary = {
    "records": len(beats) + len(rejected),
    "median_beats": len(beats),
    "rejected": len(rejected),
    "mean_quality": float(quality.mean()) if quality.size else None,
    "median_beats_per_record": float(np.median(n_beats)) if n_beats.size else None,
}
METRICS.parent.mkdir(parents=True, exist_ok=True)
METRICS.write_text(json.dumps(summary, indent=2) + "\n")
print(
    f"median_beat: {len(beats)} median beats, {len(rejected)} rejected, mean quality "
    f"{summary['mean_quality'] or 0:.3f} -> {OUT} in {time.perf_counter() - t0:.1f} s"
)
