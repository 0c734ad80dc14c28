"""Stage digitize: every image of the ingest report → data/interim/digitized + QC + overlays."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from kecg.digitize import digitize_files, draw_overlay
from kecg.digitize.core import LOWPASS_HZ
from kecg.params import load_params

REPORT = Path("data/interim/ingest_report.csv")
OUT_DIR = Path("data/interim/digitized")
QC_CSV = Path("data/interim/digitize_qc.csv")
OVERLAY_DIR = Path("plots/digitize_overlays")


def main() -> int:
    params = load_params()
    cfg = params.get("digitize", {})
    report = pd.read_csv(REPORT)
    todo = report[(report["kind"] == "image") & (report["fate"] != "rejected")]
    qc = digitize_files(list(todo["path"]), list(todo["ecg_id"]), OUT_DIR, jobs=params["jobs"],
                        max_megapixels=cfg.get("max_megapixels", 100.0),
                        lowpass_hz=cfg.get("lowpass_hz", LOWPASS_HZ))  # fmt: skip
    qc.to_csv(QC_CSV, index=False)
    ok = (qc["status"] == "ok").to_numpy()
    done = todo[ok].head(cfg.get("n_overlays", 3))
    for ecg_id, path in zip(done["ecg_id"], done["path"], strict=True):
        draw_overlay(path, OVERLAY_DIR / f"{ecg_id}.png")
    fail_fraction = 1.0 - ok.mean() if len(qc) else 0.0
    crossing = sum(isinstance(leads, str) and leads != "" for leads in qc["crossing_leads"])
    print(f"digitize: {int(ok.sum())}/{len(qc)} images ({fail_fraction:.1%} failed, {crossing} "
          f"with traces of two rows crossing: QC crossing_leads) -> {OUT_DIR}")  # fmt: skip
    return 1 if fail_fraction > cfg.get("max_fail_fraction", 0.05) else 0


if __name__ == "__main__":
    sys.exit(main())
