"""Stage extract_leads: the leads named in params, 500 Hz, one time base → data/interim/leads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from kecg.digitize import extract_leads
from kecg.params import load_params

REPORT = Path("data/interim/ingest_report.csv")
DIGITIZED = Path("data/interim/digitized")
OUT_DIR = Path("data/interim/leads")


def main() -> None:
    params = load_params()
    cfg = params["extract_leads"]
    report = pd.read_csv(REPORT)
    report = report[report["fate"] != "rejected"]
    sources = []
    for row in report.itertuples():
        if row.kind == "record":
            sources.append((row.ecg_id, row.path, "record"))
        elif (DIGITIZED / f"{row.ecg_id}.hea").exists():
            sources.append((row.ecg_id, DIGITIZED / row.ecg_id, "image"))
    table = extract_leads(
        sources,
        OUT_DIR,
        cfg["leads"],
        fs_hz=cfg.get("fs_hz", 500.0),
        records_fs_hz=params.get("data", {}).get("records_fs_hz"),
        jobs=params["jobs"],
    )
    ok = table["status"] == "ok"
    span_s = table.loc[ok, "common_span_s"].median()
    print(f"extract_leads: {int(ok.sum())}/{len(table)} records, leads {', '.join(cfg['leads'])}, "
          f"median common span {span_s:.1f} s -> {OUT_DIR}")  # fmt: skip


if __name__ == "__main__":
    main()
