"""Stage oracle: the cohort's difficulty floor, an ideal model on clean signals.

Writes ``metrics/oracle.json``.

Scored on the same patient split as the models. With ``data.source`` other than ``synthetic``
there is no ground truth, so the metrics file says so instead.
"""

import json
from pathlib import Path

from kecg.params import load_params
from kecg.synth import spec_from_params
from kecg.synth.oracle import run_oracle

OUT = Path("metrics/oracle.json")

params = load_params()
source = params.get("data", {}).get("source", "synthetic")
if source == "synthetic":
    run_oracle(
        "data/raw/labels.csv",
        "data/processed/split.csv",
        OUT,
        n_patients=params["synth"]["n_patients"],
        seed=params["synth"]["seed"],
        spec=spec_from_params(params["synth"].get("cohort")),
        jobs=params["jobs"],
        model_seed=params["seed"],
    )
else:
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"source": source, "oracle": None}, indent=2) + "\n")
    print(f"oracle: data.source={source}, no synthetic ground truth -> {OUT}")
