"""Stage ingest: list the user's images or records, validate the labels → ingest report + labels."""

from __future__ import annotations

import sys
from pathlib import Path

from kecg.io.ingest import ingest, summarize
from kecg.params import load_params

OUT = Path("data/interim")


def main() -> int:
    data = load_params()["data"]
    source = data["source"]
    folder = data["records_dir"] if source == "records" else data["images_dir"]
    try:
        report, labels, warnings = ingest(
            source, folder, data.get("labels_csv"), data.get("records_fs_hz")
        )
    except ValueError as exc:
        print(f"ingest: {exc}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    report.to_csv(OUT / "ingest_report.csv", index=False)
    labels.to_csv(OUT / "labels.csv", index=False)
    for warning in warnings:
        print(f"ingest: warning: {warning}", file=sys.stderr)
    print(summarize(report))
    if not (report["fate"] != "rejected").any():
        print(f"ingest: no usable file in {folder}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
