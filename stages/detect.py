"""Stage detect: R peaks of every record in ``beats.records_dir`` (``data/interim/rpeaks.json``)."""

import time

from kecg.beats.batch import detect_folder, write_rpeaks
from kecg.params import load_params, n_jobs

OUT = "data/interim/rpeaks.json"

t0 = time.perf_counter()
params = load_params()
cfg = params["beats"]
rpeaks = detect_folder(cfg["records_dir"], cfg["leads"], n_jobs(params["jobs"]))
write_rpeaks(OUT, rpeaks)
n_ok, n_failed = len(rpeaks["records"]), len(rpeaks["failed"])
n_peaks = sum(len(r["rpeaks"]) for r in rpeaks["records"].values())
print(
    f"detect: {n_peaks} R peaks in {n_ok} records of {cfg['records_dir']}, {n_failed} failed "
    f"-> {OUT} in {time.perf_counter() - t0:.1f} s"
)
